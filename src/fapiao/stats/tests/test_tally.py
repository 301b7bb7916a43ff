"""The tally (one grouped query a side) and what the statistics derive from it, against the book
in conftest.py; these run on SQLite and on PostgreSQL, each with its own month SQL."""

import datetime
from decimal import Decimal

import pytest

from fapiao import testing
from fapiao.invoices.models import InvoiceStatus
from fapiao.stats.report import Selection, stats_report
from fapiao.stats.selectors import (
    Bucket,
    Direction,
    Figures,
    Period,
    PeriodFigures,
    StatsFilters,
    Tally,
    _sum,
    stats_by_period,
    stats_by_status,
    stats_by_type,
    stats_comparison,
    stats_summary,
    stats_tallies,
    stats_tally,
    summary_of,
)
from fapiao.stats.views import PAGE_VIEWS

from .conftest import X

pytestmark = pytest.mark.django_db

d = datetime.date
ISSUED_2025 = StatsFilters.for_year(2025, Direction.ISSUED)
BOTH_2025 = StatsFilters.for_year(2025, Direction.BOTH)
DECEMBER = d(2025, 12, 1)  # the month the comparison is about, unless a test says otherwise
NORMAL, VOIDED, FULLY_RED = InvoiceStatus.NORMAL, InvoiceStatus.VOIDED, InvoiceStatus.FULLY_RED


def F(count=0, red=0, amount="0", tax="0", total="0") -> Figures:
    return Figures(count, red, Decimal(amount), Decimal(tax), Decimal(total))


def test_a_tally_sums_each_month_type_status_and_red(org):
    tally = stats_tally(
        organization=org, side=Direction.ISSUED, date_from=d(2025, 1, 1), date_to=d(2025, 12, 31)
    )
    assert tally.buckets == {
        Bucket(d(2025, 1, 1), "31", NORMAL, False): F(1, 0, "200", "12", "212"),
        Bucket(d(2025, 3, 1), "32", FULLY_RED, False): F(1, 0, "500", "65", "565"),
        Bucket(d(2025, 4, 1), "32", VOIDED, False): F(1, 0, "300", "18", "318"),  # kept, for 作废
        Bucket(d(2025, 4, 1), "32", NORMAL, True): F(0, 1, "-500", "-65", "-565"),
        Bucket(d(2025, 6, 1), "31", NORMAL, False): F(1, 0, "1100", "136", "1236"),
        Bucket(d(2025, 12, 1), "32", NORMAL, False): F(1, 0, "100", "3", "103"),
    }
    without_types = stats_tally(organization=org, side=Direction.ISSUED, types=False)
    assert without_types.buckets[Bucket(d(2024, 12, 1), None, NORMAL, False)] == F(
        1, 0, "1000", "130", "1130"
    )
    assert {b.type_code for b in without_types.buckets} == {None}


def test_the_database_puts_each_day_in_its_month(org):
    """The month is cut in SQL (SQLite: the date's text; PostgreSQL: to_char): the last and
    first days of months, of a leap February and of years."""
    days = [d(2024, 2, 28), d(2024, 2, 29), d(2024, 3, 1), d(2023, 12, 31), d(2024, 1, 1)]
    for n, day in enumerate(days, start=1):
        testing.invoice(seller=org, day=day, amount=f"{n}.00", rate="0")
    tally = stats_tally(
        organization=org, side=Direction.ISSUED, date_from=d(2023, 12, 1), date_to=d(2024, 3, 31)
    )
    amounts = {bucket.month: figures.amount for bucket, figures in tally.buckets.items()}
    assert amounts == {
        d(2023, 12, 1): Decimal("4.00"),
        d(2024, 1, 1): Decimal("5.00"),
        d(2024, 2, 1): Decimal("3.00"),
        d(2024, 3, 1): Decimal("3.00"),
    }


