"""The verification pages (查验), mounted at verification/ by the root URLconf (no namespace)."""

from django.urls import path

from fapiao.verification import views

urlpatterns = [
    # 查验: by fields (the home of the module), by file, in batches
    path("", views.verify_fields, name="verify_fields"),
    path("inputs/", views.verify_fields_inputs, name="verify_fields_inputs"),
    path("file/", views.verify_file, name="verify_file"),
    path("batch/", views.verify_batch_new, name="verify_batch_new"),
    path("batch/<int:pk>/", views.verify_batch_detail, name="verify_batch_detail"),
    path("batch/<int:pk>/progress/", views.verify_batch_progress, name="verify_batch_progress"),
    path("batch/<int:pk>/export.xlsx", views.verify_batch_export, name="verify_batch_export"),
    # the records, their reports and files; 报销登记
    path("history/", views.verification_list, name="verification_list"),
    path("<int:pk>/", views.verification_detail, name="verification_detail"),
    path("<int:pk>/report.pdf", views.verification_report, name="verification_report"),
    path("<int:pk>/preview.png", views.verification_preview, name="verification_preview"),
    path("<int:pk>/claim/", views.verification_claim, name="verification_claim"),
    path("claims/", views.claim_list, name="claim_list"),
    # the report's public page: anyone with the report's ID
    path("r/<str:public_id>/", views.verification_public, name="verification_public"),
    # 认证申请, and the staff queue
    path("requests/", views.auth_request_list, name="auth_request_list"),
    path("requests/new/", views.auth_request_new, name="auth_request_new"),
    path("requests/<int:pk>/", views.auth_request_detail, name="auth_request_detail"),
    path(
        "requests/<int:pk>/supplement/",
        views.auth_request_supplement,
        name="auth_request_supplement",
    ),
    path("requests/files/<int:pk>/", views.auth_request_attachment, name="auth_request_attachment"),
    path("staff/requests/", views.staff_auth_queue, name="staff_auth_queue"),
    path("staff/requests/<int:pk>/", views.staff_auth_request, name="staff_auth_request"),
    path(
        "staff/requests/files/<int:pk>/",
        views.staff_auth_attachment,
        name="staff_auth_attachment",
    ),
]
