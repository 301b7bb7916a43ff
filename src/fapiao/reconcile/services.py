"""Ledger reconciliation (对账): upload, column mapping, the run (inline for small ledgers, in the
task queue for large ones), the Excel export (likewise, kept once built) and 补录 of what is
missing on the platform."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from typing import IO

import polars as pl
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fapiao.accounts.models import Organization
from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record
from fapiao.imports import reading
from fapiao.reconcile import engine, ledger, results, selectors
from fapiao.reconcile.models import (
    EXPORT_STALE_AFTER,
    ExportStatus,
    Reconciliation,
    ReconciliationStatus,
    Side,
)
from fapiao.rules import numbers
from fapiao.rules.text import normalize_code

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 300 * 1024 * 1024
INLINE_BYTES = 512 * 1024  # smaller ledgers are compared at once, larger ones in the background
MAX_RECOVERIES = 1000  # 补录 drafts started at once


class ReconcileRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _check_period(date_from: dt.date | None, date_to: dt.date | None) -> None:
    if date_from and date_to and date_from > date_to:
        raise ReconcileRefused("period_reversed", _("起始日期晚于截止日期"))


def reconciliation_create(
    *,
    actor,
    organization: Organization,
    data: bytes,
    name: str,
    side: str = Side.BOTH,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    background: bool | None = None,
) -> Reconciliation:
    """Store the ledger and read its header. Clear columns: the comparison starts (inline when the
    file is small or `background` is False, else in the task queue); unclear ones wait for the
    user on the mapping page."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ReconcileRefused(
            "file_too_large",
            _("文件超过 %(limit)s MB，请按期间拆分") % {"limit": MAX_UPLOAD_BYTES // 1024 // 1024},
        )
    if side not in Side.values:
        raise ReconcileRefused("side_unknown", _("方向应为 seller、buyer 或 both"))
    _check_period(date_from, date_to)
    try:
        head = reading.peek(data)
    except reading.FileError as refused:
        raise ReconcileRefused(refused.code, refused.message) from refused
    if any("\x00" in h for h in head.headers):  # a binary file read as text
        raise ReconcileRefused(
            "file_unreadable", _("无法读取这个文件：请上传 CSV 或 Excel 格式的台账")
        )
    detection = ledger.detect(head.headers)
    job = Reconciliation(
        organization=organization,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        file_name=name[:300],
        file_format=head.file_format,
        encoding=head.encoding,
        header_row=head.header_row,
        columns=head.headers,
        mapping=detection.mapping,
        side=side,
        date_from=date_from,
        date_to=date_to,
        status=ReconciliationStatus.QUEUED if detection.clear else ReconciliationStatus.MAPPING,
    )
    if background is None:
        background = len(data) > INLINE_BYTES
    with transaction.atomic():
        job.file.save(f"ledger.{head.file_format}", ContentFile(data), save=False)
        job.save()
        if job.status == ReconciliationStatus.QUEUED:
            _start(job, actor, background=background)
    if job.status == ReconciliationStatus.QUEUED and not background:
        job = reconciliation_run(reconciliation_id=job.pk)
    return job


def reconciliation_map(*, actor, job: Reconciliation, mapping: dict[str, str]) -> Reconciliation:
    """The user's column mapping (field → header); the comparison then starts."""
    with transaction.atomic():
        job = Reconciliation.objects.select_for_update().get(pk=job.pk)
        if job.status != ReconciliationStatus.MAPPING:
            raise ReconcileRefused("not_mapping", _("这次对账已经开始，不能再修改列对应关系"))
        clean = {k: v for k, v in mapping.items() if k in ledger.FIELD_KEYS and v in job.columns}
        used = list(clean.values())
        if len(used) != len(set(used)):
            raise ReconcileRefused("mapping_twice", _("同一列不能对应两个字段"))
        missing = ledger.missing_required(clean)
        if missing:
            raise ReconcileRefused(
                "mapping_incomplete", _("还缺少：%(fields)s") % {"fields": "、".join(missing)}
            )
        job.mapping = clean
        job.status = ReconciliationStatus.QUEUED
        job.save(update_fields=["mapping", "status"])
        background = job.file.size > INLINE_BYTES
        _start(job, actor, background=background)
    if not background:
        job = reconciliation_run(reconciliation_id=job.pk)
    return job


