"""Reads of verification, every one scoped to the organization (staff reads to their queue), and
what a verification's page and report show: the fields compared and the earlier records."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet

from fapiao.accounts.models import Organization
from fapiao.verification.compare import CENT, LABELS
from fapiao.verification.models import (
    AuthAttachment,
    AuthRequest,
    AuthRequestStatus,
    BatchItem,
    Claim,
    Verification,
    VerificationBatch,
    VerificationResult,
    VerificationSource,
)


def verifications_of(*, organization: Organization) -> QuerySet[Verification]:
    return Verification.objects.filter(organization=organization).select_related(
        "invoice", "user", "batch"
    )


def batches_of(*, organization: Organization) -> QuerySet[VerificationBatch]:
    return VerificationBatch.objects.filter(organization=organization)


def batch_items(*, batch: VerificationBatch) -> QuerySet[BatchItem]:
    return batch.items.select_related("verification", "verification__invoice").order_by("position")


def claims_of(*, organization: Organization) -> QuerySet[Claim]:
    return Claim.objects.filter(organization=organization).select_related("verification", "user")


def claim_for(*, organization: Organization, code: str, number: str) -> Claim | None:
    return claims_of(organization=organization).filter(code=code, number=number).first()


def auth_requests_of(*, organization: Organization) -> QuerySet[AuthRequest]:
    return AuthRequest.objects.filter(organization=organization).select_related("submitted_by")


def auth_request_queue() -> QuerySet[AuthRequest]:
    """What staff with the review queue see: requests still open, oldest first. Nothing else of
    an organization is reachable from here."""
    return (
        AuthRequest.objects.filter(
            status__in=(AuthRequestStatus.PENDING, AuthRequestStatus.MORE_INFO)
        )
        .select_related("organization", "submitted_by")
        .annotate(attachment_count=Count("attachments"))
        .order_by("created_at", "id")
    )


def auth_requests_for_staff() -> QuerySet[AuthRequest]:
    """Every request staff may open: those in the queue and those they decided."""
    return AuthRequest.objects.select_related("organization", "submitted_by", "decided_by")


def auth_pending_count() -> int:
    return AuthRequest.objects.filter(status=AuthRequestStatus.PENDING).count()


def attachment_for_org(*, organization: Organization, pk: int) -> AuthAttachment | None:
    return (
        AuthAttachment.objects.filter(request__organization=organization, pk=pk)
        .select_related("request")
        .first()
    )


def public_report(public_id: str) -> Verification | None:
    return Verification.objects.select_related("invoice").filter(public_id=public_id).first()


# --- 查重 ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EarlierRecords:
    """The organization's earlier verification and claim of the same invoice (查重)."""

    verification: Verification | None
    claim: Claim | None
    count: int  # earlier verifications of the same invoice

    @property
    def any(self) -> bool:
        return self.verification is not None or self.claim is not None


def earlier_records(verification: Verification) -> EarlierRecords:
    """Flag a verification of an invoice the organization verified or claimed before it."""
    if verification.result == VerificationResult.BAD_FORMAT or not verification.number:
        return EarlierRecords(None, None, 0)
    earlier = Verification.objects.filter(
        organization_id=verification.organization_id,
        code=verification.code,
        number=verification.number,
    ).exclude(result=VerificationResult.BAD_FORMAT)
    earlier = earlier.filter(
        Q(created_at__lt=verification.created_at)
        | Q(created_at=verification.created_at, id__lt=verification.id)
    )
    claim = (
        Claim.objects.filter(
            organization_id=verification.organization_id,
            code=verification.code,
            number=verification.number,
        )
        .exclude(verification=verification)
        .select_related("verification", "user")
        .first()
    )
    first = verification.duplicate_of or earlier.order_by("created_at", "id").first()
    return EarlierRecords(first, claim, earlier.count())


# --- the fields compared -------------------------------------------------------------------------

ROW_ORDER = (
    "code",
    "number",
    "issue_date",
    "amount",
    "tax",
    "total",
    "check_code",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
)
HIDDEN = "不予显示"


@dataclass(frozen=True)
class Row:
    field: str
    label: str
    given: str
    platform: str  # "" where none; HIDDEN where the platform's value is not for this viewer
    verdict: str  # 一致, 不一致, or "" (not compared)

    @property
    def differs(self) -> bool:
        return self.verdict == "不一致"


def given_values(verification: Verification) -> dict[str, str]:
    """What was verified, as text: the typed fields, or what the file's extraction read."""
    if verification.source == VerificationSource.FILE:
        read = verification.extracted or {}
        values = {key: str(read.get(key) or "") for key in ROW_ORDER}
        values["code"] = values["code"] or verification.code
        values["number"] = values["number"] or verification.number
        return values
    return {
        "code": verification.code,
        "number": verification.number,
        "issue_date": verification.issue_date.isoformat() if verification.issue_date else "",
        "amount": _money(verification.amount),
        "total": _money(verification.total),
        "check_code": verification.check_code,
    }


def comparison_rows(verification: Verification) -> list[Row]:
    """One row per field verified: the value given, the platform's (when it may be shown) and
    whether they agree."""
    given = given_values(verification)
    differing = {d["field"]: d for d in verification.differences}
    invoice = verification.invoice
    show = verification.shows_platform_copy
    compared = invoice is not None and verification.result not in (
        VerificationResult.BAD_FORMAT,
        VerificationResult.TOO_OLD,
    )
    typed_last6 = (
        verification.source == VerificationSource.FIELDS and len(verification.check_code) == 6
    )
    rows = []
    for key in ROW_ORDER:
        value = given.get(key, "")
        if not value:
            continue
        label = LABELS["check_code_last6"] if key == "check_code" and typed_last6 else LABELS[key]
        platform = ""
        if invoice is not None:
            if not show:
                platform = HIDDEN
            elif key in differing:
                platform = differing[key]["platform"]
            else:
                platform = _platform_value(invoice, key, last6=typed_last6)
        verdict = ""
        if compared:
            verdict = "不一致" if key in differing else "一致"
        rows.append(Row(key, label, value, platform, verdict))
    return rows


def _platform_value(invoice, key: str, *, last6: bool) -> str:
    value = getattr(invoice, key, "")
    if key == "check_code":
        return (value or "")[-6:] if last6 else value or ""
    if isinstance(value, Decimal):
        return _money(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value or "")


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value.quantize(CENT):f}"


@dataclass(frozen=True)
class Summary:
    """What the public report page shows, and nothing more."""

    result: str
    result_code: str
    number: str
    issue_date: str
    total: str
    checked_at: object


def public_summary(verification: Verification) -> Summary:
    """Result, number, date, total and time: the total is the platform's when every input
    agreed, else the one given (if any); no party, no line, no other figure."""
    total = verification.total
    if total is None and verification.source == VerificationSource.FILE:
        raw = (verification.extracted or {}).get("total")
        total = Decimal(raw) if raw else None
    if verification.fields_agree and verification.invoice is not None:
        total = verification.invoice.total
    return Summary(
        result=verification.get_result_display(),
        result_code=verification.result,
        number=verification.identity,
        issue_date=verification.issue_date.isoformat() if verification.issue_date else "",
        total=_money(total),
        checked_at=verification.created_at,
    )
