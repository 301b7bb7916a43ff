"""The platform's holiday calendar: shipped years, `fapiao workdays`, the 补录 deadline that
follows it, and the staff's reminder when a year is missing."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from fapiao import testing
from fapiao.accounts.models import StaffRole, User
from fapiao.audit.events import EventCode
from fapiao.audit.models import Event
from fapiao.core import selectors
from fapiao.core.models import CalendarDay
from fapiao.recovery import sla

pytestmark = pytest.mark.django_db

BEIJING = dt.timezone(dt.timedelta(hours=8))


def run(*args) -> str:
    out = StringIO()
    call_command("workdays", *args, stdout=out)
    return out.getvalue()


def test_the_shipped_years_are_in_the_database():
    assert {2025, 2026} <= selectors.calendar_years()
    assert CalendarDay.objects.get(day=dt.date(2026, 10, 10)).get_kind_display() == "调休上班"


def test_the_review_deadline_skips_the_national_day_holiday_in_beijing_time():
    # 23:30 UTC on 29 September is 07:30 on Wednesday 30 September in Beijing.
    submitted = dt.datetime(2026, 9, 29, 23, 30, tzinfo=dt.UTC)
    due = sla.working_days_after(submitted, 2)
    assert due == dt.datetime(2026, 10, 9, 7, 30, tzinfo=BEIJING)
    # Friday 9 October 16:00: Saturday 10 is worked, Sunday 11 is not.
    friday = dt.datetime(2026, 10, 9, 16, 0, tzinfo=BEIJING)
    assert sla.working_days_after(friday, 2) == dt.datetime(2026, 10, 12, 16, 0, tzinfo=BEIJING)


def test_the_days_are_beijings_whatever_the_configured_time_zone(settings):
    # 20:00 UTC on Saturday 3 January 2026 is 04:00 on Sunday 4 January in Beijing: a worked
    # Sunday, so the first working day of the count; in UTC it would still be Saturday, a
    # holiday, and the count would start a day later.
    start = dt.datetime(2026, 1, 3, 20, 0, tzinfo=dt.UTC)
    expected = dt.datetime(2026, 1, 6, 4, 0, tzinfo=BEIJING)
    assert sla.working_days_after(start, 2) == expected
    settings.TIME_ZONE = "UTC"
    assert sla.working_days_after(start, 2) == expected


def test_loading_a_year_from_a_gbk_file_replaces_it_and_is_logged(tmp_path):
    path = tmp_path / "2027.csv"
    path.write_bytes(
        "日期,类型,名称\n2027年1月1日,放假,元旦\n2027/2/6,放假,春节\n2027-02-07,放假,春节\n"
        "2027-02-14,上班,春节\n".encode("gbk")
    )
    out = run("--year", "2027", "--load", str(path))
    assert "已录入 2027 年节假日安排：4 天" in out
    assert "2027-02-14 周日 上班 春节" in out
    assert 2027 in selectors.calendar_years()
    event = Event.objects.get(code=EventCode.CALENDAR_UPDATED)
    assert event.details == {"year": 2027, "days": 4, "replaced": 0}
    assert event.description == "录入 2027 年节假日安排：放假 3 天，调休上班 1 天"
    friday = dt.datetime(2027, 2, 5, 10, 0, tzinfo=BEIJING)
    # Saturday 6 and Sunday 7 are off anyway; Monday 8 is the first working day after.
    assert sla.working_days_after(friday, 1) == dt.datetime(2027, 2, 8, 10, 0, tzinfo=BEIJING)

    path.write_text("2027-01-01,放假,元旦\n", encoding="utf-8")
    run("--year", "2027", "--load", str(path))
    assert CalendarDay.objects.filter(day__year=2027).count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("日期,类型\n2027-02-30,放假\n", "第 2 行“日期”列：不存在的日期“2027-02-30”"),
        ("日期,类型\n明年,放假\n", "第 2 行“日期”列：无法识别的日期“明年”"),
        ("2027-02-06,休息日\n", "第 1 行“类型”列：应为“放假”或“上班”，而不是“休息日”"),
        ("2027-02-03,上班,春节\n", "2027-02-03 是工作日（周一至周五），不必登记为调休上班"),
        ("2026-12-31,放假,元旦\n", "2026-12-31 不在 2027 年"),
        ("日期,类型,名称\n", "文件中没有任何日期：未作改动"),
        ("2027-01-01x,放假,元旦\n", "第 1 行“日期”列：无法识别的日期“2027-01-01x”"),
        ("\n\n日期,类型\n2027-02-30,放假\n", "第 4 行“日期”列：不存在的日期“2027-02-30”"),
        ("2027-02-06,放假," + "节" * 51 + "\n", "2027-02-06 的名称超过 50 个字"),
    ],
)
def test_a_bad_file_is_refused_whole_with_the_reason(tmp_path, content, message):
    run("--year", "2027", "--load", str(_file(tmp_path, "2027-01-01,放假,元旦\n")))
    with pytest.raises(CommandError, match=message):
        run("--year", "2027", "--load", str(_file(tmp_path, content)))
    assert list(CalendarDay.objects.filter(day__year=2027).values_list("day", flat=True)) == [
        dt.date(2027, 1, 1)
    ]


def _file(tmp_path, content: str):
    path = tmp_path / "days.csv"
    path.write_text(content, encoding="utf-8")
    return path


def test_the_service_refuses_an_empty_year():
    from django.core.exceptions import ValidationError

    from fapiao.core import services

    with pytest.raises(ValidationError, match="没有 2026 年的任何日期"):
        services.calendar_year_set(year=2026, days=[])
    assert CalendarDay.objects.filter(day__year=2026).count() == 39


def test_listing_the_years_says_which_are_missing():
    out = run()
    assert "已录入的年份：2025、2026" in out
    for year in selectors.calendar_missing(today=timezone.localdate()):
        assert f"尚未录入 {year} 年的节假日安排" in out
    assert selectors.calendar_missing(today=dt.date(2026, 11, 30)) == []
    assert selectors.calendar_missing(today=dt.date(2026, 12, 1)) == [2027]
    assert selectors.calendar_missing(today=dt.date(2027, 3, 1)) == [2027]


def test_staff_are_reminded_of_a_missing_year_until_it_is_loaded(client, tmp_path):
    reviewer = User.objects.create_user(
        email="calendar-staff@example.com", password=testing.PASSWORD, staff_role=StaffRole.REVIEWER
    )
    client.force_login(reviewer)
    CalendarDay.objects.all().delete()
    year = timezone.localdate().year
    page = client.get("/accounts/staff/").content.decode()
    assert f'data-calendar-missing="{year}"' in page
    assert f'href="/accounts/staff/calendar/?year={year}"' in page  # where to enter it
    for missing in selectors.calendar_missing(today=timezone.localdate()):
        run("--year", str(missing), "--load", str(_file(tmp_path, f"{missing}-01-01,放假,元旦\n")))
    assert "data-calendar-missing" not in client.get("/accounts/staff/").content.decode()


def test_the_time_left_reads_in_either_language():
    from django.utils import translation

    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    with translation.override("en"):
        assert sla.remaining_label(now + dt.timedelta(hours=26), now) == "1 day 2 h left"
        assert sla.remaining_label(now + dt.timedelta(days=3), now) == "3 days 0 h left"
        assert sla.remaining_label(now - dt.timedelta(minutes=1), now) == "Overdue by 1 minute"
    assert sla.remaining_label(now - dt.timedelta(minutes=7), now) == "已超时 7 分钟"


# The staff page -----------------------------------------------------------------------------------


@pytest.fixture
def reviewer():
    return User.objects.create_user(
        email="calendar-reviewer@example.com",
        password=testing.PASSWORD,
        staff_role=StaffRole.REVIEWER,
    )


def _upload(client, year, content: bytes, name="2027.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        "/accounts/staff/calendar/",
        {"year": str(year), "file": SimpleUploadedFile(name, content, "text/csv")},
    )


def test_a_reviewer_enters_a_year_on_the_page_and_it_is_logged_with_their_name(client, reviewer):
    client.force_login(reviewer)
    page = client.get("/accounts/staff/calendar/?year=2026").content.decode()
    assert 'data-year="2026"' in page and 'data-day="2026-10-10" data-kind="workday"' in page
    response = _upload(client, 2027, "日期,类型,名称\n2027-01-01,放假,元旦\n".encode("gbk"))
    assert response.status_code == 302 and response["Location"].endswith("?year=2027")
    page = client.get(response["Location"]).content.decode()
    assert "已录入 2027 年节假日安排：1 天。" in page and 'data-day="2027-01-01"' in page
    event = Event.objects.get(code=EventCode.CALENDAR_UPDATED)
    assert event.actor == reviewer and event.details["year"] == 2027


def test_a_bad_upload_says_why_and_keeps_the_year(client, reviewer):
    client.force_login(reviewer)
    response = _upload(client, 2026, b"2026-02-30,\xe6\x94\xbe\xe5\x81\x87\n")
    assert response.status_code == 400
    assert "第 1 行“日期”列：不存在的日期“2026-02-30”" in response.content.decode()
    response = _upload(client, 2026, "2025-12-31,放假,元旦\n".encode())
    assert "2025-12-31 不在 2026 年" in response.content.decode()
    response = client.post("/accounts/staff/calendar/", {"year": "2026"})
    assert "请选择节假日安排的 CSV 文件" in response.content.decode()
    response = _upload(client, "明年", b"2027-01-01,\xe6\x94\xbe\xe5\x81\x87\n")
    assert "请填写 2000 至 2100 之间的年份" in response.content.decode()
    assert CalendarDay.objects.filter(day__year=2026).count() == 39
    assert not Event.objects.filter(code=EventCode.CALENDAR_UPDATED).exists()


def test_only_reviewers_reach_the_page(client, reviewer):
    support = User.objects.create_user(
        email="calendar-support@example.com",
        password=testing.PASSWORD,
        staff_role=StaffRole.SUPPORT,
    )
    member = testing.member(testing.organization())
    for user in (support, member):
        client.force_login(user)
        assert client.get("/accounts/staff/calendar/").status_code == 404
        assert _upload(client, 2027, b"2027-01-01,holiday\n").status_code == 404
    assert not CalendarDay.objects.filter(day__year=2027).exists()
    client.force_login(reviewer)
    home = client.get("/accounts/staff/").content.decode()
    assert 'href="/accounts/staff/calendar/"' in home
