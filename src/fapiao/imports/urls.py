"""The import pages (批量导入), mounted at imports/ by the root URLconf (no namespace)."""

from django.urls import path

from fapiao.imports import views

urlpatterns = [
    path("", views.import_list, name="import_list"),
    path("new/", views.import_new, name="import_new"),
    path("template.xlsx", views.import_template_xlsx, name="import_template_xlsx"),
    path("template.csv", views.import_template_csv, name="import_template_csv"),
    path("<int:pk>/", views.import_detail, name="import_detail"),
    path("<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("<int:pk>/resume/", views.import_resume, name="import_resume"),
    path("<int:pk>/rejected/", views.import_rejected, name="import_rejected"),
]
