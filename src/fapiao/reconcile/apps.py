from django.apps import AppConfig


class ReconcileConfig(AppConfig):
    name = "fapiao.reconcile"
    label = "reconcile"
    verbose_name = "对账"
