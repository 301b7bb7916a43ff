"""Writes of 补录: an application created (typed, from an uploaded invoice file, or in bulk from
reconciliation), edited, its evidence added or removed, submitted, withdrawn; staff approve (the
invoice is recorded with source 补录), reject, or ask for more material; reminders of material
owed.

Every change writes its operation-log event in the same transaction and tells the applicant in the
site (a notice, in the same transaction) and by email (queued on commit).
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext, pgettext

from fapiao.accounts.language import in_language_of
from fapiao.accounts.models import Organization
from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record
from fapiao.invoices.models import Invoice, InvoiceLine, InvoiceSource
from fapiao.notices.services import notice_send
from fapiao.recovery import sla
from fapiao.recovery.models import (
    EDITABLE_STATUSES,
    OPEN_STATUSES,
    EvidenceKind,
    RecoveryApplication,
    RecoveryEvidence,
    RecoveryReason,
    RecoveryStatus,
)
from fapiao.rules import numbers, tax, types, uscc
from fapiao.rules.problems import ProblemCode
from fapiao.rules.problems import errors as errors_of
from fapiao.rules.text import normalize_code
from fapiao.verification import files

# The invoice's fields an application carries, in form order.
INVOICE_FIELDS = (
    "type_code",
    "code",
    "number",
    "issue_date",
    "amount",
    "tax",
    "total",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "check_code",
    "remarks",
)
REQUIRED_FIELDS = (
    "type_code",
    "number",
    "issue_date",
    "amount",
    "tax",
    "total",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
)
# Chinese (the operation log names fields so); a message to the user shows `_(LABELS[key])`.
LABELS = {
    "type_code": gettext_noop("发票种类"),
    "code": gettext_noop("发票代码"),
    "number": gettext_noop("发票号码"),
    "issue_date": gettext_noop("开票日期"),
    "amount": gettext_noop("金额（不含税）"),
    "tax": gettext_noop("税额"),
    "total": gettext_noop("价税合计"),
    "seller_name": gettext_noop("销售方名称"),
    "seller_tax_id": gettext_noop("销售方纳税人识别号"),
    "buyer_name": gettext_noop("购买方名称"),
    "buyer_tax_id": gettext_noop("购买方纳税人识别号"),
    "check_code": gettext_noop("校验码"),
    "remarks": gettext_noop("备注"),
}
EARLIEST_DATE = dt.date(1994, 1, 1)  # the VAT invoice system began in 1994
TOTAL_TOLERANCE = Decimal("0.005")  # the invoice table's own check: equal to the fen
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
MAX_EVIDENCE_FILES = 20
EVIDENCE_TYPES = {
    "pdf": "application/pdf",
    "ofd": "application/ofd",
    "xml": "application/xml",
    "png": "image/png",
    "jpeg": "image/jpeg",
}
EVIDENCE_EXTENSIONS = (".pdf", ".ofd", ".xml", ".png", ".jpg", ".jpeg")
EVIDENCE_ACCEPT = ",".join(EVIDENCE_EXTENSIONS)
REMIND_EVERY = dt.timedelta(days=1)
REMIND_DRAFTS_EVERY = dt.timedelta(days=3)  # drafts (e.g. from reconciliation) owe evidence too


class RecoveryError(Exception):
    """A request we refuse: `code` is stable, `message` in the user's language (`logged`: in
    Chinese, as the operation log records the refusal); `link` points at what the refusal is
    about (the existing application or invoice) when the user may see it."""

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        *,
        link: str = "",
        problems: list[dict] | None = None,
        logged: str = "",
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.field, self.link = code, message, field, link
        self.problems = problems or []
        self.logged = logged or message

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": self.message}


def _refusal(code: str, text: Callable[[], str], field: str | None = None, **kw) -> RecoveryError:
    """A refusal worded by `text` in the user's language, and in Chinese for the log."""
    with translation.override("zh-hans"):
        logged = text()
    return RecoveryError(code, text(), field, logged=logged, **kw)


def _joined(messages) -> str:
    """Problems listed one after another in a single message."""
    return pgettext("clause separator", "；").join(messages)


def _problem(code: str, field: str, message: str) -> dict[str, str]:
    return {"code": str(code), "field": field, "message": message}


# --- the invoice's fields ------------------------------------------------------------------------


