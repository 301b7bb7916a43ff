from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "fapiao.core"
    label = "core"
    verbose_name = "平台"

    def ready(self) -> None:
        from fapiao.core.navigation import NavItem, register

        register(NavItem("home", _("首页"), "home", order=0, requires_organization=False))
        register(
            NavItem(
                "help",
                _("帮助"),
                "help",
                order=900,
                requires_organization=False,
                description=_("发票号码与代码怎么看、数电票与税控票的区别、常见问题与联系方式。"),
            )
        )
