"""补录 (supplementary entry): an organization asks platform staff to record an invoice the
platform does not have (issued offline and never uploaded, lost to a network failure, missed in a
migration...), with evidence; staff approve (the invoice is recorded with source 补录), reject, or
ask for more material.

States: 草稿 (DRAFT: started from reconciliation or from a file, evidence still to add) → 待审核
(SUBMITTED, with a service-level timer) → 已通过 / 已驳回, or 待补充材料 (MORE_INFO: the applicant
owes material, then resubmits). The applicant may withdraw an open application.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fapiao.accounts.models import Organization
from fapiao.invoices.models import MONEY, Invoice


def evidence_path(instance, filename: str) -> str:
    """Stored files live under a random directory: their names never collide or get guessed."""
    day = timezone.localdate()
    return f"recovery/{day:%Y/%m}/{secrets.token_hex(12)}/{filename}"


class RecoveryStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审核")
    MORE_INFO = "more_info", _("待补充材料")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("已驳回")
    WITHDRAWN = "withdrawn", _("已撤回")


OPEN_STATUSES = (RecoveryStatus.DRAFT, RecoveryStatus.SUBMITTED, RecoveryStatus.MORE_INFO)
# The applicant may change fields and evidence in these states.
EDITABLE_STATUSES = (RecoveryStatus.DRAFT, RecoveryStatus.MORE_INFO)


class RecoveryReason(models.TextChoices):
    """Why the invoice is not on the platform (docs/domain.md §7)."""

    OFFLINE = "offline", _("离线开具未上传")
    NETWORK = "network", _("网络故障")
    MIGRATION = "migration", _("系统迁移遗漏")
    SYNC_FAILED = "sync_failed", _("数据同步失败")
    CHANNEL = "channel", _("开票渠道未对接")
    OTHER = "other", _("其他")


class EvidenceKind(models.TextChoices):
    INVOICE = "invoice", _("发票文件")
    CONTRACT = "contract", _("合同")
    PAYMENT = "payment", _("付款记录")
    OTHER = "other", _("其他")


class RecoveryApplication(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="recovery_applications"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=RecoveryStatus.choices, default=RecoveryStatus.DRAFT
    )

    # The invoice as the applicant states it (a draft may still lack some of it).
    type_code = models.CharField(_("发票种类"), max_length=2, blank=True)
    code = models.CharField(_("发票代码"), max_length=12, blank=True)
    number = models.CharField(_("发票号码"), max_length=20)
    issue_date = models.DateField(_("开票日期"), null=True, blank=True)
    amount = models.DecimalField(_("金额（不含税）"), null=True, blank=True, **MONEY)
    tax = models.DecimalField(_("税额"), null=True, blank=True, **MONEY)
    total = models.DecimalField(_("价税合计"), null=True, blank=True, **MONEY)
    seller_name = models.CharField(_("销售方名称"), max_length=200, blank=True)
    seller_tax_id = models.CharField(_("销售方纳税人识别号"), max_length=26, blank=True)
    buyer_name = models.CharField(_("购买方名称"), max_length=200, blank=True)
    buyer_tax_id = models.CharField(_("购买方纳税人识别号"), max_length=26, blank=True)
    check_code = models.CharField(_("校验码"), max_length=20, blank=True)
    remarks = models.TextField(_("备注"), blank=True)

    reason = models.CharField(
        _("未入平台原因"),
        max_length=12,
        choices=RecoveryReason.choices,
        default=RecoveryReason.OTHER,
    )
    reason_note = models.TextField(_("情况说明"), blank=True)

    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("审核时限"), null=True, blank=True)  # service-level timer
    reminded_at = models.DateTimeField(null=True, blank=True)  # last reminder of owed material
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recovery_applications",
        verbose_name=_("补录的发票"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    staff_reason = models.TextField(_("审核意见"), blank=True)  # the reason, or what is missing
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("补录申请")
        verbose_name_plural = _("补录申请")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open application per invoice identity and organization, whatever the race.
            models.UniqueConstraint(
                fields=["organization", "code", "number"],
                condition=Q(status__in=["draft", "submitted", "more_info"]),
                name="recovery_one_open_per_invoice",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="recovery_queue"),
            models.Index(fields=["organization", "-created_at"], name="recovery_org_time"),
            models.Index(fields=["code", "number"], name="recovery_identity"),
        ]

    def __str__(self) -> str:
        return f"补录申请 #{self.pk} {self.identity}"

    @property
    def identity(self) -> str:
        return f"{self.code} {self.number}".strip()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    @property
    def overdue(self) -> bool:
        return (
            self.status == RecoveryStatus.SUBMITTED
            and self.due_at is not None
            and self.due_at < timezone.now()
        )


class RecoveryEvidence(models.Model):
    application = models.ForeignKey(
        RecoveryApplication, on_delete=models.CASCADE, related_name="evidence"
    )
    kind = models.CharField(_("材料类别"), max_length=10, choices=EvidenceKind.choices)
    file = models.FileField(upload_to=evidence_path, max_length=300)
    name = models.CharField(_("文件名"), max_length=300)
    size = models.PositiveBigIntegerField(_("大小"), default=0)
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("补录证明材料")
        verbose_name_plural = _("补录证明材料")
        ordering = ["application", "uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def previewable(self) -> bool:
        return self.content_type in ("application/pdf", "image/png", "image/jpeg")
