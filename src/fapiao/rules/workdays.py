"""Working days in mainland China: Monday to Friday, except the public holidays the State Council
announces each year (国务院办公厅关于部分节假日安排的通知), plus the weekend days it turns into
working days to make up for a long holiday (调休上班).

The platform keeps the days in its database, where staff add each year's notice when it comes out
(`fapiao workdays`); the years below are the ones it ships with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

HOLIDAY = "holiday"  # 放假: a day off, whatever day of the week it is
WORKDAY = "workday"  # 调休上班: a Saturday or Sunday worked
NAME_MAX = 50  # the holiday's name, as stored

# Per year: the holidays as (first day, last day, name); the make-up working days as (day, name).
_OFFICIAL: dict[int, tuple[list[tuple[str, str, str]], list[tuple[str, str]]]] = {
    2025: (
        [
            ("2025-01-01", "2025-01-01", "元旦"),
            ("2025-01-28", "2025-02-04", "春节"),
            ("2025-04-04", "2025-04-06", "清明节"),
            ("2025-05-01", "2025-05-05", "劳动节"),
            ("2025-05-31", "2025-06-02", "端午节"),
            ("2025-10-01", "2025-10-08", "国庆节、中秋节"),
        ],
        [
            ("2025-01-26", "春节"),
            ("2025-02-08", "春节"),
            ("2025-04-27", "劳动节"),
            ("2025-09-28", "国庆节、中秋节"),
            ("2025-10-11", "国庆节、中秋节"),
        ],
    ),
    2026: (
        [
            ("2026-01-01", "2026-01-03", "元旦"),
            ("2026-02-15", "2026-02-23", "春节"),
            ("2026-04-04", "2026-04-06", "清明节"),
            ("2026-05-01", "2026-05-05", "劳动节"),
            ("2026-06-19", "2026-06-21", "端午节"),
            ("2026-09-25", "2026-09-27", "中秋节"),
            ("2026-10-01", "2026-10-07", "国庆节"),
        ],
        [
            ("2026-01-04", "元旦"),
            ("2026-02-14", "春节"),
            ("2026-02-28", "春节"),
            ("2026-05-09", "劳动节"),
            ("2026-09-20", "国庆节"),
            ("2026-10-10", "国庆节"),
        ],
    ),
}

SHIPPED_YEARS = tuple(sorted(_OFFICIAL))


@dataclass(frozen=True)
class Day:
    day: dt.date
    kind: str  # HOLIDAY or WORKDAY
    name: str


def official_days(year: int) -> list[Day]:
    """The days of a shipped year's notice, in date order (empty for a year not shipped)."""
    holidays, workdays = _OFFICIAL.get(year, ([], []))
    days = []
    for first, last, name in holidays:
        day, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
        while day <= end:
            days.append(Day(day, HOLIDAY, name))
            day += dt.timedelta(days=1)
    days += [Day(dt.date.fromisoformat(day), WORKDAY, name) for day, name in workdays]
    return sorted(days, key=lambda d: d.day)


def check_year(year: int, days: list[Day]) -> list[str]:
    """What is wrong with a year's days, in Chinese (empty when nothing is): a day outside the
    year, a day listed twice, a name too long, an unknown kind, a make-up working day that is a
    weekday anyway."""
    problems, seen = [], set()
    for d in days:
        if d.day.year != year:
            problems.append(f"{d.day:%Y-%m-%d} 不在 {year} 年")
        if d.day in seen:
            problems.append(f"{d.day:%Y-%m-%d} 重复出现")
        seen.add(d.day)
        if len(d.name) > NAME_MAX:
            problems.append(f"{d.day:%Y-%m-%d} 的名称超过 {NAME_MAX} 个字")
        if d.kind not in (HOLIDAY, WORKDAY):
            problems.append(f"{d.day:%Y-%m-%d} 的类型应为“放假”或“上班”")
        elif d.kind == WORKDAY and d.day.weekday() < 5:
            problems.append(f"{d.day:%Y-%m-%d} 是工作日（周一至周五），不必登记为调休上班")
    return problems


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()

    @classmethod
    def of(cls, days: list[Day]) -> WorkCalendar:
        return cls(
            holidays=frozenset(d.day for d in days if d.kind == HOLIDAY),
            workdays=frozenset(d.day for d in days if d.kind == WORKDAY),
        )

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day not in self.holidays and day.weekday() < 5

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """`start` plus `days` working days, at the same time of day. A start on a day off counts
        from the next working day, at the time given."""
        moment = start
        while not self.is_working_day(moment.date()):
            moment += dt.timedelta(days=1)
        added = 0
        while added < days:
            moment += dt.timedelta(days=1)
            if self.is_working_day(moment.date()):
                added += 1
        return moment
