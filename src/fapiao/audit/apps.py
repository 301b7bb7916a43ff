from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "fapiao.audit"
    label = "audit"
    verbose_name = "操作记录"

    def ready(self) -> None:
        from fapiao.core.navigation import NavItem, register

        # `items_for` shows items that need no organization to anonymous visitors too, so this one
        # asks for an organization; the page itself needs only a signed-in user.
        register(
            NavItem(
                "audit",
                _("操作记录"),
                "audit_mine",
                order=800,
                requires_organization=True,
                description=_(
                    "谁在什么时间做了什么：本人的操作与本单位的完整操作记录，可导出 Excel。"
                ),
            )
        )