def _start(job: Reconciliation, actor, *, background: bool) -> None:
    from fapiao.reconcile.tasks import reconciliation_task

    event_record(
        code=EventCode.RECONCILE_STARTED,
        actor=actor,
        organization=job.organization,
        obj=job,
        details={
            "file": job.file_name,
            "side": job.side,
            "from": job.date_from.isoformat() if job.date_from else None,
            "to": job.date_to.isoformat() if job.date_to else None,
        },
        actor_label=None if actor is not None else "命令行",
    )
    if background:
        transaction.on_commit(lambda: reconciliation_task.enqueue(reconciliation_id=job.pk))


def compare_ledger(
    *,
    organization: Organization,
    data: bytes,
    name: str = "",
    mapping: dict[str, str] | None = None,
    side: str = Side.BOTH,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    timings: dict | None = None,
) -> tuple[ledger.Ledger, engine.Result, tuple[dt.date | None, dt.date | None]]:
    """Read the ledger, load the platform's invoices of the period and side, compare. Without a
    period, the ledger's first and last dates are the period. `timings` (for the benchmark)
    receives the seconds of each phase."""
    clock = [time.perf_counter()]

    def lap(phase: str) -> None:
        now = time.perf_counter()
        if timings is not None:
            timings[phase] = now - clock[0]
        clock[0] = now

    parsed = ledger.read(data, name, mapping=mapping, today=timezone.localdate())
    lap("read")
    if date_from is None and date_to is None and parsed.frame.height:
        dates = parsed.frame["issue_date"].drop_nulls()
        if dates.len():
            date_from, date_to = dates.min(), dates.max()
    platform = selectors.platform_invoices(
        organization=organization, side=side, date_from=date_from, date_to=date_to
    )
    reds = selectors.red_invoices(organization=organization)
    lap("load")

    def outside(identities: list[tuple[str, str]]) -> pl.DataFrame:
        found = selectors.invoices_with_identities(organization=organization, identities=identities)
        return found.join(platform.select("id"), on="id", how="anti")

    result = engine.compare(
        parsed.frame,
        platform,
        scope=engine.Scope(
            tax_id=organization.tax_id, side=side, date_from=date_from, date_to=date_to
        ),
        reds=reds,
        outside=outside,
    )
    lap("compare")
    return parsed, result, (date_from, date_to)


def reconciliation_run(*, reconciliation_id: int) -> Reconciliation:
    with transaction.atomic():
        job = Reconciliation.objects.select_for_update().get(pk=reconciliation_id)
        if job.status not in (ReconciliationStatus.QUEUED, ReconciliationStatus.RUNNING):
            return job
        job.status = ReconciliationStatus.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])
    try:
        with job.file.open("rb") as stored:
            data = stored.read()
        parsed, result, (date_from, date_to) = compare_ledger(
            organization=job.organization,
            data=data,
            name=job.file_name,
            mapping=job.mapping,
            side=job.side,
            date_from=job.date_from,
            date_to=job.date_to,
        )
        del data
        parsed.frame = parsed.frame.clear()  # only its counts and problems are kept
        content = results.write(result.frames)
        result.frames.clear()
    except Exception as failure:
        if not isinstance(failure, ledger.LedgerError):
            logger.exception("reconciliation %s failed", job.pk)
        message = (
            failure.message
            if isinstance(failure, ledger.LedgerError)
            else f"对账中断（{type(failure).__name__}），请稍后重试"
        )
        with transaction.atomic():
            job = Reconciliation.objects.select_for_update().get(pk=job.pk)
            job.status = ReconciliationStatus.FAILED
            job.error = message[:500]
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "error", "finished_at"])
            event_record(
                code=EventCode.RECONCILE_FAILED,
                actor=job.created_by,
                organization=job.organization,
                obj=job,
                details={"error": job.error},
            )
        return job
    with transaction.atomic():
        job = Reconciliation.objects.select_for_update().get(pk=job.pk)
        job.result.save("result.parquet", ContentFile(content), save=False)
        job.status = ReconciliationStatus.DONE
        job.finished_at = timezone.now()
        job.date_from, job.date_to = date_from, date_to
        job.ledger_rows = parsed.rows
        job.invoices = result.invoices
        job.out_of_scope = result.out_of_scope
        job.summary = result.summary
        job.problems = [p.as_dict() for p in parsed.problems]
        job.problem_count = parsed.problem_count
        job.encoding = parsed.encoding
        job.save()
        event_record(
            code=EventCode.RECONCILE_FINISHED,
            actor=job.created_by,
            organization=job.organization,
            obj=job,
            details={
                "file": job.file_name,
                "rows": job.ledger_rows,
                "invoices": job.invoices,
                **{c: v["count"] for c, v in job.summary.items()},
            },
        )
    return job


