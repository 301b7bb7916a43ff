"""Writes of verification: a verification recorded (by fields or by file), a batch submitted and
run, a claim for reimbursement (报销登记), and the steps of an authentication request (认证申请).

Every change writes its operation-log event in the same transaction; emails and background work
are queued on commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fapiao.accounts.models import Organization
from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record
from fapiao.invoices.models import Invoice
from fapiao.rules.numbers import NumberInfo
from fapiao.verification import compare, files
from fapiao.verification.compare import Asked, Outcome
from fapiao.verification.extraction import Extraction
from fapiao.verification.models import (
    AttachmentKind,
    AuthAttachment,
    AuthRequest,
    AuthRequestStatus,
    BatchItem,
    BatchStatus,
    BatchUpload,
    Claim,
    Verification,
    VerificationBatch,
    VerificationResult,
    VerificationSource,
)

logger = logging.getLogger(__name__)


class VerificationError(Exception):
    """A request we refuse: `code` is stable, `message` in the user's language."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": self.message}


class ClaimRefused(VerificationError):
    """The invoice is already claimed by the organization: `existing` is that claim."""

    def __init__(self, existing: Claim) -> None:
        super().__init__(
            "already_claimed",
            _("这张发票已于 %(time)s 登记报销，不能重复报销")
            % {"time": f"{timezone.localtime(existing.created_at):%Y-%m-%d %H:%M}"},
        )
        self.existing = existing


# --- one verification --------------------------------------------------------------------------


@dataclass
class TypedInput:
    """The form's values as typed (strings); the service reads them and judges their format."""

    code: str = ""
    number: str = ""
    issue_date: str = ""
    amount: str = ""
    check_code: str = ""
    total: str = ""
    type_code: str = ""


def asked_from_typed(data: TypedInput) -> tuple[Asked, list[compare.Problem]]:
    problems: list[compare.Problem] = []
    asked = Asked(
        code=data.code.strip(),
        number=data.number.strip(),
        issue_date=compare.parse_date(data.issue_date, problems),
        amount=compare.parse_money(data.amount, "金额", "amount", problems),
        total=compare.parse_money(data.total, "价税合计", "total", problems),
        check_code=compare.parse_check_code(data.check_code, problems),
        type_code=data.type_code.strip(),
    )
    return asked, problems


def platform_invoice(info: NumberInfo) -> Invoice | None:
    """The platform's record under a parsed code and number (数电: number alone)."""
    if not info.number:
        return None
    return (
        Invoice.objects.select_related("seller_org", "buyer_org")
        .filter(code=info.code or "", number=info.number)
        .first()
    )


def verification_judge(asked: Asked, *, found=None) -> Outcome:
    """The outcome for `asked` against the platform's records, recording nothing."""
    today = timezone.localdate()
    info = compare.number_info(asked.code, asked.number, today=today)
    problems = compare.format_problems(asked, info, today=today, found=found)
    invoice = None if problems else platform_invoice(info)
    return compare.judge(asked, info, invoice, today=today, found=found)


@transaction.atomic
def verification_by_fields(*, actor, organization: Organization, data: TypedInput) -> Verification:
    """查验 by the fields the national platform asks for; always recorded, whatever the result."""
    asked, found = asked_from_typed(data)
    outcome = verification_judge(asked, found=found)
    return _record(
        actor=actor,
        organization=organization,
        asked=asked,
        outcome=outcome,
        source=VerificationSource.FIELDS,
    )


@dataclass
class FileVerification:
    """A file's verification, or why there is none (`error`: {code, message})."""

    name: str
    verification: Verification | None = None
    error: dict[str, str] | None = None
    extraction: Extraction | None = None


def verification_by_file(
    *, actor, organization: Organization, data: bytes, name: str
) -> FileVerification:
    """查验 of one uploaded file: extraction, then the same judgement as by fields. A file that
    cannot be read is not recorded: the caller shows why."""
    extraction = files.extract(data, name)[0]
    if not extraction.ok:
        return FileVerification(name, error=extraction.error, extraction=extraction)
    with transaction.atomic():
        verification = verification_from_extraction(
            actor=actor, organization=organization, extraction=extraction, data=data, name=name
        )
    return FileVerification(name, verification=verification, extraction=extraction)


