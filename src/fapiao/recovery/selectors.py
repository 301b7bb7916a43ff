"""Reads of 补录, every one scoped to the organization; staff reads to their review queue."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from fapiao.accounts.models import Organization
from fapiao.audit.models import Event
from fapiao.recovery.models import (
    OPEN_STATUSES,
    RecoveryApplication,
    RecoveryEvidence,
    RecoveryStatus,
)
from fapiao.rules.text import normalize_code


def applications_of(*, organization: Organization) -> QuerySet[RecoveryApplication]:
    return RecoveryApplication.objects.filter(organization=organization).select_related(
        "applicant", "invoice"
    )


def recovery_open_for(
    *, organization: Organization, number: str, code: str = ""
) -> RecoveryApplication | None:
    """The organization's open (草稿, 待审核, 待补充材料) application for an invoice identity."""
    number, code = normalize_code(number), normalize_code(code)
    if len(number) == 20:
        code = ""
    return (
        applications_of(organization=organization)
        .filter(number=number, code=code, status__in=OPEN_STATUSES)
        .first()
    )


def evidence_for_org(*, organization: Organization, pk: int) -> RecoveryEvidence | None:
    return (
        RecoveryEvidence.objects.filter(application__organization=organization, pk=pk)
        .select_related("application")
        .first()
    )


def timeline(application: RecoveryApplication) -> list[Event]:
    return list(
        Event.objects.filter(
            object_type="recoveryapplication", object_id=str(application.pk)
        ).order_by("created_at", "id")
    )


# --- staff ---------------------------------------------------------------------------------------


def review_queue() -> QuerySet[RecoveryApplication]:
    """Waiting for staff: submitted applications, the soonest due first."""
    return (
        RecoveryApplication.objects.filter(status=RecoveryStatus.SUBMITTED)
        .select_related("organization", "applicant")
        .annotate(evidence_count=Count("evidence"))
        .order_by("due_at", "id")
    )


def waiting_for_applicants() -> QuerySet[RecoveryApplication]:
    return (
        RecoveryApplication.objects.filter(status=RecoveryStatus.MORE_INFO)
        .select_related("organization", "applicant", "decided_by")
        .order_by("decided_at", "id")
    )


def applications_for_staff(*, user) -> QuerySet[RecoveryApplication]:
    """What a reviewer may open: applications in review or waiting for material, and those
    they decided; never drafts or withdrawn applications."""
    return RecoveryApplication.objects.filter(
        Q(status__in=(RecoveryStatus.SUBMITTED, RecoveryStatus.MORE_INFO)) | Q(decided_by=user)
    ).select_related("organization", "applicant", "decided_by", "invoice")


def pending_count() -> int:
    return RecoveryApplication.objects.filter(status=RecoveryStatus.SUBMITTED).count()
