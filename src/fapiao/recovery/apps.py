from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "fapiao.recovery"
    label = "recovery"
    verbose_name = "补录"
