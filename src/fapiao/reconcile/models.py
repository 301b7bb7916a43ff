"""Ledger reconciliation (对账): the uploaded ledger, its period and side, and the stored result.

The result rows (every ledger row and every platform invoice of the period, by category) are kept
in a Parquet file beside the ledger rather than as database rows: a million-row result is written
in a second and a page of one category is read from it in milliseconds; the counts and amounts per
category are on the model. Its Excel export is built once (in the task queue when large) and kept
as a file too.
"""

import datetime as dt
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fapiao.accounts.models import Organization


def upload_path(instance, filename: str) -> str:
    """Under a random directory: stored names never collide or get guessed."""
    day = timezone.localdate()
    return f"reconcile/{day:%Y/%m}/{secrets.token_hex(12)}/{filename}"


class Side(models.TextChoices):
    SELLER = "seller", _("销项（本单位为销售方）")
    BUYER = "buyer", _("进项（本单位为购买方）")
    BOTH = "both", _("销项和进项")


class ReconciliationStatus(models.TextChoices):
    MAPPING = "mapping", _("待确认列")
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("对账中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("对账失败")


class ExportStatus(models.TextChoices):
    NONE = "none", _("未生成")
    QUEUED = "queued", _("排队中")
    BUILDING = "building", _("生成中")
    READY = "ready", _("已生成")
    FAILED = "failed", _("生成失败")


# A build queued or started longer ago than this was interrupted (the worker stopped or the task
# was lost): it shows as failed and may be started again. A million rows take about a minute.
EXPORT_STALE_AFTER = dt.timedelta(minutes=30)


class Reconciliation(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="reconciliations"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )  # None: from the command line
    file = models.FileField(upload_to=upload_path, max_length=300)
    file_name = models.CharField(_("文件名"), max_length=300)
    file_format = models.CharField(_("格式"), max_length=8)
    encoding = models.CharField(_("编码"), max_length=16, blank=True)
    header_row = models.PositiveIntegerField(default=1)
    columns = models.JSONField(_("文件中的列"), default=list)
    mapping = models.JSONField(_("列对应关系"), default=dict)  # field key → header
    side = models.CharField(_("方向"), max_length=8, choices=Side.choices, default=Side.BOTH)
    # The period asked for; when not given, the ledger's first and last dates (set by the run).
    date_from = models.DateField(_("起始日期"), null=True, blank=True)
    date_to = models.DateField(_("截止日期"), null=True, blank=True)
    status = models.CharField(
        _("状态"),
        max_length=8,
        choices=ReconciliationStatus.choices,
        default=ReconciliationStatus.QUEUED,
    )
    ledger_rows = models.PositiveIntegerField(_("账簿行数"), default=0)
    invoices = models.PositiveIntegerField(_("平台发票数"), default=0)
    out_of_scope = models.PositiveIntegerField(_("期间或方向之外的行"), default=0)
    # category → {"count": n, "cents": amount}
    summary = models.JSONField(_("汇总"), default=dict)
    problems = models.JSONField(_("无法读取的值"), default=list)  # [{row, column, message}]
    problem_count = models.PositiveIntegerField(default=0)
    result = models.FileField(upload_to=upload_path, max_length=300, blank=True)
    # ledger row → 补录 application id, for the rows missing on the platform
    recoveries = models.JSONField(default=dict)
    error = models.CharField(_("错误"), max_length=500, blank=True)
    # The Excel export of the result (one sheet per category), built once and kept.
    export = models.FileField(upload_to=upload_path, max_length=300, blank=True)
    export_status = models.CharField(
        _("Excel 导出"), max_length=8, choices=ExportStatus.choices, default=ExportStatus.NONE
    )
    export_error = models.CharField(max_length=300, blank=True)  # why it failed, for support
    export_requested_at = models.DateTimeField(null=True, blank=True)
    export_started_at = models.DateTimeField(null=True, blank=True)
    export_finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("对账")
        verbose_name_plural = _("对账")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="reconcile_org_time")]

    def __str__(self) -> str:
        return f"对账 #{self.pk}（{self.file_name}）"

    @property
    def finished(self) -> bool:
        return self.status in (ReconciliationStatus.DONE, ReconciliationStatus.FAILED)

    def count(self, category: str) -> int:
        return int(self.summary.get(category, {}).get("count", 0))

    @property
    def result_rows(self) -> int:
        """The rows of the result, all categories: those of its Excel export."""
        return sum(int(v.get("count", 0)) for v in self.summary.values())

    @property
    def export_ready(self) -> bool:
        return self.export_status == ExportStatus.READY and bool(self.export)

    @property
    def export_interrupted(self) -> bool:
        """Queued or building for longer than any build takes: its worker is gone."""
        since = {
            ExportStatus.QUEUED: self.export_requested_at,
            ExportStatus.BUILDING: self.export_started_at,
        }.get(self.export_status)
        return since is not None and since < timezone.now() - EXPORT_STALE_AFTER

    @property
    def export_building(self) -> bool:
        return (
            self.export_status in (ExportStatus.QUEUED, ExportStatus.BUILDING)
            and not self.export_interrupted
        )