def verification_from_extraction(
    *,
    actor,
    organization: Organization,
    extraction: Extraction,
    data: bytes,
    name: str,
    batch: VerificationBatch | None = None,
    auth_request: AuthRequest | None = None,
    log: bool = True,
) -> Verification:
    """Record the verification of what a file's extraction read; the file is stored with it."""
    assert extraction.ok and extraction.invoice is not None
    asked = compare.asked_from_extraction(extraction.invoice)
    outcome = verification_judge(asked)
    extracted = {k: v for k, v in extraction.invoice.items() if k != "lines"}
    extracted["line_count"] = len(extraction.invoice.get("lines") or [])
    return _record(
        actor=actor,
        organization=organization,
        asked=asked,
        outcome=outcome,
        source=VerificationSource.FILE,
        file=files.content_file(data, name),
        file_name=name,
        file_sha256=files.sha256(data),
        file_kind=extraction.kind or "",
        extracted=extracted,
        batch=batch,
        auth_request=auth_request,
        log=log,
    )


def _record(
    *,
    actor,
    organization: Organization,
    asked: Asked,
    outcome: Outcome,
    source: str,
    log: bool = True,
    **extra: Any,
) -> Verification:
    info = outcome.info
    code = info.code or ""
    number = info.number or compare.normalize_code(asked.number)
    duplicate_of = None
    if outcome.key is not None:
        duplicate_of = (
            Verification.objects.filter(organization=organization, code=code, number=number)
            .exclude(result=VerificationResult.BAD_FORMAT)
            .order_by("created_at", "id")
            .first()
        )
    verification = Verification.objects.create(
        organization=organization,
        user=actor if getattr(actor, "is_authenticated", False) else None,
        source=source,
        type_code=(asked.type_code or (outcome.invoice.type_code if outcome.invoice else ""))[:2],
        code=code[:12],
        number=number[:40],
        issue_date=asked.issue_date,
        amount=asked.amount,
        total=asked.total,
        check_code=asked.check_code[:20],
        result=outcome.result,
        problems=[p.as_dict() for p in outcome.problems],
        differences=outcome.differences,
        invoice=outcome.invoice,
        duplicate_of=duplicate_of,
        **extra,
    )
    if log:
        event_record(
            code=EventCode.VERIFICATION_DONE,
            actor=actor,
            organization=organization,
            obj=verification,
            description=lambda: (
                f"查验发票 {verification.identity or verification.file_name}："
                f"{verification.get_result_display()}"
            ),
            details={
                "result": verification.result,
                "source": source,
                "number": verification.number,
                "code": verification.code,
                "file": verification.file_name,
                "duplicate_of": duplicate_of.pk if duplicate_of else None,
            },
        )
    return verification


# --- 报销登记 ------------------------------------------------------------------------------------


def claim_create(*, actor, verification: Verification, note: str = "") -> Claim:
    """Claim the verified invoice for reimbursement, once per organization. The database's
    unique constraint decides between concurrent claims; the loser gets `ClaimRefused`."""
    if not verification.claimable:
        raise VerificationError(
            "not_claimable",
            _("查验结果为“%(result)s”的发票不能登记报销")
            % {"result": verification.get_result_display()},
        )
    organization = verification.organization
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                organization=organization,
                code=verification.code,
                number=verification.number,
                verification=verification,
                user=actor,
                note=note.strip()[:200],
            )
            event_record(
                code=EventCode.CLAIM_RECORDED,
                actor=actor,
                organization=organization,
                obj=claim,
                description=f"登记报销发票 {verification.identity}",
                details={"verification": verification.pk, "number": verification.number},
            )
    except IntegrityError:
        existing = Claim.objects.filter(
            organization=organization, code=verification.code, number=verification.number
        ).first()
        if existing is None:  # the conflict was something else
            raise
        with transaction.atomic():
            event_record(
                code=EventCode.CLAIM_REFUSED,
                actor=actor,
                organization=organization,
                obj=existing,
                description=f"发票 {verification.identity} 已登记报销，重复登记被拒绝",
                details={"verification": verification.pk, "claim": existing.pk},
            )
        raise ClaimRefused(existing) from None
    return claim


