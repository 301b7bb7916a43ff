from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecoveryConfig(AppConfig):
    name = "fapiao.recovery"
    label = "recovery"
    verbose_name = "补录"

    def ready(self) -> None:
        from fapiao.accounts.permissions import StaffPerm
        from fapiao.core.navigation import NavItem, StaffQueue, register, register_staff_queue

        register(
            NavItem(
                "recovery",
                _("补录"),
                "recovery_list",
                order=45,
                description=_(
                    "平台上查不到的发票（离线开具未上传、网络故障、系统迁移遗漏……）："
                    "填写发票信息、上传发票和合同、付款记录，工作人员审核后记录到平台，进度随时可查。"
                ),
            )
        )
        register_staff_queue(
            StaffQueue(
                "recovery",
                _("补录申请"),
                "staff_recovery_queue",
                StaffPerm.REVIEW_QUEUE,
                count=_pending,
            )
        )


def _pending() -> int:
    from fapiao.recovery.selectors import pending_count

    return pending_count()