def fields_check(
    *,
    organization: Organization,
    data: dict[str, Any],
    complete: bool = True,
    today: dt.date | None = None,
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The fields normalised, and every problem with them ({code, field, message}), judged by
    `fapiao.rules`. `complete`: every required field must be there (to submit); otherwise only
    what is given is checked (a draft)."""
    today = today or timezone.localdate()
    values: dict[str, Any] = {key: data.get(key) for key in INVOICE_FIELDS}
    for key in ("type_code", "code", "number", "seller_tax_id", "buyer_tax_id", "check_code"):
        values[key] = normalize_code(values[key] or "")
    for key in ("seller_name", "buyer_name", "remarks"):
        values[key] = (values[key] or "").strip()
    problems: list[dict[str, str]] = []

    if values["number"]:
        info = numbers.parse(values["code"] or None, values["number"], today=today)
        for p in errors_of(info.problems):
            problems.append(_problem(p.code, p.field or "number", p.message))
        if info.ok:
            values["number"] = info.number
            values["code"] = "" if info.kind is numbers.NumberKind.DIGITAL else (info.code or "")
            day = values["issue_date"]
            digital = info.kind is numbers.NumberKind.DIGITAL
            if digital and info.year and day and info.year != day.year:
                problems.append(
                    _problem(
                        "number_year",
                        "issue_date",
                        _("数电发票号码的前两位表示开票年份 %(year)s 年，与开票日期 %(date)s 不符")
                        % {"year": info.year, "date": f"{day:%Y-%m-%d}"},
                    )
                )
            if not values["type_code"] and info.kind is numbers.NumberKind.DIGITAL:
                values["type_code"] = "32"
            elif not values["type_code"] and info.type_hint is not None:
                values["type_code"] = info.type_hint.code

    if complete:  # after the type was derived from the number where it says it
        for key in REQUIRED_FIELDS:
            if values[key] in (None, ""):
                problems.append(
                    _problem("required", key, _("请填写%(what)s") % {"what": _(LABELS[key])})
                )
    if values["type_code"] and types.lookup(types.Channel.QR, values["type_code"]) is None:
        problems.append(
            _problem(
                "type_code",
                "type_code",
                _("发票种类代码“%(code)s”无效") % {"code": values["type_code"]},
            )
        )

    day = values["issue_date"]
    if day is not None:
        if day > today:
            problems.append(
                _problem(
                    "date_future",
                    "issue_date",
                    _("开票日期 %(date)s 晚于今天，请核对") % {"date": f"{day:%Y-%m-%d}"},
                )
            )
        elif day < EARLIEST_DATE:
            problems.append(
                _problem(
                    "date_too_old",
                    "issue_date",
                    _("开票日期 %(date)s 过早，请核对") % {"date": f"{day:%Y-%m-%d}"},
                )
            )

    for key in ("amount", "tax", "total"):
        value = values[key]
        if value is None:
            continue
        if value != value.quantize(tax.CENT):
            problems.append(
                _problem("precision", key, _("%(field)s最多两位小数") % {"field": _(LABELS[key])})
            )
        elif value < 0:
            problems.append(
                _problem(
                    "negative",
                    key,
                    _("%(field)s不能为负数：补录只受理蓝字发票，红字发票请随蓝字发票一并说明")
                    % {"field": _(LABELS[key])},
                )
            )
    amount, tax_value, total = values["amount"], values["tax"], values["total"]
    if None not in (amount, tax_value, total) and abs(amount + tax_value - total) >= (
        TOTAL_TOLERANCE
    ):
        problems.append(
            _problem(
                ProblemCode.TOTAL_MISMATCH,
                "total",
                _("金额 %(amount)s + 税额 %(tax)s = %(sum)s，与价税合计 %(total)s 不符")
                % {"amount": amount, "tax": tax_value, "sum": amount + tax_value, "total": total},
            )
        )

    for key in ("seller_tax_id", "buyer_tax_id"):
        if values[key]:
            checked = uscc.check(values[key], field=key)
            for p in errors_of(checked.problems):
                problems.append(
                    _problem(
                        p.code,
                        key,
                        _("%(field)s：%(message)s")
                        % {"field": _(LABELS[key]), "message": p.message},
                    )
                )
            if checked.ok:
                values[key] = checked.normalized

    if values["check_code"] and not values["check_code"].isdigit():
        problems.append(_problem("check_code", "check_code", _("校验码应为数字")))

    parties = {values["seller_tax_id"], values["buyer_tax_id"]} - {""}
    judged = values["seller_tax_id"] and (complete or values["buyer_tax_id"])
    if judged and organization.tax_id not in parties:
        problems.append(
            _problem(
                "not_a_party",
                "seller_tax_id",
                _(
                    "本单位（%(name)s，%(tax_id)s）既不是这张发票的销售方，"
                    "也不是购买方：只能为本单位销售或购买的发票申请补录"
                )
                % {"name": organization.name, "tax_id": organization.tax_id},
            )
        )
    for key in ("seller_name", "buyer_name"):
        values[key] = values[key][:200]
    return values, problems


def identity_check(
    *,
    organization: Organization,
    code: str,
    number: str,
    exclude: RecoveryApplication | None = None,
) -> None:
    """Refuse an identity already on the platform or with an open application of the
    organization, with a link to it (an invoice the organization may not see: no link, and
    nothing of its content)."""
    invoice = Invoice.objects.filter(code=code, number=number).first()
    if invoice is not None:
        if organization.pk in (invoice.seller_org_id, invoice.buyer_org_id):
            raise _refusal(
                "already_on_platform",
                lambda: _("发票 %(invoice)s 已在平台上，无需补录") % {"invoice": invoice},
                "number",
                link=reverse("invoice_detail", args=[invoice.pk]),
            )
        raise _refusal(
            "already_on_platform_hidden",
            lambda: _(
                "这张发票已在平台上记录，但本单位不是其销售方或购买方，无法查看其内容，"
                "也无需补录；如有疑问请联系客服"
            ),
            "number",
        )
    open_ones = RecoveryApplication.objects.filter(
        organization=organization, code=code, number=number, status__in=OPEN_STATUSES
    )
    if exclude is not None:
        open_ones = open_ones.exclude(pk=exclude.pk)
    existing = open_ones.first()
    if existing is not None:
        raise _refusal(
            "duplicate",
            lambda: (
                _("这张发票已有一份进行中的补录申请（#%(id)s，%(status)s），不能重复申请")
                % {"id": existing.pk, "status": existing.get_status_display()}
            ),
            "number",
            link=reverse("recovery_detail", args=[existing.pk]),
        )


def _refused(*, actor, organization: Organization, error: RecoveryError, number: str) -> None:
    with transaction.atomic():
        event_record(
            code=EventCode.RECOVERY_REFUSED,
            actor=actor,
            organization=organization,
            description=f"补录申请被拒绝：{error.logged}"[:500],
            details={"reason": error.code, "number": number},
        )


# --- evidence ------------------------------------------------------------------------------------


@dataclass
class EvidenceUpload:
    kind: str  # an EvidenceKind
    name: str
    data: bytes


def evidence_problem(upload: EvidenceUpload) -> str | None:
    """Why a file is refused as evidence (kind, size, type, readability); None if accepted."""
    name = files.safe_name(upload.name)
    if upload.kind not in EvidenceKind.values:
        return _("“%(name)s”的材料类别无效") % {"name": name}
    label = EvidenceKind(upload.kind).label
    size = len(upload.data)
    named = {"label": label, "name": name}
    if size == 0:
        return _("%(label)s“%(name)s”是空文件（0 字节）") % named
    if size > MAX_EVIDENCE_BYTES:
        return _("%(label)s“%(name)s”过大（%(size)s MB），单个文件不能超过 %(limit)s MB") % {
            **named,
            "size": f"{size / 1024 / 1024:.1f}",
            "limit": MAX_EVIDENCE_BYTES // 1024 // 1024,
        }
    ext = posixpath.splitext(name.lower())[1]
    if ext == ".zip":
        return _("%(label)s“%(name)s”是压缩包：请解压后逐个上传") % named
    if ext not in EVIDENCE_EXTENSIONS:
        return _("%(label)s“%(name)s”的类型不支持：只接受 PDF、OFD、XML、JPG 和 PNG 文件") % named
    kind = files.kind_of(upload.data, name)
    if kind not in EVIDENCE_TYPES:
        return (
            _("%(label)s“%(name)s”的内容不是 PDF、OFD、XML、JPG 或 PNG 文件（与扩展名不符）")
            % named
        )
    problem = files.readable_problem(upload.data, name)
    if problem:
        return _("%(label)s无法打开：%(problem)s") % {"label": label, "problem": problem}
    return None


def evidence_check(uploads: list[EvidenceUpload], *, already: int = 0) -> list[str]:
    problems = [p for p in (evidence_problem(u) for u in uploads) if p]
    if already + len(uploads) > MAX_EVIDENCE_FILES:
        problems.append(
            _("每份申请最多 %(limit)s 个材料文件，已有 %(already)s 个，本次上传 %(count)s 个")
            % {"limit": MAX_EVIDENCE_FILES, "already": already, "count": len(uploads)}
        )
    return problems


def _store_evidence(application: RecoveryApplication, uploads: list[EvidenceUpload], actor):
    stored = []
    for upload in uploads:
        kind = files.kind_of(upload.data, upload.name) or ""
        stored.append(
            RecoveryEvidence.objects.create(
                application=application,
                kind=upload.kind,
                file=files.content_file(upload.data, upload.name),
                name=files.safe_name(upload.name)[:300],
                size=len(upload.data),
                content_type=EVIDENCE_TYPES.get(kind, "application/octet-stream"),
                sha256=files.sha256(upload.data),
                uploaded_by=actor,
            )
        )
    return stored


# --- notifications -------------------------------------------------------------------------------

# Marked for translation here, translated when sent: in the active language, as the user stores
# no language of their own (the actor's on a request, the default one in the task worker).
STEP_TEXT = {
    "drafted": (
        gettext_noop("补录申请草稿已创建"),
        gettext_noop("请核对发票信息、上传证明材料后提交审核。"),
    ),
    "submitted": (
        gettext_noop("已收到您的补录申请"),
        gettext_noop("工作人员会在 %(days)s 个工作日内审核（%(due)s 前）。"),
    ),
    "resubmitted": (
        gettext_noop("已收到您补充的材料"),
        gettext_noop("申请已重新进入审核队列，将在 %(due)s 前审核。"),
    ),
    "more_info": (
        gettext_noop("补录申请需要补充材料"),
        gettext_noop("工作人员审核后，需要您补充材料后重新提交。"),
    ),
    "approved": (gettext_noop("补录申请已通过"), gettext_noop("发票已记录到平台，现在可以查到。")),
    "rejected": (gettext_noop("补录申请被驳回"), gettext_noop("很抱歉，您的补录申请未通过。")),
    "reminded": (
        gettext_noop("提醒：补录申请仍待您补充材料"),
        gettext_noop("补充材料并重新提交后，工作人员才会继续审核。"),
    ),
    "withdrawn": (gettext_noop("补录申请已撤回"), gettext_noop("申请已由本单位的其他成员撤回。")),
}


def step_text(application: RecoveryApplication, step: str) -> tuple[str, str]:
    """The subject and opening sentence telling the applicant about a step (notice and email)."""
    subject, opening = STEP_TEXT[step]
    due = timezone.localtime(application.due_at) if application.due_at else None
    return _(subject), _(opening) % {
        "days": sla.REVIEW_WORKING_DAYS,
        "due": f"{due:%Y-%m-%d %H:%M}" if due else "",
    }


def _notify(application: RecoveryApplication, step: str) -> None:
    from fapiao.recovery.tasks import recovery_notify

    # In the applicant's language, whoever's action (a reviewer's, a task's) sends it.
    with in_language_of(application.applicant):
        subject, opening = step_text(application, step)
        body = _("发票 %(identity)s：%(opening)s") % {
            "identity": application.identity,
            "opening": opening,
        }
        if application.staff_reason and step in ("more_info", "rejected", "reminded"):
            line = _("驳回原因：%(reason)s") if step == "rejected" else _("需要补充：%(reason)s")
            body += "\n" + line % {"reason": application.staff_reason}
        title = _("%(subject)s（#%(id)s）") % {"subject": subject, "id": application.pk}
    notice_send(
        user=application.applicant,
        organization=application.organization,
        title=title,
        body=body,
        link=reverse("recovery_detail", args=[application.pk]),
    )
    pk = application.pk
    transaction.on_commit(lambda: recovery_notify.enqueue(application_id=pk, step=step))


def _log(
    application: RecoveryApplication,
    actor,
    code: EventCode,
    description: str | None = None,
    **details: Any,
) -> None:
    event_record(
        code=code,
        actor=actor,
        organization=application.organization,
        obj=application,
        description=description,
        details={"number": application.number, "status": application.status, **details},
    )


# --- the applicant's side ------------------------------------------------------------------------


def recovery_create(
    *,
    actor,
    organization: Organization,
    data: dict[str, Any],
    reason: str,
    reason_note: str = "",
    evidence: list[EvidenceUpload] | None = None,
    submit: bool = True,
) -> RecoveryApplication:
    """A new application from typed fields (and evidence); submitted at once unless `submit`
    is off (saved as a draft). Refused: bad fields (`problems`), bad evidence, an identity already
    on the platform or with an open application."""
    evidence = evidence or []
    values, problems = fields_check(organization=organization, data=data, complete=submit)
    if not values["number"] and not problems:
        problems.append(_problem("required", "number", _("请填写发票号码")))
    if problems:
        raise RecoveryError("invalid", problems[0]["message"], problems[0]["field"],
                            problems=problems)  # fmt: skip
    if reason not in RecoveryReason.values:
        raise RecoveryError("reason", _("请选择未入平台的原因"), "reason")
    evidence_problems = evidence_check(evidence)
    if evidence_problems:
        raise RecoveryError("evidence", _joined(evidence_problems), "evidence")
    if submit and not any(e.kind == EvidenceKind.INVOICE for e in evidence):
        raise RecoveryError("no_invoice_file", _("请上传发票文件（原件的 PDF、OFD、XML 或照片）"),
                            "evidence")  # fmt: skip
    try:
        identity_check(organization=organization, code=values["code"], number=values["number"])
    except RecoveryError as refused:
        _refused(actor=actor, organization=organization, error=refused, number=values["number"])
        raise
    try:
        with transaction.atomic():
            application = RecoveryApplication.objects.create(
                organization=organization,
                applicant=actor,
                reason=reason,
                reason_note=reason_note.strip(),
                **values,
            )
            stored = _store_evidence(application, evidence, actor)
            _log(application, actor, EventCode.RECOVERY_DRAFTED,
                 f"创建补录申请（发票 {application.identity}）",
                 evidence=[e.name for e in stored])  # fmt: skip
            if submit:
                _submit(application, actor)
    except IntegrityError:
        # A concurrent request opened the same identity first: refuse like a duplicate.
        identity_check(organization=organization, code=values["code"], number=values["number"])
        raise
    return application


def recovery_from_file(
    *, actor, organization: Organization, name: str, data: bytes
) -> RecoveryApplication:
    """A draft prefilled from an uploaded invoice file (the verification extraction pipeline),
    which becomes its first evidence (发票文件). The applicant checks the fields, adds the rest
    of the evidence and submits."""
    upload = EvidenceUpload(EvidenceKind.INVOICE, name, data)
    problem = evidence_problem(upload)
    if problem:
        raise RecoveryError("evidence", problem, "file")
    extraction = files.extract(data, name)[0]
    if not extraction.ok or extraction.invoice is None:
        message = (extraction.error or {}).get("message", _("无法识别"))
        raise RecoveryError(
            "unreadable",
            _("未能从“%(name)s”识别出发票信息：%(message)s；请手工填写")
            % {"name": name, "message": message},
            "file",
        )
    read = extraction.invoice

    def money(key: str) -> Decimal | None:
        value = read.get(key)
        return Decimal(str(value)) if value not in (None, "") else None

    day = read.get("issue_date")
    data_read = {
        "type_code": read.get("type_code") or "",
        "code": read.get("code") or "",
        "number": read.get("number") or "",
        "issue_date": dt.date.fromisoformat(str(day)) if day else None,
        "amount": money("amount"),
        "tax": money("tax"),
        "total": money("total"),
        "seller_name": read.get("seller_name") or "",
        "seller_tax_id": read.get("seller_tax_id") or "",
        "buyer_name": read.get("buyer_name") or "",
        "buyer_tax_id": read.get("buyer_tax_id") or "",
        "check_code": read.get("check_code") or "",
    }
    # What the file gave that does not pass the rules is left for the applicant to type.
    __, problems = fields_check(organization=organization, data=data_read, complete=False)
    for p in problems:
        if p["field"] in ("code", "number"):
            raise RecoveryError("unreadable", _("从“%(name)s”识别出的发票号码有误：%(message)s；"
                                "请手工填写") % {"name": name, "message": p["message"]},
                                "file")  # fmt: skip
        if p["field"] in data_read and p["code"] != "not_a_party":
            data_read[p["field"]] = None if p["field"] in ("issue_date", "amount", "tax",
                                                           "total") else ""  # fmt: skip
    return recovery_create(
        actor=actor,
        organization=organization,
        data=data_read,
        reason=RecoveryReason.OTHER,
        evidence=[upload],
        submit=False,
    )


def _lock(application: RecoveryApplication, *, allowed: tuple[str, ...], doing: str):
    """The application locked, if in an `allowed` status; else refused, saying it cannot be
    `doing` (a pgettext("补录 refused", ...) phrase)."""
    locked = (
        RecoveryApplication.objects.select_for_update()
        .select_related("organization", "applicant")
        .get(pk=application.pk)
    )
    if locked.status not in allowed:
        raise RecoveryError(
            "wrong_status",
            _("补录申请 #%(id)s 的状态为“%(status)s”，不能%(action)s")
            % {"id": locked.pk, "status": locked.get_status_display(), "action": doing},
        )
    return locked


@transaction.atomic
def recovery_update(
    *,
    actor,
    application: RecoveryApplication,
    data: dict[str, Any],
    reason: str,
    reason_note: str = "",
) -> RecoveryApplication:
    """The applicant corrects the fields of a draft or of an application waiting for material."""
    application = _lock(
        application, allowed=EDITABLE_STATUSES, doing=pgettext("补录 refused", "修改")
    )
    organization = application.organization
    values, problems = fields_check(organization=organization, data=data, complete=False)
    if not values["number"]:
        problems.insert(0, _problem("required", "number", _("请填写发票号码")))
    if problems:
        raise RecoveryError("invalid", problems[0]["message"], problems[0]["field"],
                            problems=problems)  # fmt: skip
    if reason not in RecoveryReason.values:
        raise RecoveryError("reason", _("请选择未入平台的原因"), "reason")
    identity_check(organization=organization, code=values["code"], number=values["number"],
                   exclude=application)  # fmt: skip
    changed = [k for k in INVOICE_FIELDS if getattr(application, k) != values[k]]
    for key in INVOICE_FIELDS:
        setattr(application, key, values[key])
    if application.reason != reason or application.reason_note != reason_note.strip():
        changed.append("reason")
    application.reason, application.reason_note = reason, reason_note.strip()
    application.updated_at = timezone.now()
    application.save()
    labels = "、".join(LABELS.get(k, "原因") for k in changed) or "无变化"
    _log(application, actor, EventCode.RECOVERY_UPDATED, f"修改补录申请：{labels}",
         fields=changed)  # fmt: skip
    return application


@transaction.atomic
def evidence_add(
    *, actor, application: RecoveryApplication, uploads: list[EvidenceUpload]
) -> list[RecoveryEvidence]:
    application = _lock(
        application, allowed=EDITABLE_STATUSES, doing=pgettext("补录 refused", "上传材料")
    )
    if not uploads:
        raise RecoveryError("no_files", _("请选择要上传的材料文件"), "files")
    problems = evidence_check(uploads, already=application.evidence.count())
    if problems:
        raise RecoveryError("evidence", _joined(problems), "files")
    stored = _store_evidence(application, uploads, actor)
    application.updated_at = timezone.now()
    application.save(update_fields=["updated_at"])
    with translation.override("zh-hans"):  # the operation log's language
        names = [f"{e.get_kind_display()}“{e.name}”" for e in stored]
    _log(application, actor, EventCode.RECOVERY_EVIDENCE_ADDED,
         f"上传证明材料：{'、'.join(names)}", evidence=names)  # fmt: skip
    return stored


@transaction.atomic
def evidence_remove(*, actor, evidence: RecoveryEvidence) -> None:
    application = _lock(
        evidence.application,
        allowed=EDITABLE_STATUSES,
        doing=pgettext("补录 refused", "删除材料"),
    )
    if (
        application.status == RecoveryStatus.MORE_INFO
        and application.decided_at
        and (evidence.uploaded_at < application.decided_at)
    ):
        raise RecoveryError("evidence_reviewed", _("已提交审核过的材料不能删除，可以补充新的材料"))
    with translation.override("zh-hans"):  # the operation log's language
        name = f"{evidence.get_kind_display()}“{evidence.name}”"
    evidence.file.delete(save=False)
    evidence.delete()
    _log(application, actor, EventCode.RECOVERY_EVIDENCE_REMOVED, f"删除证明材料：{name}",
         evidence=[name])  # fmt: skip


def _submit(application: RecoveryApplication, actor, *, note: str = "") -> None:
    """To the review queue, with the service-level timer started now."""
    __, problems = fields_check(
        organization=application.organization,
        data={k: getattr(application, k) for k in INVOICE_FIELDS},
        complete=True,
    )
    if problems:
        raise RecoveryError(
            "invalid",
            _("发票信息不完整或有误，请先修改：%(problems)s")
            % {"problems": _joined(p["message"] for p in problems)},
            problems[0]["field"],
            problems=problems,
        )
    if not application.evidence.filter(kind=EvidenceKind.INVOICE).exists():
        raise RecoveryError("no_invoice_file", _("请先上传发票文件（原件的 PDF、OFD、XML 或照片）"),
                            "evidence")  # fmt: skip
    identity_check(organization=application.organization, code=application.code,
                   number=application.number, exclude=application)  # fmt: skip
    resubmitted = application.status == RecoveryStatus.MORE_INFO
    if resubmitted and not note.strip():
        added = application.evidence.filter(uploaded_at__gt=application.decided_at).exists()
        changed = application.updated_at > application.decided_at
        if not (added or changed):
            raise RecoveryError("nothing_added", _("请补充材料、修改信息或填写补充说明后再提交"),
                                "note")  # fmt: skip
    now = timezone.now()
    application.status = RecoveryStatus.SUBMITTED
    application.submitted_at = application.submitted_at or now
    application.due_at = sla.working_days_after(now)
    application.reminded_at = None
    application.updated_at = now
    application.save()
    code = EventCode.RECOVERY_RESUBMITTED if resubmitted else EventCode.RECOVERY_SUBMITTED
    due = timezone.localtime(application.due_at)
    what = "补充材料后重新提交" if resubmitted else "提交补录申请"
    _log(application, actor, code, f"{what}，审核时限 {due:%Y-%m-%d %H:%M}",
         message=note.strip(), due_at=application.due_at.isoformat())  # fmt: skip
    _notify(application, "resubmitted" if resubmitted else "submitted")


@transaction.atomic
def recovery_submit(
    *, actor, application: RecoveryApplication, note: str = ""
) -> RecoveryApplication:
    """Submit a draft, or resubmit after more material was asked for (with a note)."""
    locked = _lock(application, allowed=EDITABLE_STATUSES, doing=pgettext("补录 refused", "提交"))
    _submit(locked, actor, note=note)
    return locked


@transaction.atomic
def recovery_withdraw(
    *, actor, application: RecoveryApplication, note: str = ""
) -> RecoveryApplication:
    application = _lock(application, allowed=OPEN_STATUSES, doing=pgettext("补录 refused", "撤回"))
    application.status = RecoveryStatus.WITHDRAWN
    application.due_at = None
    application.updated_at = timezone.now()
    application.save(update_fields=["status", "due_at", "updated_at"])
    _log(application, actor, EventCode.RECOVERY_WITHDRAWN, message=note.strip())
    if actor.pk != application.applicant_id:
        _notify(application, "withdrawn")
    return application


def _money_or_none(value) -> Decimal | None:
    """A ledger's amount as the draft can hold it; anything else is left for the applicant."""
    if not isinstance(value, Decimal) or not value.is_finite() or abs(value) >= Decimal("1e15"):
        return None
    return value.quantize(tax.CENT) if value == value.quantize(tax.CENT) else None


def recovery_start_bulk(
    *, actor, organization: Organization, rows: list[dict]
) -> list[RecoveryApplication]:
    """Drafts from reconciliation's "missing on the platform": one per row, skipping rows whose
    invoice is on the platform or has an open application of the organization (and repeated
    rows). The applicant adds evidence to each and submits it."""
    created: list[RecoveryApplication] = []
    keyed: dict[tuple[str, str], dict] = {}
    for row in rows:
        code = normalize_code(row.get("code") or "")
        number = normalize_code(row.get("number") or "")
        if len(number) == numbers.DIGITAL_LENGTH:
            code = ""
        if number and len(number) <= 20 and len(code) <= 12:
            keyed.setdefault((code, number), row)
    if not keyed:
        return created
    taken: set[tuple[str, str]] = set()
    numbers_wanted = [n for _, n in keyed]
    for i in range(0, len(numbers_wanted), 1000):
        chunk = numbers_wanted[i : i + 1000]
        taken |= set(Invoice.objects.filter(number__in=chunk).values_list("code", "number"))
        taken |= set(
            RecoveryApplication.objects.filter(
                organization=organization, number__in=chunk, status__in=OPEN_STATUSES
            ).values_list("code", "number")
        )
    with transaction.atomic():
        for (code, number), row in keyed.items():
            if (code, number) in taken:
                continue

            def text(key: str, limit: int, row: dict = row) -> str:
                return normalize_code(row.get(key) or "")[:limit]

            application = RecoveryApplication.objects.create(
                organization=organization,
                applicant=actor,
                status=RecoveryStatus.DRAFT,
                type_code=text("type_code", 2),
                code=code,
                number=number,
                issue_date=row.get("issue_date")
                if isinstance(row.get("issue_date"), dt.date)
                else None,
                amount=_money_or_none(row.get("amount")),
                tax=_money_or_none(row.get("tax")),
                total=_money_or_none(row.get("total")),
                seller_name=(row.get("seller_name") or "").strip()[:200],
                seller_tax_id=text("seller_tax_id", 26),
                buyer_name=(row.get("buyer_name") or "").strip()[:200],
                buyer_tax_id=text("buyer_tax_id", 26),
                reason=RecoveryReason.OTHER,
                reason_note=(row.get("note") or "来自对账").strip(),
            )
            _log(application, actor, EventCode.RECOVERY_DRAFTED,
                 f"从对账结果创建补录申请草稿（发票 {number}）",
                 source="reconciliation")  # fmt: skip
            created.append(application)
        if created:
            with in_language_of(actor):
                title = ngettext(
                    "已创建 %(count)s 份补录申请草稿",
                    "已创建 %(count)s 份补录申请草稿",
                    len(created),
                ) % {"count": len(created)}
                body = _(
                    "来自对账的“平台缺失”发票：请逐份核对发票信息、上传发票文件等证明材料后提交。"
                )
            notice_send(
                user=actor,
                organization=organization,
                title=title,
                body=body,
                link=reverse("recovery_list") + "?status=draft",
            )
    return created


# --- staff ---------------------------------------------------------------------------------------


def _decide(application: RecoveryApplication, actor, status: str, message: str) -> None:
    application.status = status
    application.staff_reason = message.strip()
    application.decided_by = actor
    application.decided_at = application.updated_at = timezone.now()
    application.due_at = None
    application.save()


def _rate_of(amount: Decimal, tax_value: Decimal) -> Decimal | None:
    """The rate the header totals imply, when exactly one known rate gives that tax."""
    if amount <= 0:
        return None
    fits = [
        r.value
        for r in (*tax.RATES, *tax.HISTORIC_RATES)
        if abs(tax.round2(amount * r.value) - tax_value) <= tax.CENT
    ]
    return fits[0] if len(fits) == 1 else None


@transaction.atomic
def recovery_approve(*, actor, application: RecoveryApplication, message: str = "") -> Invoice:
    """Record the invoice (source 补录), linked to the application, visible to the seller's and
    the buyer's organizations where they are on the platform. Once: a second approval, or an
    identity recorded meanwhile by other means, is refused."""
    application = _lock(
        application,
        allowed=(RecoveryStatus.SUBMITTED,),
        doing=pgettext("补录 refused", "审核通过"),
    )
    __, problems = fields_check(
        organization=application.organization,
        data={k: getattr(application, k) for k in INVOICE_FIELDS},
        complete=True,
    )
    if problems:
        raise RecoveryError(
            "invalid",
            _("申请的发票信息有误，不能通过：%(problems)s")
            % {"problems": _joined(p["message"] for p in problems)},
        )
    if Invoice.objects.filter(code=application.code, number=application.number).exists():
        raise RecoveryError(
            "already_recorded",
            _("发票 %(invoice)s 已由其他途径记录到平台，不能重复补录；请驳回并说明")
            % {"invoice": application.identity},
        )
    parties = dict(
        Organization.objects.filter(
            tax_id__in=[t for t in (application.seller_tax_id, application.buyer_tax_id) if t]
        ).values_list("tax_id", "pk")
    )
    try:
        with transaction.atomic():
            invoice = Invoice.objects.create(
                type_code=application.type_code,
                code=application.code,
                number=application.number,
                issue_date=application.issue_date,
                seller_org_id=parties.get(application.seller_tax_id),
                seller_name=application.seller_name,
                seller_tax_id=application.seller_tax_id,
                buyer_org_id=parties.get(application.buyer_tax_id)
                if application.buyer_tax_id
                else None,
                buyer_name=application.buyer_name,
                buyer_tax_id=application.buyer_tax_id,
                amount=application.amount,
                tax=application.tax,
                total=application.total,
                check_code=application.check_code,
                remarks=application.remarks,
                source=InvoiceSource.RECOVERED,
            )
    except IntegrityError:
        raise RecoveryError(
            "already_recorded",
            _("发票 %(invoice)s 刚刚已被记录到平台，不能重复补录")
            % {"invoice": application.identity},
        ) from None
    rate = _rate_of(application.amount, application.tax)
    if rate is not None:
        InvoiceLine.objects.create(
            invoice=invoice,
            position=1,
            name="补录发票（明细以原件为准）",
            amount=application.amount,
            rate=rate,
            tax=application.tax,
        )
    application.invoice = invoice
    _decide(application, actor, RecoveryStatus.APPROVED, message)
    _log(application, actor, EventCode.RECOVERY_APPROVED,
         f"补录申请通过，发票 {invoice} 已记录到平台", invoice=invoice.pk,
         message=application.staff_reason)  # fmt: skip
    for org_id in dict.fromkeys(o for o in (invoice.seller_org_id, invoice.buyer_org_id) if o):
        event_record(
            code=EventCode.INVOICE_RECOVERED,
            actor=actor,
            organization=Organization(pk=org_id),
            obj=invoice,
            description=f"补录发票 {invoice}（补录申请 #{application.pk}）",
            details={"application": application.pk, "number": invoice.number},
        )
    _notify(application, "approved")
    return invoice


@transaction.atomic
def recovery_reject(*, actor, application: RecoveryApplication, reason: str) -> None:
    if not reason.strip():
        raise RecoveryError("reason_required", _("驳回须填写原因"), "message")
    application = _lock(
        application,
        allowed=(RecoveryStatus.SUBMITTED, RecoveryStatus.MORE_INFO),
        doing=pgettext("补录 refused", "驳回"),
    )
    _decide(application, actor, RecoveryStatus.REJECTED, reason)
    _log(application, actor, EventCode.RECOVERY_REJECTED, message=application.staff_reason)
    _notify(application, "rejected")


@transaction.atomic
def recovery_request_more(*, actor, application: RecoveryApplication, message: str) -> None:
    if not message.strip():
        raise RecoveryError("message_required", _("请说明需要补充哪些材料"), "message")
    application = _lock(
        application,
        allowed=(RecoveryStatus.SUBMITTED,),
        doing=pgettext("补录 refused", "要求补充材料"),
    )
    _decide(application, actor, RecoveryStatus.MORE_INFO, message)
    _log(application, actor, EventCode.RECOVERY_MORE_INFO, message=application.staff_reason)
    _notify(application, "more_info")
    _remind_later(application, after=application.decided_at + REMIND_EVERY)


def _remind_later(application: RecoveryApplication, *, after: dt.datetime) -> None:
    """Queue this request for material's next reminder (the worker runs it when due), so
    reminders need no cron; `fapiao recovery remind` remains for backends without deferral."""
    from django.tasks import default_task_backend

    from fapiao.recovery.tasks import recovery_remind_due

    if default_task_backend.supports_defer:
        task = recovery_remind_due.using(run_after=after)
        episode = application.decided_at.isoformat()
        transaction.on_commit(lambda: task.enqueue(application_id=application.pk, episode=episode))


def recovery_remind_one(*, application_id: int, episode: str, now: dt.datetime | None = None):
    """The queued reminder of one request for material (`episode` is when it was asked for):
    remind when still owed and due, then queue the next one. A reminder of an earlier request
    (the applicant resubmitted and was asked again) ends quietly: the new one has its own."""
    now = now or timezone.now()
    with transaction.atomic():
        application = (
            RecoveryApplication.objects.select_for_update()
            .select_related("organization", "applicant")
            .filter(pk=application_id)
            .first()
        )
        if (
            application is None
            or application.status != RecoveryStatus.MORE_INFO
            or application.decided_at is None
            or application.decided_at.isoformat() != episode
        ):
            return
        last = application.reminded_at or application.decided_at
        if last < application.decided_at:
            last = application.decided_at
        if now - last >= REMIND_EVERY:
            _remind(application, now)
            last = now
        _remind_later(application, after=last + REMIND_EVERY)


def _remind(application: RecoveryApplication, now: dt.datetime) -> None:
    """Remind the applicant of a locked application that they owe material, and log it."""
    application.reminded_at = now
    application.save(update_fields=["reminded_at"])
    waited = (now - application.decided_at).days if application.decided_at else 0
    _log(application, None, EventCode.RECOVERY_REMINDED,
         f"提醒申请人补充材料（已等待 {waited} 天）", days=waited)  # fmt: skip
    _notify(application, "reminded")


def recovery_remind(*, now: dt.datetime | None = None) -> int:
    """Remind applicants who owe material (待补充材料) at most once per REMIND_EVERY; run daily
    by `fapiao recovery remind`. Returns how many were reminded."""
    now = now or timezone.now()
    cutoff = now - REMIND_EVERY
    owing = RecoveryApplication.objects.filter(status=RecoveryStatus.MORE_INFO).filter(
        Q(reminded_at__lte=cutoff) | Q(reminded_at__isnull=True, decided_at__lte=cutoff)
    )
    reminded = 0
    for pk in owing.values_list("pk", flat=True):
        with transaction.atomic():
            application = (
                RecoveryApplication.objects.select_for_update()
                .select_related("organization", "applicant")
                .get(pk=pk)
            )
            if application.status != RecoveryStatus.MORE_INFO:
                continue
            _remind(application, now)
            reminded += 1
    return reminded + _remind_drafts(now)


def _remind_drafts(now: dt.datetime) -> int:
    """One notice per applicant and organization for drafts left without submission."""
    cutoff = now - REMIND_DRAFTS_EVERY
    stale = RecoveryApplication.objects.filter(
        status=RecoveryStatus.DRAFT, created_at__lte=cutoff
    ).filter(Q(reminded_at__isnull=True) | Q(reminded_at__lte=cutoff))
    groups: dict[tuple[int, int], list[int]] = {}
    for pk, applicant, organization in stale.values_list("pk", "applicant", "organization"):
        groups.setdefault((applicant, organization), []).append(pk)
    reminded = 0
    for pks in groups.values():
        with transaction.atomic():
            drafts = list(
                RecoveryApplication.objects.select_for_update()
                .filter(pk__in=pks, status=RecoveryStatus.DRAFT)
                .select_related("organization", "applicant")
            )
            if not drafts:
                continue
            for draft in drafts:
                draft.reminded_at = now
                _log(draft, None, EventCode.RECOVERY_REMINDED, "提醒申请人补充材料并提交草稿")
            RecoveryApplication.objects.filter(pk__in=[d.pk for d in drafts]).update(
                reminded_at=now
            )
            first = drafts[0]
            with in_language_of(first.applicant):
                title = ngettext(
                    "提醒：%(count)s 份补录申请草稿尚未提交",
                    "提醒：%(count)s 份补录申请草稿尚未提交",
                    len(drafts),
                ) % {"count": len(drafts)}
                body = _("上传发票文件等证明材料并提交后，工作人员才会审核。")
            notice_send(
                user=first.applicant,
                organization=first.organization,
                title=title,
                body=body,
                link=reverse("recovery_list") + "?status=draft",
            )
            reminded += len(drafts)
    return reminded