def result_source(job: Reconciliation):
    """Where polars reads the stored result: a local path, or the bytes."""
    try:
        return job.result.path
    except NotImplementedError:  # a storage without local files
        with job.result.open("rb") as stored:
            return stored.read()


# --- export and 补录 ---------------------------------------------------------------------------


# Results up to this many rows are exported in the request that first asks (about a second of
# building; 100,000 rows take 4 s, a million 48 s); larger ones are built in the task queue while
# the page polls. Either way the file is kept and later downloads read it.
INLINE_EXPORT_ROWS = 20_000
EXPORT_FILE_NAME = "result.xlsx"


def reconciliation_export_request(*, job: Reconciliation) -> Reconciliation:
    """Have the result's Excel export built, once: nothing when it is ready or being built;
    otherwise it is claimed (one conditional UPDATE: two requests never both win) and built
    here for a small result, queued for a large one. Returns the reconciliation as it then is."""
    from fapiao.reconcile.tasks import reconciliation_export_task

    if job.status != ReconciliationStatus.DONE:
        raise ReconcileRefused("not_done", _("对账尚未完成"))
    inline = job.result_rows <= INLINE_EXPORT_ROWS
    now = timezone.now()
    stale = now - EXPORT_STALE_AFTER
    claimable = (
        Q(export_status__in=[ExportStatus.NONE, ExportStatus.FAILED])
        | Q(export_status=ExportStatus.QUEUED, export_requested_at__lt=stale)
        | Q(export_status=ExportStatus.BUILDING, export_started_at__lt=stale)
    )
    with transaction.atomic():
        claimed = Reconciliation.objects.filter(
            claimable, pk=job.pk, status=ReconciliationStatus.DONE
        ).update(
            export_status=ExportStatus.BUILDING if inline else ExportStatus.QUEUED,
            export_error="",
            export_requested_at=now,
            export_started_at=now if inline else None,
            export_finished_at=None,
        )
        if claimed and not inline:
            transaction.on_commit(
                lambda: reconciliation_export_task.enqueue(reconciliation_id=job.pk)
            )
    if claimed and inline:
        return _export_build(job.pk)
    return Reconciliation.objects.get(pk=job.pk)


def reconciliation_export_build(*, reconciliation_id: int) -> Reconciliation:
    """The queued build (the task): taken from QUEUED to BUILDING first, so that a task run
    twice, or one whose build another has taken over, does nothing."""
    started = Reconciliation.objects.filter(
        pk=reconciliation_id, export_status=ExportStatus.QUEUED
    ).update(export_status=ExportStatus.BUILDING, export_started_at=timezone.now())
    if not started:
        return Reconciliation.objects.get(pk=reconciliation_id)
    return _export_build(reconciliation_id)


def _export_build(reconciliation_id: int) -> Reconciliation:
    job = Reconciliation.objects.get(pk=reconciliation_id)
    field = job.export.field
    try:
        # Written to a temporary file and stored from it: a million rows are tens of MB.
        with tempfile.TemporaryFile() as output:
            results.workbook(result_source(job), output)
            output.seek(0)
            name = field.storage.save(
                field.generate_filename(job, EXPORT_FILE_NAME), File(output), max_length=300
            )
    except Exception as failure:
        logger.exception("export of reconciliation %s failed", job.pk)
        with transaction.atomic():
            job = Reconciliation.objects.select_for_update().get(pk=job.pk)
            if job.export_status != ExportStatus.READY:
                job.export_status = ExportStatus.FAILED
                job.export_error = f"{type(failure).__name__}: {failure}"[:300]  # for support
                job.export_finished_at = timezone.now()
                job.save(update_fields=["export_status", "export_error", "export_finished_at"])
        return job
    with transaction.atomic():
        job = Reconciliation.objects.select_for_update().get(pk=job.pk)
        if job.export_ready:  # built meanwhile by a build that had been taken for stale
            transaction.on_commit(lambda: field.storage.delete(name))
            return job
        job.export.name = name
        job.export_status = ExportStatus.READY
        job.export_error = ""
        job.export_finished_at = timezone.now()
        job.save(update_fields=["export", "export_status", "export_error", "export_finished_at"])
    return job


def reconciliation_export_open(*, actor, job: Reconciliation) -> IO[bytes] | None:
    """The stored export, opened to be streamed (the caller closes it); the download is logged.
    None when it is not ready, or its file has gone (it is then to be built again)."""
    if not job.export_ready:
        return None
    try:
        stream = job.export.open("rb")
    except FileNotFoundError:
        logger.warning("export of reconciliation %s is missing: %s", job.pk, job.export.name)
        Reconciliation.objects.filter(pk=job.pk, export=job.export.name).update(
            export_status=ExportStatus.NONE, export=""
        )
        return None
    event_record(
        code=EventCode.RECONCILE_EXPORTED,
        actor=actor,
        organization=job.organization,
        obj=job,
        details={"file": job.file_name, "rows": job.result_rows},
    )
    return stream


