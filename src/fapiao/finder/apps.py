from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinderConfig(AppConfig):
    name = "fapiao.finder"
    label = "finder"
    verbose_name = "发票查找"

    def ready(self) -> None:
        from fapiao.core.navigation import NavItem, register

        register(
            NavItem(
                "finder",
                _("发票查找"),
                "finder",
                order=25,
                description=_(
                    "找不到发票？输入手头的号码、日期、金额或交易方，或上传发票文件：平台找出这张"
                    "发票，找不到时说明原因（号码输错、异地发票、尚未同步、已作废……）和解决办法。"
                ),
            )
        )