# --- batches -----------------------------------------------------------------------------------


@dataclass
class Upload:
    """An uploaded file's name and bytes, checked for kind and size."""

    name: str
    data: bytes


def batch_create(*, actor, organization: Organization, uploads: list[Upload]) -> VerificationBatch:
    """Store the files and queue their verification in the background (after commit)."""
    from fapiao.verification.tasks import verification_batch_run

    if not uploads:
        raise VerificationError("no_files", _("请选择要查验的文件"), "files")
    total = sum(files.count_leaves(u.data, u.name) for u in uploads)
    if total > files.MAX_BATCH_FILES:
        raise VerificationError(
            "too_many_files",
            _("一次最多查验 %(limit)s 个文件（含压缩包内的文件），本次共 %(total)s 个")
            % {"limit": files.MAX_BATCH_FILES, "total": total},
            "files",
        )
    with transaction.atomic():
        batch = VerificationBatch.objects.create(organization=organization, user=actor, total=total)
        for position, upload in enumerate(uploads, 1):
            BatchUpload.objects.create(
                batch=batch,
                position=position,
                file=files.content_file(upload.data, upload.name),
                name=upload.name[:300],
                size=len(upload.data),
            )
        event_record(
            code=EventCode.VERIFICATION_BATCH_SUBMITTED,
            actor=actor,
            organization=organization,
            obj=batch,
            description=f"提交批量查验：{len(uploads)} 个上传文件，共 {total} 个发票文件",
            details={"uploads": [u.name for u in uploads], "total": total},
        )
        transaction.on_commit(lambda: verification_batch_run.enqueue(batch_id=batch.pk))
    return batch


def batch_run(*, batch_id: int) -> VerificationBatch:
    """Verify every file of a batch, one row each; a file that fails never stops the batch.
    Rows already made (a task run again after a crash) are kept and skipped."""
    batch = VerificationBatch.objects.select_related("organization", "user").get(pk=batch_id)
    if batch.finished:
        return batch
    VerificationBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.RUNNING, started_at=batch.started_at or timezone.now()
    )
    made = set(batch.items.values_list("position", flat=True))
    position = 0
    try:
        for upload in batch.uploads.order_by("position"):
            with upload.file.open("rb") as stream:
                data = stream.read()
            for leaf in files.leaves(data, upload.name):
                position += 1
                if position not in made:
                    _batch_item(batch, position, leaf)
                VerificationBatch.objects.filter(pk=batch.pk).update(
                    done=position, total=max(batch.total, position)
                )
    except Exception as error:  # storage gone, database down: the batch says so
        logger.exception("verification batch %s failed", batch.pk)
        VerificationBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.FAILED,
            error=f"批量查验中断：{type(error).__name__}"[:500],
            finished_at=timezone.now(),
        )
        batch.refresh_from_db()
        return batch
    with transaction.atomic():
        VerificationBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.DONE, done=position, total=position, finished_at=timezone.now()
        )
        batch.refresh_from_db()
        counts = batch_counts(batch)
        event_record(
            code=EventCode.VERIFICATION_BATCH_FINISHED,
            actor=batch.user,
            organization=batch.organization,
            obj=batch,
            description=f"批量查验完成：{position} 个文件，一致 {counts.get('match', 0)} 个",
            details=counts,
        )
    return batch


def batch_counts(batch: VerificationBatch) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in batch.items.select_related("verification"):
        key = item.verification.result if item.verification else "unreadable"
        counts[key] = counts.get(key, 0) + 1
    return counts


def _batch_item(batch: VerificationBatch, position: int, leaf: files.Leaf) -> BatchItem:
    name = leaf.name[:300]
    try:
        if leaf.error is not None or leaf.data is None:
            error = leaf.error or {"code": "unreadable", "message": "无法读取"}
            return _failed_item(batch, position, name, error)
        extraction = files.extract(leaf.data, leaf.name)[0]
        if not extraction.ok:
            return _failed_item(batch, position, name, extraction.error or {})
        with transaction.atomic():
            verification = verification_from_extraction(
                actor=batch.user,
                organization=batch.organization,
                extraction=extraction,
                data=leaf.data,
                name=leaf.name,
                batch=batch,
                log=False,
            )
            return BatchItem.objects.create(
                batch=batch, position=position, file_name=name, verification=verification
            )
    except Exception as error:  # one file's failure is that file's row, never the batch's end
        logger.exception("verification batch %s: %s failed", batch.pk, leaf.name)
        detail = {
            "code": "internal_error",
            "message": f"处理文件时发生内部错误（{type(error).__name__}）",
        }
        return _failed_item(batch, position, name, detail)


