import datetime

from django.db.models import QuerySet
from django.utils import timezone

from fapiao.accounts.models import Organization, User
from fapiao.audit.models import Event


def events_for_organization(
    *,
    organization: Organization,
    actor_id: int | None = None,
    code: str | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[Event]:
    """The organization's operation log, newest first. Dates are whole local days, inclusive."""
    events = Event.objects.filter(organization=organization).select_related("actor")
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if code:
        events = events.filter(code=code)
    if date_from is not None:
        events = events.filter(created_at__gte=_start_of_day(date_from))
    if date_to is not None:
        events = events.filter(created_at__lt=_start_of_day(date_to + datetime.timedelta(days=1)))
    return events.order_by("-created_at", "-id")


def events_for_user(*, user: User) -> QuerySet[Event]:
    """What the user did themselves, in every organization and on the platform chain."""
    return (
        Event.objects.filter(actor=user)
        .select_related("organization")
        .order_by("-created_at", "-id")
    )


def organization_members(*, organization: Organization) -> QuerySet[User]:
    """The people whose actions the organization's log can be filtered by."""
    return User.objects.filter(memberships__organization=organization).order_by("name", "email")


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
