"""Batch import (批量导入): upload, column mapping, the background run, resuming, and the files a
user downloads (the template, and the rejected rows with their reasons)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from dataclasses import dataclass

import polars as pl
import xlsxwriter
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fapiao.accounts.models import Organization
from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record
from fapiao.core.excel import neutralised
from fapiao.imports import bulk, fields, reading, validation, writing
from fapiao.imports.models import ImportFormat, ImportProblem, ImportStatus, InvoiceImport

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 300 * 1024 * 1024
STALE_AFTER = dt.timedelta(minutes=10)  # a running import silent this long was interrupted


class ImportRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def import_create(
    *,
    actor,
    organization: Organization,
    data: bytes,
    name: str,
    background: bool = True,
    default_type: str = "",
) -> InvoiceImport:
    """Store the file and read its header. Queued at once when every column is clear; otherwise
    it waits for the user on the mapping page. `background=False` (the command line) leaves the
    run to the caller."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImportRefused(
            "file_too_large",
            _("文件超过 %(limit)s MB，请拆分后导入") % {"limit": MAX_UPLOAD_BYTES // 1024 // 1024},
        )
    try:
        head = reading.peek(data)
    except reading.FileError as refused:
        raise ImportRefused(refused.code, refused.message) from refused
    detection = fields.detect(head.headers)
    job = InvoiceImport(
        organization=organization,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        file_name=name[:300],
        file_format=head.file_format,
        encoding=head.encoding,
        header_row=head.header_row,
        columns=head.headers,
        mapping=detection.mapping,
        default_type=default_type,
        status=ImportStatus.QUEUED if detection.clear else ImportStatus.MAPPING,
    )
    with transaction.atomic():
        job.file.save(_stored_name(name, head.file_format), ContentFile(data), save=False)
        job.save()
        if job.status == ImportStatus.QUEUED:
            _start(job, actor, background=background)
    return job


def _stored_name(name: str, file_format: str) -> str:
    return f"import.{file_format}"


@transaction.atomic
def import_map(
    *, actor, job: InvoiceImport, mapping: dict[str, str], default_type: str = ""
) -> InvoiceImport:
    """The user's column mapping (field → header): saved on the import, which then starts."""
    if job.status != ImportStatus.MAPPING:
        raise ImportRefused("not_mapping", _("这次导入已经开始，不能再修改列对应关系"))
    clean = {k: v for k, v in mapping.items() if k in fields.BY_KEY and v in job.columns}
    used = list(clean.values())
    if len(used) != len(set(used)):
        raise ImportRefused("mapping_twice", _("同一列不能对应两个字段"))
    missing = fields.missing_required(clean)
    if missing:
        raise ImportRefused(
            "mapping_incomplete", _("还缺少：%(fields)s") % {"fields": "、".join(missing)}
        )
    job.mapping = clean
    job.default_type = default_type
    job.status = ImportStatus.QUEUED
    job.save(update_fields=["mapping", "default_type", "status"])
    _start(job, actor)
    return job


def _start(job: InvoiceImport, actor, *, resumed: bool = False, background: bool = True) -> None:
    from fapiao.imports.tasks import invoice_import_run

    event_record(
        code=EventCode.IMPORT_RESUMED if resumed else EventCode.IMPORT_STARTED,
        actor=actor,
        organization=job.organization,
        obj=job,
        details={"file": job.file_name, "format": job.file_format, "encoding": job.encoding},
        actor_label=None if actor is not None else "命令行",
    )
    if background:
        transaction.on_commit(lambda: invoice_import_run.enqueue(import_id=job.pk))


def resumable(job: InvoiceImport) -> bool:
    if job.status == ImportStatus.FAILED:
        return True
    if job.status in (ImportStatus.RUNNING, ImportStatus.QUEUED):
        last = job.progress_at or job.started_at or job.created_at
        return timezone.now() - last > STALE_AFTER
    return False


