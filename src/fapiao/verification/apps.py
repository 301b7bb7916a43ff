from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    name = "fapiao.verification"
    label = "verification"
    verbose_name = "查验"

    def ready(self) -> None:
        from fapiao.accounts.permissions import StaffPerm
        from fapiao.core.navigation import NavItem, StaffQueue, register, register_staff_queue

        register(
            NavItem(
                "verify",
                _("查验"),
                "verify_fields",
                order=30,
                description=_(
                    "按发票代码、号码、日期和金额查验，或上传 PDF、OFD、XML、图片和压缩包批量查验；"
                    "生成可扫码核验的查验报告，查重并登记报销，提交认证申请。"
                ),
            )
        )
        register_staff_queue(
            StaffQueue(
                "auth_requests",
                _("认证申请"),
                "staff_auth_queue",
                StaffPerm.REVIEW_QUEUE,
                count=_pending_auth_requests,
            )
        )


def _pending_auth_requests() -> int:
    from fapiao.verification.selectors import auth_pending_count

    return auth_pending_count()
