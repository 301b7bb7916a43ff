"""Verification records (查验), batches, reimbursement claims (报销登记) and authentication
requests (认证申请).

A `Verification` keeps what was asked (the inputs, or the file and what was read from it), the
answer (a `VerificationResult` code and, on a mismatch, each differing field with both values)
and the invoice it matched. Its `public_id` is the random key of the report's public page.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fapiao.accounts.models import Organization
from fapiao.invoices.models import MONEY, Invoice


def new_public_id() -> str:
    """128 random bits, URL-safe: the key of a report's public page, which nobody can guess."""
    return secrets.token_urlsafe(16)


def upload_path(instance, filename: str) -> str:
    """Stored files live under a random directory: their names never collide or get guessed."""
    day = timezone.localdate()
    return f"verification/{day:%Y/%m}/{secrets.token_hex(12)}/{filename}"


class VerificationResult(models.TextChoices):
    """The answers of the national platform (查验平台), with codes that never change."""

    MATCH = "match", _("一致")
    MISMATCH = "mismatch", _("不一致")
    NOT_FOUND = "not_found", _("查无此票")
    VOIDED = "voided", _("已作废")
    RED_PARTIAL = "red_partial", _("已红冲（部分）")
    RED_FULL = "red_full", _("已红冲（全额）")
    SAME_DAY = "same_day", _("当天开具")
    TOO_OLD = "too_old", _("超过五年")
    BAD_FORMAT = "bad_format", _("格式不正确")


# Results reached only when every input agreed with the platform's record.
FIELDS_AGREE = frozenset(
    {
        VerificationResult.MATCH,
        VerificationResult.SAME_DAY,
        VerificationResult.VOIDED,
        VerificationResult.RED_PARTIAL,
        VerificationResult.RED_FULL,
    }
)
# Results under which the invoice may be claimed for reimbursement (报销/入账).
CLAIMABLE = frozenset({VerificationResult.MATCH, VerificationResult.SAME_DAY})


class VerificationSource(models.TextChoices):
    FIELDS = "fields", _("按字段查验")
    FILE = "file", _("按文件查验")


class Verification(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="verifications"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(_("查验方式"), max_length=8, choices=VerificationSource.choices)
    batch = models.ForeignKey(
        "VerificationBatch",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="verifications",
    )
    auth_request = models.ForeignKey(
        "AuthRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="verifications",
    )

    # What was verified: typed by the user, or read from the file.
    type_code = models.CharField(_("发票种类"), max_length=2, blank=True)
    code = models.CharField(_("发票代码"), max_length=12, blank=True)
    number = models.CharField(_("发票号码"), max_length=40, blank=True)
    issue_date = models.DateField(_("开票日期"), null=True, blank=True)
    amount = models.DecimalField(_("金额（不含税）"), null=True, blank=True, **MONEY)
    total = models.DecimalField(_("价税合计"), null=True, blank=True, **MONEY)
    check_code = models.CharField(_("校验码"), max_length=20, blank=True)
    extracted = models.JSONField(_("文件识别结果"), default=dict, blank=True)

    result = models.CharField(_("查验结果"), max_length=16, choices=VerificationResult.choices)
    problems = models.JSONField(_("格式问题"), default=list, blank=True)  # [{code, field, message}]
    differences = models.JSONField(_("不一致项"), default=list, blank=True)
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # 查重: the organization's first earlier verification of the same invoice, if any.
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    file = models.FileField(_("文件"), upload_to=upload_path, max_length=300, blank=True)
    file_name = models.CharField(_("文件名"), max_length=300, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    file_kind = models.CharField(max_length=8, blank=True)  # pdf, ofd, xml, png, jpeg, ...

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    created_at = models.DateTimeField(_("查验时间"), default=timezone.now)

    class Meta:
        verbose_name = _("查验记录")
        verbose_name_plural = _("查验记录")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="verification_org_time"),
            models.Index(fields=["organization", "code", "number"], name="verification_org_key"),
        ]

    def __str__(self) -> str:
        return f"查验 {self.identity or self.file_name} {self.get_result_display()}"

    @property
    def identity(self) -> str:
        return f"{self.code} {self.number}".strip()

    @property
    def fields_agree(self) -> bool:
        return self.result in FIELDS_AGREE

    @property
    def is_party(self) -> bool:
        """The verifying organization sold or bought the matched invoice."""
        invoice = self.invoice
        return invoice is not None and self.organization_id in (
            invoice.seller_org_id,
            invoice.buyer_org_id,
        )

    @property
    def shows_platform_copy(self) -> bool:
        """The platform's copy (and its values beside a mismatch) is shown only when every input
        agreed, or to the invoice's own seller or buyer: a mismatch never reveals another
        company's invoice."""
        return self.invoice_id is not None and (self.fields_agree or self.is_party)

    @property
    def claimable(self) -> bool:
        return self.result in CLAIMABLE


class BatchStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("处理中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("处理失败")


class VerificationBatch(models.Model):
    """Many files (or ZIP archives) verified in the background, one row per file."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="verification_batches"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("状态"), max_length=8, choices=BatchStatus.choices, default=BatchStatus.QUEUED
    )
    total = models.PositiveIntegerField(_("文件数"), default=0)
    done = models.PositiveIntegerField(_("已处理"), default=0)
    error = models.CharField(_("错误"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("批量查验")
        verbose_name_plural = _("批量查验")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="batch_org_time")]

    def __str__(self) -> str:
        return f"批量查验 #{self.pk}"

    @property
    def finished(self) -> bool:
        return self.status in (BatchStatus.DONE, BatchStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0


class BatchUpload(models.Model):
    """A file as uploaded to a batch (a ZIP is one upload of many files)."""

    batch = models.ForeignKey(VerificationBatch, on_delete=models.CASCADE, related_name="uploads")
    position = models.PositiveIntegerField()
    file = models.FileField(upload_to=upload_path, max_length=300)
    name = models.CharField(max_length=300)
    size = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["batch", "position"]

    def __str__(self) -> str:
        return self.name


class BatchItem(models.Model):
    """One file of a batch (a ZIP member is ARCHIVE/MEMBER): its verification, or why none."""

    batch = models.ForeignKey(VerificationBatch, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    file_name = models.CharField(_("文件"), max_length=300)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(_("错误"), max_length=500, blank=True)
    verification = models.OneToOneField(
        Verification, on_delete=models.CASCADE, null=True, blank=True, related_name="batch_item"
    )

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="batch_item_position"),
        ]

    def __str__(self) -> str:
        return self.file_name


class Claim(models.Model):
    """报销/入账 登记: the organization has used this invoice. One claim per invoice identity and
    organization, enforced by the database, so concurrent requests cannot claim it twice."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="claims")
    code = models.CharField(_("发票代码"), max_length=12, blank=True)
    number = models.CharField(_("发票号码"), max_length=40)
    verification = models.ForeignKey(Verification, on_delete=models.PROTECT, related_name="claims")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)

    class Meta:
        verbose_name = _("报销登记")
        verbose_name_plural = _("报销登记")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code", "number"], name="claim_once_per_invoice"
            ),
        ]

    def __str__(self) -> str:
        return f"报销登记 {self.code} {self.number}".replace("  ", " ")


class AuthRequestStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    MORE_INFO = "more_info", _("待补充材料")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("已驳回")


class AuthRequest(models.Model):
    """认证申请: an organization asks platform staff to authenticate invoices, with the files."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="auth_requests"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("申请事项"), max_length=100)
    note = models.TextField(_("说明"), blank=True)
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=AuthRequestStatus.choices,
        default=AuthRequestStatus.PENDING,
    )
    staff_message = models.TextField(_("审核意见"), blank=True)  # the reason, or what is missing
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("认证申请")
        verbose_name_plural = _("认证申请")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="auth_request_queue"),
            models.Index(fields=["organization", "-created_at"], name="auth_request_org_time"),
        ]

    def __str__(self) -> str:
        return f"认证申请 #{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in (AuthRequestStatus.PENDING, AuthRequestStatus.MORE_INFO)


class AttachmentKind(models.TextChoices):
    INVOICE = "invoice", _("发票文件")
    SUPPORT = "support", _("证明材料")


class AuthAttachment(models.Model):
    request = models.ForeignKey(AuthRequest, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("类别"), max_length=8, choices=AttachmentKind.choices)
    file = models.FileField(upload_to=upload_path, max_length=300)
    name = models.CharField(_("文件名"), max_length=300)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    file_kind = models.CharField(max_length=8, blank=True)
    extracted = models.JSONField(default=list, blank=True)  # an invoice file: what was read
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["request", "uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name