@transaction.atomic
def import_resume(*, actor, job: InvoiceImport) -> InvoiceImport:
    """Go on from the last committed chunk (after a failure, or a run that was killed)."""
    job = InvoiceImport.objects.select_for_update().get(pk=job.pk)
    if not resumable(job):
        raise ImportRefused("not_resumable", _("这次导入没有中断，无需继续"))
    job.status = ImportStatus.QUEUED
    job.error = ""
    job.save(update_fields=["status", "error"])
    _start(job, actor, resumed=True)
    return job


def _organizations(tax_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i in range(0, len(tax_ids), 5000):
        found.update(
            Organization.objects.filter(tax_id__in=tax_ids[i : i + 5000]).values_list(
                "tax_id", "pk"
            )
        )
    return found


def context_for(job: InvoiceImport) -> validation.Context:
    return validation.Context(
        tax_id=job.organization.tax_id,
        organization_id=job.organization_id,
        today=timezone.localdate(),
        default_type=job.default_type,
        organizations=_organizations,
    )


def import_run(*, import_id: int) -> InvoiceImport:
    """Read, validate and write the whole file, chunk after chunk, from the checkpoint on."""
    with transaction.atomic():
        job = InvoiceImport.objects.select_for_update().get(pk=import_id)
        if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            return job
        job.status = ImportStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.progress_at = timezone.now()
        job.save(update_fields=["status", "started_at", "progress_at"])
    try:
        plan, encoding = plan_for(job)
        InvoiceImport.objects.filter(pk=job.pk).update(
            rows=plan.rows, invoices_total=plan.invoices, encoding=encoding
        )
        compare_status = bool(job.mapping.get("status"))
        # A large import into a nearly empty platform builds the secondary indexes afterwards.
        bulk.defer(job_id=job.pk, invoices=plan.invoices - job.checkpoint)
        while writing.write_chunk(job_id=job.pk, plan=plan, compare_status=compare_status):
            pass
    except Exception as failure:
        logger.exception("import %s failed", job.pk)
        with transaction.atomic():
            job = InvoiceImport.objects.select_for_update().get(pk=job.pk)
            job.status = ImportStatus.FAILED
            job.error = _failure_text(failure)[:500]
            job.save(update_fields=["status", "error"])
            event_record(
                code=EventCode.IMPORT_FAILED,
                actor=job.created_by,
                organization=job.organization,
                obj=job,
                details={"error": job.error, "checkpoint": job.checkpoint},
            )
        _indexes_restore(job)
        raise
    with transaction.atomic():
        job = InvoiceImport.objects.select_for_update().get(pk=job.pk)
        job.status = ImportStatus.DONE
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "finished_at"])
        event_record(
            code=EventCode.IMPORT_FINISHED,
            actor=job.created_by,
            organization=job.organization,
            obj=job,
            details={**job.summary(), "invoices": job.invoices_imported, "file": job.file_name},
        )
    _indexes_restore(job)
    return job


def _indexes_restore(job: InvoiceImport) -> None:
    """After the import has ended (its status no longer running): build the indexes it, or an
    import before it, left to build, unless another import is still running. A failure here is
    logged and left to the queued task and to `migrate`; the import's outcome stands."""
    try:
        bulk.restore()
    except Exception:
        logger.exception("import %s: building the deferred indexes failed", job.pk)


def _failure_text(failure: Exception) -> str:
    if isinstance(failure, reading.FileError | ImportRefused):
        return failure.message
    return f"导入中断（{type(failure).__name__}），已导入的部分已保存，可以继续导入"


def plan_for(job: InvoiceImport) -> tuple[validation.Plan, str]:
    with job.file.open("rb") as stored:
        data = stored.read()
    table = reading.read(data)
    del data
    plan = validation.build(table, job.mapping, context_for(job), release=True)
    return plan, table.encoding


# --- files to download -------------------------------------------------------------------------


