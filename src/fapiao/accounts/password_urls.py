from django.urls import path

from fapiao.accounts import password_views

urlpatterns = [
    path("", password_views.password_reset_sms, name="password_reset_sms"),
    path("verify/", password_views.password_reset_sms_verify, name="password_reset_sms_verify"),
    path("done/", password_views.password_reset_sms_done, name="password_reset_sms_done"),
]
