"""The reconciliation pages (对账), mounted at reconcile/ by the root URLconf (no namespace)."""

from django.urls import path

from fapiao.reconcile import views

urlpatterns = [
    path("", views.reconcile_list, name="reconcile_list"),
    path("new/", views.reconcile_new, name="reconcile_new"),
    path("<int:pk>/", views.reconcile_detail, name="reconcile_detail"),
    path("<int:pk>/progress/", views.reconcile_progress, name="reconcile_progress"),
    path("<int:pk>/mapping/", views.reconcile_mapping, name="reconcile_mapping"),
    path("<int:pk>/export/", views.reconcile_export, name="reconcile_export"),
    path("<int:pk>/export/status/", views.reconcile_export_status, name="reconcile_export_status"),
    path("<int:pk>/recover/", views.reconcile_recover, name="reconcile_recover"),
]
