from django.urls import path

from fapiao.audit import views

urlpatterns = [
    path("", views.audit_log, name="audit_log"),
    path("export.xlsx", views.audit_export, name="audit_export"),
    path("mine/", views.audit_mine, name="audit_mine"),
]