def test_quarters_and_years_are_the_sums_of_their_months(org):
    filters = StatsFilters(direction=Direction.BOTH)
    for types in (True, False):
        tallies = stats_tallies(organization=org, filters=filters, sides=filters.sides, types=types)
        months = PeriodFigures.of(tallies, filters, Period.MONTH, filters.sides).rows(
            Direction.BOTH
        )
        for period in (Period.QUARTER, Period.YEAR):
            rows = PeriodFigures.of(tallies, filters, period, filters.sides).rows(Direction.BOTH)
            for row in rows:
                within = [m.figures for m in months if _in(m.key, row.key)]
                assert row.figures == sum(within, Figures()), (types, row.key)
            assert rows == stats_by_period(organization=org, filters=filters, period=period)
    assert [r.key for r in rows] == ["2024", "2025"]


def _in(month_key: str, period_key: str) -> bool:
    """Whether the month "2025-04" lies in "2025-Q2" or "2025"."""
    year, month = month_key.split("-")
    if "-Q" in period_key:
        return period_key == f"{year}-Q{(int(month) - 1) // 3 + 1}"
    return period_key == year


def test_a_tally_serves_whole_months_or_its_own_ends():
    def tally(date_from, date_to):
        return Tally(Direction.ISSUED, date_from, date_to, True, {})

    year = tally(d(2025, 1, 1), d(2025, 12, 31))
    assert year.serves(d(2025, 1, 1), d(2025, 12, 31))
    assert year.serves(d(2025, 4, 1), d(2025, 6, 30))
    assert not year.serves(d(2025, 4, 2), d(2025, 6, 30))  # April was read from the 1st
    assert not year.serves(d(2025, 4, 1), d(2025, 6, 29))
    assert not year.serves(d(2024, 12, 1), d(2025, 1, 31))  # December 2024 was not read
    assert not year.serves(None, d(2025, 1, 31))
    odd = tally(d(2025, 1, 15), d(2025, 3, 10))
    assert odd.serves(d(2025, 1, 15), d(2025, 3, 10))
    assert odd.serves(d(2025, 2, 1), d(2025, 2, 28))
    assert not odd.serves(d(2025, 1, 1), d(2025, 1, 31))
    every = tally(None, None)
    assert every.serves(None, None) and every.serves(d(2025, 1, 1), d(2025, 12, 31))
    assert not every.serves(d(2025, 1, 15), None)
    with pytest.raises(ValueError, match="whole months"):
        list(every.within(StatsFilters(d(2025, 1, 15), None)))


def test_sums_come_back_to_the_fen_whatever_the_database_hands():
    assert _sum(196310054.8799990) == Decimal("196310054.88")  # SQLite's floating point
    assert _sum(-565) == Decimal("-565.00")  # SQLite's whole numbers
    assert _sum(Decimal("0.5")) == Decimal("0.50")  # PostgreSQL's numeric
    assert _sum(None) == Decimal("0.00")


def test_a_voided_red_invoice_counts_nowhere(org, book):
    before = stats_report(organization=org, selection=_selection(BOTH_2025))
    testing.invoice(seller=org, buyer_name=X[0], buyer_tax_id=X[1], day=d(2025, 6, 1),
                    amount="-1100.00", rate="0.13", is_red=True, status=VOIDED,
                    original=book["invoices"][7])  # fmt: skip
    after = stats_report(organization=org, selection=_selection(BOTH_2025))
    assert after.summary == before.summary == F(6, 1, "1850", "203.5", "2053.5")
    for key in ("month", "quarter", "year", "sides", "type", "rate", "status", "customers"):
        assert after.tables[key] == before.tables[key], key
    status = stats_by_status(organization=org, filters=ISSUED_2025)
    assert [(r.key, r.figures) for r in status][-2:] == [
        ("2", F(1, 0, "300", "18", "318")),  # the voided blue #4 alone
        ("red", F(0, 1, "-500", "-65", "-565")),  # the red #5 alone
    ]


