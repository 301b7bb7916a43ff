"""Working days: Monday to Friday, less the public holidays, plus the weekend days worked."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from fapiao.rules import workdays
from fapiao.rules.workdays import HOLIDAY, WORKDAY, Day, WorkCalendar

Y2026 = WorkCalendar.of(workdays.official_days(2026))
Y2025 = WorkCalendar.of(workdays.official_days(2025))


def test_the_2026_notice_as_shipped():
    days = workdays.official_days(2026)
    spring = [d.day for d in days if d.name == "春节" and d.kind == HOLIDAY]
    assert spring[0] == dt.date(2026, 2, 15) and spring[-1] == dt.date(2026, 2, 23)
    assert len(spring) == 9
    made_up = [d.day for d in days if d.kind == WORKDAY]
    assert all(day.weekday() >= 5 for day in made_up)
    assert dt.date(2026, 2, 14) in made_up and dt.date(2026, 10, 10) in made_up
    assert workdays.check_year(2026, days) == [] and workdays.check_year(2025, Y2025_DAYS) == []
    assert sum(d.kind == HOLIDAY for d in days) == 33


Y2025_DAYS = workdays.official_days(2025)


def test_a_deadline_jumps_the_national_day_holiday_and_counts_the_saturday_worked():
    eve = dt.datetime(2026, 9, 30, 10, 0)  # Wednesday, the day before the holiday
    assert Y2026.add_working_days(eve, 2) == dt.datetime(2026, 10, 9, 10, 0)
    friday = dt.datetime(2026, 10, 9, 16, 30)
    # Saturday 10 October is worked; Sunday 11 is not.
    assert Y2026.add_working_days(friday, 1) == dt.datetime(2026, 10, 10, 16, 30)
    assert Y2026.add_working_days(friday, 2) == dt.datetime(2026, 10, 12, 16, 30)


def test_a_submission_during_a_holiday_counts_from_the_first_working_day():
    new_year = dt.datetime(2026, 1, 2, 9, 0)  # Friday, a holiday
    # Sunday 4 January is worked: it is the first working day, then Monday 5 the second.
    assert Y2026.add_working_days(new_year, 1) == dt.datetime(2026, 1, 5, 9, 0)
    spring = dt.datetime(2025, 1, 30, 9, 0)
    # Counted from Wednesday 5 February, the first working day after the Spring Festival.
    assert Y2025.add_working_days(spring, 2) == dt.datetime(2025, 2, 7, 9, 0)


def test_without_a_calendar_it_is_monday_to_friday():
    friday = dt.datetime(2027, 3, 5, 15, 0)
    assert WorkCalendar().add_working_days(friday, 2) == dt.datetime(2027, 3, 9, 15, 0)


def test_check_year_names_every_wrong_day():
    problems = workdays.check_year(
        2027,
        [
            Day(dt.date(2026, 12, 31), HOLIDAY, "元旦"),
            Day(dt.date(2027, 2, 3), WORKDAY, "春节"),  # a Wednesday
            Day(dt.date(2027, 2, 6), HOLIDAY, "春节"),
            Day(dt.date(2027, 2, 6), HOLIDAY, "春节"),
            Day(dt.date(2027, 2, 7), "off", "春节"),
        ],
    )
    assert problems == [
        "2026-12-31 不在 2027 年",
        "2027-02-03 是工作日（周一至周五），不必登记为调休上班",
        "2027-02-06 重复出现",
        "2027-02-07 的类型应为“放假”或“上班”",
    ]


moments = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2026, 12, 20))


@given(start=moments, days=st.integers(min_value=1, max_value=10))
def test_a_deadline_is_a_working_day_exactly_n_working_days_on(start, days):
    calendar = WorkCalendar.of(Y2025_DAYS + workdays.official_days(2026))
    due = calendar.add_working_days(start, days)
    assert calendar.is_working_day(due.date()) and due.time() == start.time()
    first = start.date()
    while not calendar.is_working_day(first):
        first += dt.timedelta(days=1)
    between = [
        first + dt.timedelta(days=n)
        for n in range(1, (due.date() - first).days + 1)
        if calendar.is_working_day(first + dt.timedelta(days=n))
    ]
    assert len(between) == days
