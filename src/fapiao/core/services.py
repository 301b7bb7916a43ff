"""Writes of the platform-wide settings, each with its operation-log event."""

from django.core.exceptions import ValidationError
from django.db import transaction

from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record
from fapiao.core.models import CalendarDay
from fapiao.rules import workdays


@transaction.atomic
def calendar_year_set(*, year: int, days: list[workdays.Day], actor=None, actor_label=None) -> int:
    """Replace a year's holiday arrangements with `days` (the State Council's notice). Returns
    the number of days recorded. Refused whole, with every reason, when any day is wrong."""
    problems = workdays.check_year(year, days)
    if not days:
        problems.append(f"没有 {year} 年的任何日期")
    if problems:
        raise ValidationError(problems, code="calendar")
    before = CalendarDay.objects.filter(day__year=year).count()
    CalendarDay.objects.filter(day__year=year).delete()
    CalendarDay.objects.bulk_create(CalendarDay(day=d.day, kind=d.kind, name=d.name) for d in days)
    event_record(
        code=EventCode.CALENDAR_UPDATED,
        actor=actor,
        actor_label=actor_label,
        description=f"录入 {year} 年节假日安排：放假 "
        f"{sum(d.kind == workdays.HOLIDAY for d in days)} 天，调休上班 "
        f"{sum(d.kind == workdays.WORKDAY for d in days)} 天",
        details={"year": year, "days": len(days), "replaced": before},
    )
    return len(days)
