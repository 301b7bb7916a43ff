from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReconcileConfig(AppConfig):
    name = "fapiao.reconcile"
    label = "reconcile"
    verbose_name = "对账"

    def ready(self) -> None:
        from fapiao.core.navigation import NavItem, register

        register(
            NavItem(
                "reconcile",
                _("对账"),
                "reconcile_list",
                order=37,
                description=_(
                    "上传本单位的发票台账，与平台逐张比对：一致、平台缺失、账簿缺失、信息不一致和"
                    "疑似录入错误，平台缺失的可批量发起补录。"
                ),
            )
        )