@dataclass
class Download:
    content: bytes
    filename: str
    content_type: str


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


def template(*, organization: Organization, file_format: str) -> Download:
    """An empty import file with the Chinese headers and one example row."""
    headers = [fields.BY_KEY[k].label for k in fields.TEMPLATE_KEYS]
    example = {f.key: f.example for f in fields.FIELDS}
    example["seller_name"] = organization.name
    example["seller_tax_id"] = organization.tax_id
    example["issue_date"] = timezone.localdate().replace(day=1).isoformat()
    row = [example[k] for k in fields.TEMPLATE_KEYS]
    if file_format == ImportFormat.XLSX:
        return Download(_xlsx([headers, row], widths=True), "发票导入模板.xlsx", XLSX_TYPE)
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([headers, row])
    return Download(text.getvalue().encode("utf-8-sig"), "发票导入模板.csv", CSV_TYPE)


def _xlsx(rows: list[list[str]], *, widths: bool = False) -> bytes:
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        output,
        {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
         "strings_to_numbers": False},
    )  # fmt: skip
    sheet = workbook.add_worksheet("发票")
    bold = workbook.add_format({"bold": True, "bg_color": "#F3F4F6", "border": 1})
    error = workbook.add_format({"font_color": "#B91C1C"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            fmt = bold if r == 0 else (error if c == len(rows[0]) - 1 and not widths else None)
            sheet.write_string(r, c, value or "", fmt)
    if rows:
        for c, title in enumerate(rows[0]):
            sheet.set_column(c, c, max(10, min(40, len(title) * 2 + 4)))
        sheet.freeze_panes(1, 0)
    workbook.close()
    return output.getvalue()


def _reasons(job: InvoiceImport) -> dict[int, str]:
    reasons: dict[int, list[str]] = {}
    problems = ImportProblem.objects.filter(invoice_import=job, is_warning=False).order_by(
        "row", "id"
    )
    for row, column, message in problems.values_list("row", "column", "message").iterator(
        chunk_size=5000
    ):
        reasons.setdefault(row, []).append(f"{column}：{message}" if column else message)
    return {row: "；".join(texts) for row, texts in reasons.items()}


def rejected_rows(*, job: InvoiceImport) -> Download:
    """The rejected rows as the user uploaded them, in the same format (and, for CSV, the same
    encoding), with their reasons in an extra column: fix them and upload the file again."""
    reasons = _reasons(job)
    with job.file.open("rb") as stored:
        data = stored.read()
    stem = job.file_name.rsplit(".", 1)[0] or "导入"
    if job.file_format == ImportFormat.XLSX:
        table = reading.read(data)
        names = [f"c{i}" for i in range(len(table.headers))]
        picked = table.frame.filter(pl.col(reading.ROW).is_in(list(reasons)))
        rows = [[*table.headers, fields.ERROR_COLUMN]]
        for record in picked.select(reading.ROW, *names).iter_rows():
            cells = ["" if v is None else str(v) for v in record[1:]]
            rows.append([*cells, neutralised(reasons[record[0]])])
        return Download(_xlsx(rows), f"{stem}_未导入的行.xlsx", XLSX_TYPE)
    text, encoding = reading.decode(data)
    delimiter = reading.delimiter_of(text)
    records = csv.reader(io.StringIO(text), delimiter=delimiter)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for number, record in enumerate(records, 1):
        if number == job.header_row:
            width = len(job.columns)
            writer.writerow([*record[:width], *[""] * (width - len(record)), fields.ERROR_COLUMN])
        elif number in reasons:
            width = len(job.columns)
            cells = [*record[:width], *[""] * (width - len(record))]
            writer.writerow([*cells, neutralised(reasons[number])])
    codec = reading.OUTPUT_CODECS[encoding]
    return Download(
        out.getvalue().encode(codec, errors="replace"),
        f"{stem}_未导入的行.csv",
        f"text/csv; charset={codec.removesuffix('-sig')}",
    )
