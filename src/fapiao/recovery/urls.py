"""The 补录 pages, mounted at recovery/ by the root URLconf (no namespace)."""

from django.urls import path

from fapiao.recovery import views

urlpatterns = [
    path("", views.recovery_list, name="recovery_list"),
    path("new/", views.recovery_new, name="recovery_new"),
    path("new/from-file/", views.recovery_from_file, name="recovery_from_file"),
    path("<int:pk>/", views.recovery_detail, name="recovery_detail"),
    path("<int:pk>/edit/", views.recovery_edit, name="recovery_edit"),
    path("<int:pk>/evidence/", views.recovery_evidence_add, name="recovery_evidence_add"),
    path("<int:pk>/submit/", views.recovery_submit, name="recovery_submit"),
    path("<int:pk>/withdraw/", views.recovery_withdraw, name="recovery_withdraw"),
    path("files/<int:pk>/", views.recovery_evidence, name="recovery_evidence"),
    path("files/<int:pk>/remove/", views.recovery_evidence_remove, name="recovery_evidence_remove"),
    # staff: the review queue
    path("staff/", views.staff_recovery_queue, name="staff_recovery_queue"),
    path("staff/<int:pk>/", views.staff_recovery_detail, name="staff_recovery_detail"),
    path("staff/files/<int:pk>/", views.staff_recovery_evidence, name="staff_recovery_evidence"),
]