def _failed_item(batch, position: int, name: str, error: dict) -> BatchItem:
    return BatchItem.objects.create(
        batch=batch,
        position=position,
        file_name=name,
        error_code=str(error.get("code", ""))[:40],
        error_message=str(error.get("message", ""))[:500],
    )


def batch_exported(*, actor, batch: VerificationBatch, rows: int) -> None:
    event_record(
        code=EventCode.VERIFICATION_EXPORTED,
        actor=actor,
        organization=batch.organization,
        obj=batch,
        description=f"导出批量查验 #{batch.pk} 的结果（{rows} 行）",
        details={"rows": rows},
    )


# --- 认证申请 ------------------------------------------------------------------------------------


@dataclass
class CheckedAttachment:
    """An attachment that passed the form's checks, with what extraction read from it."""

    kind: str
    name: str
    data: bytes
    file_kind: str = ""
    extracted: list[dict[str, Any]] = field(default_factory=list)


def attachments_check(
    *, invoice_files: list[Upload], support_files: list[Upload], require_invoice: bool = True
) -> tuple[list[CheckedAttachment], list[str]]:
    """Complete and readable: every invoice file extracts as an invoice (at least one is given,
    unless `require_invoice` is off for a supplement), every supporting document opens."""
    checked: list[CheckedAttachment] = []
    problems: list[str] = []
    if require_invoice and not invoice_files:
        problems.append(_("请上传至少一个发票文件（PDF、OFD、XML 或发票图片）"))
    for upload in invoice_files:
        results = files.extract(upload.data, upload.name)
        bad = [r for r in results if not r.ok]
        if bad:
            for result in bad:
                message = (result.error or {}).get("message", _("无法识别"))
                problems.append(
                    _("发票文件“%(file)s”无法识别为发票：%(message)s")
                    % {"file": result.file, "message": message}
                )
            continue
        checked.append(
            CheckedAttachment(
                AttachmentKind.INVOICE,
                upload.name,
                upload.data,
                results[0].kind or "",
                [r.as_dict() for r in results],
            )
        )
    for upload in support_files:
        problem = files.readable_problem(upload.data, upload.name)
        if problem:
            problems.append(_("证明材料无法打开：%(problem)s") % {"problem": problem})
            continue
        kind = files.kind_of(upload.data, upload.name) or ""
        checked.append(CheckedAttachment(AttachmentKind.SUPPORT, upload.name, upload.data, kind))
    return checked, problems


def _attach(request: AuthRequest, attachments: list[CheckedAttachment]) -> None:
    for attachment in attachments:
        AuthAttachment.objects.create(
            request=request,
            kind=attachment.kind,
            file=files.content_file(attachment.data, attachment.name),
            name=attachment.name[:300],
            size=len(attachment.data),
            sha256=files.sha256(attachment.data),
            file_kind=attachment.file_kind,
            extracted=attachment.extracted,
        )


def _notify(request: AuthRequest, step: str) -> None:
    from fapiao.verification.tasks import auth_request_notify

    transaction.on_commit(lambda: auth_request_notify.enqueue(request_id=request.pk, step=step))


@transaction.atomic
def auth_request_submit(
    *,
    actor,
    organization: Organization,
    title: str,
    note: str,
    attachments: list[CheckedAttachment],
) -> AuthRequest:
    if not any(a.kind == AttachmentKind.INVOICE for a in attachments):
        raise VerificationError(
            "no_invoice_file", _("请上传至少一个可识别的发票文件"), "invoice_files"
        )
    request = AuthRequest.objects.create(
        organization=organization, submitted_by=actor, title=title.strip()[:100], note=note.strip()
    )
    _attach(request, attachments)
    event_record(
        code=EventCode.AUTH_REQUEST_SUBMITTED,
        actor=actor,
        organization=organization,
        obj=request,
        description=f"提交认证申请 #{request.pk}：{request.title}",
        details={"attachments": [a.name for a in attachments]},
    )
    _notify(request, "submitted")
    return request