def _recovery_row(record: dict, organization: Organization) -> dict:
    """A missing-on-the-platform row as 补录 wants it: the organization is the seller on the
    sales side, the buyer on the purchase side."""
    side = record.get("l_side")
    seller_name, seller_tax_id = record.get("l_seller_name"), record.get("l_seller_tax_id")
    buyer_name, buyer_tax_id = record.get("l_buyer_name"), record.get("l_buyer_tax_id")
    other_name, other_tax_id = (
        record.get("l_counterparty_name"),
        record.get("l_counterparty_tax_id"),
    )
    if side == Side.SELLER:
        seller_name, seller_tax_id = organization.name, organization.tax_id
        buyer_name, buyer_tax_id = buyer_name or other_name, buyer_tax_id or other_tax_id
    elif side == Side.BUYER:
        buyer_name, buyer_tax_id = organization.name, organization.tax_id
        seller_name, seller_tax_id = seller_name or other_name, seller_tax_id or other_tax_id
    return {
        "type_code": record.get("l_type_code") or "",
        "code": record.get("ledger_code") or "",
        "number": record.get("ledger_number") or "",
        "issue_date": record.get("l_issue_date"),
        "amount": results.decimal(record.get("l_amount")),
        "tax": results.decimal(record.get("l_tax")),
        "total": results.decimal(record.get("l_total")),
        "seller_name": seller_name or "",
        "seller_tax_id": seller_tax_id or "",
        "buyer_name": buyer_name or "",
        "buyer_tax_id": buyer_tax_id or "",
        "note": f"来自对账 #{record.get('_job')}（{record.get('_file')} 第 {record['row']} 行）",
    }


def _recovery_identity(data: dict) -> tuple[str, str]:
    """The (code, number) under which `recovery_start_bulk` files a row: the same normalisation
    (NFKC, whitespace removed, upper case; a 数电 number has no code)."""
    number = normalize_code(data.get("number"))
    code = "" if len(number) == numbers.DIGITAL_LENGTH else normalize_code(data.get("code"))
    return code, number


def reconciliation_recover(*, actor, job: Reconciliation, rows: list[int] | None) -> list:
    """Start 补录 drafts for the rows missing on the platform (`rows`, or all when None); rows
    already started are skipped. Returns the applications created."""
    from fapiao.recovery.services import recovery_start_bulk

    if job.status != ReconciliationStatus.DONE:
        raise ReconcileRefused("not_done", _("对账尚未完成"))
    job = Reconciliation.objects.get(pk=job.pk)  # the rows started so far, as stored
    frame = results.select(result_source(job), category=engine.MISSING_ON_PLATFORM)
    if rows is not None:
        frame = frame.filter(pl.col("row").is_in(sorted(set(rows))))
    started = {int(r) for r in job.recoveries}
    frame = frame.filter(~pl.col("row").is_in(sorted(started))).collect()
    if rows is not None and not frame.height:
        raise ReconcileRefused("nothing_selected", _("请选择尚未发起补录的“平台缺失”行"))
    if not frame.height:
        return []
    if frame.height > MAX_RECOVERIES:
        raise ReconcileRefused(
            "too_many",
            _("一次最多发起 %(limit)s 份补录，请按行选择或分批发起") % {"limit": MAX_RECOVERIES},
        )
    wanted = []
    for record in frame.to_dicts():
        record.update(_job=job.pk, _file=job.file_name)
        wanted.append((record["row"], _recovery_row(record, job.organization)))
    with transaction.atomic():
        created = recovery_start_bulk(
            actor=actor, organization=job.organization, rows=[r for __, r in wanted]
        )
        by_identity = {(a.code, a.number): a.pk for a in created}
        job = Reconciliation.objects.select_for_update().get(pk=job.pk)
        for row, data in wanted:
            pk = by_identity.get(_recovery_identity(data))
            if pk is not None:
                job.recoveries[str(row)] = pk
        job.save(update_fields=["recoveries"])
        event_record(
            code=EventCode.RECONCILE_RECOVERY_STARTED,
            actor=actor,
            organization=job.organization,
            obj=job,
            details={
                "rows": len(wanted),
                "created": len(created),
                "applications": [a.pk for a in created][:200],
            },
        )
    return created
