"""Batch imports of invoice history (批量导入): the uploaded file, its column mapping, the
progress checkpoint, and every problem found, row by row.

An import is written in chunks, each in its own transaction together with `checkpoint` (how many
of the file's invoices are done) and the counters, so a run killed half-way resumes where the last
committed chunk ended and never leaves an invoice without its lines.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fapiao.accounts.models import Organization


def upload_path(instance, filename: str) -> str:
    """Under a random directory: stored names never collide or get guessed."""
    day = timezone.localdate()
    return f"imports/{day:%Y/%m}/{secrets.token_hex(12)}/{filename}"


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", _("待确认列")
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("导入中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("导入失败")


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"


class InvoiceImport(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="invoice_imports"
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
    file_format = models.CharField(_("格式"), max_length=8, choices=ImportFormat.choices)
    encoding = models.CharField(_("编码"), max_length=16, blank=True)
    header_row = models.PositiveIntegerField(default=1)  # as Excel numbers rows
    columns = models.JSONField(_("文件中的列"), default=list)
    # field name → column header in the file; "" for a field the file does not have
    mapping = models.JSONField(_("列对应关系"), default=dict)
    default_type = models.CharField(_("默认发票类型"), max_length=2, blank=True)
    status = models.CharField(
        _("状态"), max_length=8, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    rows = models.PositiveIntegerField(_("数据行"), default=0)
    invoices_total = models.PositiveIntegerField(default=0)
    checkpoint = models.PositiveIntegerField(default=0)  # invoices (in file order) done
    rows_done = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(_("导入行"), default=0)
    duplicates = models.PositiveIntegerField(_("重复行"), default=0)
    rejected = models.PositiveIntegerField(_("拒绝行"), default=0)
    invoices_imported = models.PositiveIntegerField(_("导入发票"), default=0)
    warnings = models.PositiveIntegerField(_("提示"), default=0)
    error = models.CharField(_("错误"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)  # the last chunk committed
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("批量导入")
        verbose_name_plural = _("批量导入")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="import_org_time")]

    def __str__(self) -> str:
        return f"批量导入 #{self.pk}（{self.file_name}）"

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        return min(100, int(self.rows_done * 100 / self.rows)) if self.rows else 0

    def summary(self) -> dict:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
        }


class ImportProblem(models.Model):
    """A rejected row's reason (or a warning on an imported row): where, a stable code, and a
    Chinese message; and the row's invoice, so the finder can tell that a number it is asked
    for was in a rejected row without reading the file again."""

    invoice_import = models.ForeignKey(
        InvoiceImport, on_delete=models.CASCADE, related_name="problems"
    )
    row = models.PositiveIntegerField(_("行号"))  # as Excel shows it: the header is row 1
    column = models.CharField(_("列"), max_length=200, blank=True)
    code = models.CharField(_("错误代码"), max_length=40)
    message = models.CharField(_("说明"), max_length=500)
    is_warning = models.BooleanField(default=False)
    # The row's 发票号码 as the import read it (full-width to ASCII, spaces dropped); where it
    # could not be read, the text the row has (normalized as the finder normalizes what it is
    # asked, cut to 40 characters); "" for a row without any, and for the problems stored
    # before this column existed.
    invoice_number = models.CharField(_("发票号码"), max_length=40, blank=True, default="")
    # The 发票代码, only where the identity was read ("" for 数电 invoices and unreadable rows).
    invoice_code = models.CharField(_("发票代码"), max_length=12, blank=True, default="")

    class Meta:
        ordering = ["invoice_import", "row", "id"]
        indexes = [
            models.Index(fields=["invoice_import", "is_warning", "row"], name="import_problem_row"),
            # The finder: the rejections of a few imports with this number. All three columns
            # are equalities, so the planner prefers it to import_problem_row (two) even
            # without statistics.
            models.Index(
                fields=["invoice_number", "invoice_import", "is_warning"],
                name="import_problem_number",
            ),
        ]

    def __str__(self) -> str:
        return f"第 {self.row} 行 {self.column}：{self.message}"

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


class DroppedIndex(models.Model):
    """An index (or, on PostgreSQL, a foreign key) of the invoice tables that a large import
    dropped, until it is built again (see bulk.py), with the definition the database gave it.
    Only what is recorded here is ever built back, and from that definition: an index the code
    declares but a pending migration has not made yet is not touched, and one the code changed
    meanwhile comes back as the applied migrations left it."""

    name = models.CharField(max_length=100, unique=True)
    table = models.CharField(max_length=100)
    is_key = models.BooleanField(default=False)  # a foreign key; otherwise an index
    # SQLite: sqlite_master.sql; PostgreSQL: pg_get_indexdef, or pg_get_constraintdef for a key
    definition = models.TextField()
    dropped_by = models.ForeignKey(
        InvoiceImport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dropped_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name
