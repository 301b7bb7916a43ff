from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    name = "fapiao.stats"
    label = "stats"
    verbose_name = "统计"

    def ready(self) -> None:
        from fapiao.core.navigation import NavItem, register

        register(
            NavItem(
                "stats",
                _("统计"),
                "stats_home",
                order=40,
                description=_(
                    "按月、季度、年度汇总开具和取得的发票：份数、金额、税额、价税合计，"
                    "按类型、税率、客户或供应商、状态分列，同比环比；导出 Excel 或 CSV。"
                ),
            )
        )