@transaction.atomic
def auth_request_supplement(
    *, actor, request: AuthRequest, note: str, attachments: list[CheckedAttachment]
) -> AuthRequest:
    """The requester adds material after staff asked for more; the request waits for review."""
    request = AuthRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != AuthRequestStatus.MORE_INFO:
        raise VerificationError("not_waiting", _("这份申请当前不需要补充材料"))
    if not attachments and not note.strip():
        raise VerificationError("nothing_added", _("请上传补充材料或填写说明"))
    _attach(request, attachments)
    if note.strip():
        request.note = (
            f"{request.note}\n\n【补充说明 {timezone.localtime():%Y-%m-%d %H:%M}】{note.strip()}"
        )
    request.status = AuthRequestStatus.PENDING
    request.updated_at = timezone.now()
    request.save(update_fields=["note", "status", "updated_at"])
    event_record(
        code=EventCode.AUTH_REQUEST_SUPPLEMENTED,
        actor=actor,
        organization=request.organization,
        obj=request,
        description=f"补充认证申请 #{request.pk} 的材料",
        details={"attachments": [a.name for a in attachments]},
    )
    _notify(request, "supplemented")
    return request


def _decide(request: AuthRequest, *, allowed: tuple[str, ...]) -> AuthRequest:
    locked = AuthRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status not in allowed:
        raise VerificationError(
            "already_decided",
            _("这份申请的状态为“%(status)s”，不能这样处理")
            % {"status": locked.get_status_display()},
        )
    return locked


@transaction.atomic
def auth_request_approve(*, actor, request: AuthRequest, message: str = "") -> AuthRequest:
    """Approve: each invoice file is verified now and its report attached to the request."""
    request = _decide(request, allowed=(AuthRequestStatus.PENDING, AuthRequestStatus.MORE_INFO))
    for attachment in request.attachments.filter(kind=AttachmentKind.INVOICE):
        with attachment.file.open("rb") as stream:
            data = stream.read()
        for leaf in files.leaves(data, attachment.name):
            if leaf.data is None:
                continue
            extraction = files.extract(leaf.data, leaf.name)[0]
            if extraction.ok:
                verification_from_extraction(
                    actor=actor,
                    organization=request.organization,
                    extraction=extraction,
                    data=leaf.data,
                    name=leaf.name,
                    auth_request=request,
                )
    return _close(
        request, actor, AuthRequestStatus.APPROVED, message, EventCode.AUTH_REQUEST_APPROVED
    )


@transaction.atomic
def auth_request_reject(*, actor, request: AuthRequest, reason: str) -> AuthRequest:
    if not reason.strip():
        raise VerificationError("reason_required", _("驳回须填写原因"), "message")
    request = _decide(request, allowed=(AuthRequestStatus.PENDING, AuthRequestStatus.MORE_INFO))
    return _close(
        request, actor, AuthRequestStatus.REJECTED, reason, EventCode.AUTH_REQUEST_REJECTED
    )


@transaction.atomic
def auth_request_more_info(*, actor, request: AuthRequest, message: str) -> AuthRequest:
    if not message.strip():
        raise VerificationError("message_required", _("请说明需要补充哪些材料"), "message")
    request = _decide(request, allowed=(AuthRequestStatus.PENDING,))
    return _close(
        request, actor, AuthRequestStatus.MORE_INFO, message, EventCode.AUTH_REQUEST_MORE_INFO
    )


def _close(request: AuthRequest, actor, status: str, message: str, code: EventCode) -> AuthRequest:
    request.status = status
    request.staff_message = message.strip()
    request.decided_by = actor
    request.decided_at = request.updated_at = timezone.now()
    request.save(
        update_fields=["status", "staff_message", "decided_by", "decided_at", "updated_at"]
    )
    event_record(
        code=code,
        actor=actor,
        organization=request.organization,
        obj=request,
        details={"message": request.staff_message, "status": status},
    )
    _notify(request, status)
    return request
