"""Reads of the platform-wide settings."""

import datetime as dt

from fapiao.core.models import CalendarDay
from fapiao.rules import workdays


def _days(**filters) -> list[workdays.Day]:
    rows = CalendarDay.objects.filter(**filters).values_list("day", "kind", "name")
    return [workdays.Day(*row) for row in rows]


def calendar_days(*, year: int) -> list[workdays.Day]:
    return _days(day__year=year)


def work_calendar(*, start: dt.date, end: dt.date) -> workdays.WorkCalendar:
    """The holidays and make-up working days between two dates (both included)."""
    return workdays.WorkCalendar.of(_days(day__range=(start, end)))


def calendar_years() -> set[int]:
    """The years whose holiday arrangements are recorded."""
    return {day.year for day in CalendarDay.objects.dates("day", "year")}


def calendar_year_counts() -> list[dict]:
    """Each year entered: its days off and its make-up working days, newest first."""
    counts: dict[int, dict] = {}
    for day, kind in CalendarDay.objects.values_list("day", "kind"):
        entry = counts.setdefault(day.year, {"year": day.year, "holidays": 0, "workdays": 0})
        entry["holidays" if kind == workdays.HOLIDAY else "workdays"] += 1
    return sorted(counts.values(), key=lambda entry: -entry["year"])


def calendar_missing(*, today: dt.date) -> list[int]:
    """The years a working-day deadline may soon fall in that have no arrangements recorded:
    this year, and from December on the next one too (the notice usually comes out in
    November)."""
    wanted = [today.year] + ([today.year + 1] if today.month == 12 else [])
    recorded = calendar_years()
    return [year for year in wanted if year not in recorded]