def test_an_organization_without_invoices(db):
    empty = testing.organization()
    report = stats_report(organization=empty, selection=_selection(BOTH_2025))
    assert report.summary == Figures()
    month = report.tables["month"]
    assert len(month.rows) == 12 and month.footer == ["合计", 0, 0, *[Decimal("0.00")] * 3]
    assert report.tables["year"].rows == [] and report.tables["year"].footer is None
    for key in ("type", "rate", "status", "customers", "suppliers"):
        assert report.tables[key].rows == [], key
    comparison = report.tables["comparison"]
    assert [(row[1], row[2], row[4]) for row in comparison.rows] == [(0, 0, 0)] * 5
    assert stats_tally(organization=empty, side=Direction.RECEIVED).buckets == {}


@pytest.mark.parametrize("period", list(Period))
def test_the_page_folds_its_aggregates_into_a_few_queries(
    org, period, django_assert_max_num_queries
):
    """A tally a side (and, for every year, one without types), the rates a side, the parties'
    ranking and names a side, and last year's month a side for the comparison."""
    selection = _selection(BOTH_2025, period)
    with django_assert_max_num_queries(10):
        report = stats_report(
            organization=org, selection=selection, views={str(period), *PAGE_VIEWS}
        )
    filters = selection.year_view_filters() if period == Period.YEAR else BOTH_2025
    rows = stats_by_period(organization=org, filters=filters, period=period)
    assert report.tables[str(period)].rows[0][1:] == _cells(rows[0].figures)
    assert report.summary == stats_summary(organization=org, filters=BOTH_2025)
    types = stats_by_type(organization=org, filters=BOTH_2025)
    assert [row[1] for row in report.tables["type"].rows] == [row.key for row in types]


def _cells(figures: Figures) -> list:
    return [figures.count, figures.red_count, figures.amount, figures.tax, figures.total]


def test_the_comparison_reads_only_the_months_the_tallies_lack(org, django_assert_num_queries):
    filters = StatsFilters(direction=Direction.ISSUED)
    tallies = stats_tallies(organization=org, filters=filters)
    december = d(2025, 12, 1)
    with django_assert_num_queries(0):
        held = stats_comparison(
            organization=org, direction=Direction.ISSUED, month=december, tallies=tallies
        )
    assert held == stats_comparison(organization=org, direction=Direction.ISSUED, month=december)
    year = stats_tallies(organization=org, filters=ISSUED_2025)
    with django_assert_num_queries(1):  # December 2024, before the year read
        assert held == stats_comparison(
            organization=org, direction=Direction.ISSUED, month=december, tallies=year
        )


def test_a_range_cut_within_months(org):
    """A range that starts and ends within a month: its tally reads just those days, and the
    comparison's months, which it holds only in part, are read whole."""
    filters = StatsFilters(d(2024, 12, 31), d(2025, 4, 1), Direction.ISSUED)
    selection = _selection(filters, month=d(2025, 4, 1), year=None)
    report = stats_report(organization=org, selection=selection)
    month = {row[0]: row[1:] for row in report.tables["month"].rows}
    assert month["2024年12月"] == _cells(F(1, 0, "1000", "130", "1130"))
    assert month["2025年4月"] == _cells(F(0, 1, "-500", "-65", "-565"))
    assert report.summary == F(3, 1, "1200", "142", "1342")
    april = stats_comparison(organization=org, direction=Direction.ISSUED, month=d(2025, 4, 1))
    assert report.tables["comparison"].rows[4][1:3] == [april.current.total, april.previous.total]
    tallies = stats_tallies(organization=org, filters=filters)
    assert summary_of(tallies, filters) == report.summary


def _selection(
    filters: StatsFilters,
    period: Period = Period.MONTH,
    month: datetime.date = DECEMBER,
    year: int | None = 2025,
) -> Selection:
    return Selection(filters, period, month, year)
