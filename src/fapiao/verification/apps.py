from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "fapiao.verification"
    label = "verification"
    verbose_name = "查验"
