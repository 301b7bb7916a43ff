"""Every aggregation against the figures worked out by hand from the book in conftest.py."""

import datetime
from decimal import Decimal

import pytest

from fapiao.stats.selectors import (
    Comparison,
    Direction,
    Figures,
    Period,
    StatsFilters,
    percent_change,
    stats_by_period,
    stats_by_rate,
    stats_by_status,
    stats_by_type,
    stats_comparison,
    stats_issued_vs_received,
    stats_summary,
    stats_top_parties,
    stats_years,
)

from .conftest import S1, S2, X, Y

pytestmark = pytest.mark.django_db

ISSUED_2025 = StatsFilters.for_year(2025, Direction.ISSUED)
RECEIVED_2025 = StatsFilters.for_year(2025, Direction.RECEIVED)
BOTH_2025 = StatsFilters.for_year(2025, Direction.BOTH)


def F(count=0, red=0, amount="0", tax="0", total="0") -> Figures:
    return Figures(count, red, Decimal(amount), Decimal(tax), Decimal(total))


def table(rows) -> list[tuple]:
    return [(row.key, row.label, row.figures) for row in rows]


def test_it_sums_the_year_without_voided_and_with_red_as_reductions(org):
    assert stats_summary(organization=org, filters=ISSUED_2025) == F(4, 1, "1400", "151", "1551")
    assert stats_summary(organization=org, filters=RECEIVED_2025) == F(2, 0, "450", "52.5", "502.5")
    assert stats_summary(organization=org, filters=BOTH_2025) == F(6, 1, "1850", "203.5", "2053.5")


def test_it_groups_by_month_and_fills_the_empty_months(org):
    rows = stats_by_period(organization=org, filters=ISSUED_2025, period=Period.MONTH)
    assert [row.key for row in rows] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert rows[0].label == "2025年1月"
    by_month = {row.key: row.figures for row in rows}
    assert by_month == {
        **{f"2025-{m:02d}": F() for m in range(1, 13)},
        "2025-01": F(1, 0, "200", "12", "212"),  # #2 on 1 January, not #1 on 31 December
        "2025-03": F(1, 0, "500", "65", "565"),  # #3 on 31 March
        "2025-04": F(0, 1, "-500", "-65", "-565"),  # the red #5 only: #4 is voided
        "2025-06": F(1, 0, "1100", "136", "1236"),
        "2025-12": F(1, 0, "100", "3", "103"),  # #6 on 31 December
    }


def test_it_groups_by_quarter_at_the_quarter_boundaries(org):
    rows = stats_by_period(organization=org, filters=ISSUED_2025, period=Period.QUARTER)
    assert table(rows) == [
        ("2025-Q1", "2025年第1季度", F(2, 0, "700", "77", "777")),
        ("2025-Q2", "2025年第2季度", F(1, 1, "600", "71", "671")),
        ("2025-Q3", "2025年第3季度", F()),
        ("2025-Q4", "2025年第4季度", F(1, 0, "100", "3", "103")),
    ]
    received = stats_by_period(organization=org, filters=RECEIVED_2025, period=Period.QUARTER)
    assert [row.figures for row in received] == [
        F(1, 0, "400", "52", "452"),
        F(),  # #9 is voided
        F(1, 0, "50", "0.5", "50.5"),  # #10 on 1 July
        F(),
    ]


def test_it_groups_by_year_over_the_whole_history(org):
    rows = stats_by_period(
        organization=org, filters=StatsFilters(direction=Direction.ISSUED), period=Period.YEAR
    )
    assert table(rows) == [
        ("2024", "2024年", F(1, 0, "1000", "130", "1130")),
        ("2025", "2025年", F(4, 1, "1400", "151", "1551")),
    ]


def test_a_date_range_crossing_the_year_end(org):
    filters = StatsFilters(datetime.date(2024, 12, 31), datetime.date(2025, 1, 1), Direction.BOTH)
    rows = stats_by_period(organization=org, filters=filters, period=Period.MONTH)
    assert table(rows) == [
        ("2024-12", "2024年12月", F(1, 0, "1000", "130", "1130")),
        ("2025-01", "2025年1月", F(1, 0, "200", "12", "212")),
    ]


def test_it_groups_by_invoice_type(org):
    rows = stats_by_type(organization=org, filters=ISSUED_2025)
    assert table(rows) == [
        ("31", "电子发票（增值税专用发票）", F(2, 0, "1300", "148", "1448")),
        ("32", "电子发票（普通发票）", F(2, 1, "100", "3", "103")),
    ]


def test_it_groups_by_tax_rate_from_the_lines(org):
    rows = stats_by_rate(organization=org, filters=ISSUED_2025)
    assert table(rows) == [
        ("0.03", "3%", F(1, 0, "100", "3", "103")),
        ("0.06", "6%", F(2, 0, "300", "18", "318")),  # #2 and #7's second line
        ("0.13", "13%", F(2, 1, "1000", "130", "1130")),  # #3, #7 and the red #5
    ]
    assert sum((row.figures.amount for row in rows), Decimal(0)) == Decimal("1400")


def test_invoices_without_lines_make_their_own_rate_row(org, book):
    book["invoices"][6].lines.all().delete()
    rows = stats_by_rate(organization=org, filters=ISSUED_2025)
    assert rows[-1].key == "no-lines" and rows[-1].label == "无明细"
    assert rows[-1].figures == F(1, 0, "100", "3", "103")
    assert [row.key for row in rows[:-1]] == ["0.06", "0.13"]


def test_exempt_lines_are_labelled_as_the_invoice_prints_them(org, book):
    line = book["invoices"][2].lines.get()
    line.rate, line.tax, line.exemption = Decimal("0"), Decimal("0"), "exempt"
    line.save()
    rows = stats_by_rate(organization=org, filters=ISSUED_2025)
    assert (rows[0].key, rows[0].label) == ("0-exempt", "免税")


def test_it_ranks_customers_and_suppliers_by_total(org):
    customers = stats_top_parties(
        organization=org, filters=BOTH_2025, side=Direction.ISSUED, limit=2
    )
    assert [(r.key, r.label, r.extra["tax_id"], r.figures) for r in customers.rows] == [
        (X[1], X[0], X[1], F(2, 0, "1300", "148", "1448")),
        ("", "未填纳税人识别号的购买方", "", F(1, 0, "100", "3", "103")),  # 张三, an individual
    ]
    assert customers.others == F(1, 1, "0", "0", "0")  # 客户Y: #3 and its red #5
    assert customers.all == F(4, 1, "1400", "151", "1551")
    suppliers = stats_top_parties(organization=org, filters=BOTH_2025, side=Direction.RECEIVED)
    assert [(r.label, r.figures) for r in suppliers.rows] == [
        (S1[0], F(1, 0, "400", "52", "452")),
        (S2[0], F(1, 0, "50", "0.5", "50.5")),
    ]
    assert suppliers.others == F()
    assert Y[0] not in {r.label for r in suppliers.rows}


def test_it_counts_by_status_with_voided_apart(org):
    rows = stats_by_status(organization=org, filters=ISSUED_2025)
    assert table(rows) == [
        ("0", "正常", F(3, 0, "1400", "151", "1551")),
        ("8", "全额红冲", F(1, 0, "500", "65", "565")),
        ("2", "作废", F(1, 0, "300", "18", "318")),
        ("red", "红字发票", F(0, 1, "-500", "-65", "-565")),
    ]


def test_it_sets_issued_beside_received(org):
    rows = stats_issued_vs_received(organization=org, filters=BOTH_2025, period=Period.QUARTER)
    assert [(r.key, r.issued, r.received) for r in rows] == [
        ("2025-Q1", F(2, 0, "700", "77", "777"), F(1, 0, "400", "52", "452")),
        ("2025-Q2", F(1, 1, "600", "71", "671"), F()),
        ("2025-Q3", F(), F(1, 0, "50", "0.5", "50.5")),
        ("2025-Q4", F(1, 0, "100", "3", "103"), F()),
    ]
    # The direction filter does not hide a side.
    only_issued = stats_issued_vs_received(
        organization=org, filters=ISSUED_2025, period=Period.QUARTER
    )
    assert only_issued == rows


def test_it_compares_a_month_with_the_last_and_the_same_month_last_year(org):
    december = stats_comparison(
        organization=org, direction=Direction.ISSUED, month=datetime.date(2025, 12, 15)
    )
    assert december == Comparison(
        datetime.date(2025, 12, 1),
        current=F(1, 0, "100", "3", "103"),
        previous=F(),
        last_year=F(1, 0, "1000", "130", "1130"),
    )
    assert december.previous_month == datetime.date(2025, 11, 1)
    assert december.last_year_month == datetime.date(2024, 12, 1)
    assert december.change(december.previous, "total") is None  # no base
    assert december.change(december.last_year, "total") == Decimal("-90.9")
    assert december.change(december.last_year, "count") == Decimal("0.0")

    april = stats_comparison(
        organization=org, direction=Direction.ISSUED, month=datetime.date(2025, 4, 1)
    )
    assert april.current == F(0, 1, "-500", "-65", "-565")
    assert april.previous == F(1, 0, "500", "65", "565")
    assert april.change(april.previous, "total") == Decimal("-200.0")

    both = stats_comparison(
        organization=org, direction=Direction.BOTH, month=datetime.date(2025, 1, 31)
    )
    assert both.current == F(2, 0, "600", "64", "664")  # #2 and the received #8
    assert both.previous == F(1, 0, "1000", "130", "1130")


def test_percent_change():
    assert percent_change(Decimal("150"), Decimal("100")) == Decimal("50.0")
    assert percent_change(Decimal("-50"), Decimal("-100")) == Decimal("50.0")
    assert percent_change(3, 0) is None
    assert percent_change(Decimal("1"), Decimal("3")) == Decimal("-66.7")


def test_the_year_selector_spans_the_history(org):
    assert stats_years(organization=org, today=datetime.date(2026, 2, 1)) == [2026, 2025, 2024]


@pytest.mark.parametrize("direction", list(Direction))
def test_another_organizations_invoices_never_count(book, direction):
    other = book["other"]
    filters = StatsFilters.for_year(2025, direction)
    totals = {
        Direction.ISSUED: F(2, 0, "17776", "1066.56", "18842.56"),
        Direction.RECEIVED: F(1, 0, "8888", "533.28", "9421.28"),
        Direction.BOTH: F(3, 0, "26664", "1599.84", "28263.84"),
    }
    assert stats_summary(organization=other, filters=filters) == totals[direction]
    months = stats_by_period(organization=other, filters=filters, period=Period.YEAR)
    assert [row.figures for row in months] == [totals[direction]]
    assert (
        sum((r.figures for r in stats_by_rate(organization=other, filters=filters)), F())
        == (totals[direction])
    )
    assert (
        sum((r.figures for r in stats_by_type(organization=other, filters=filters)), F())
        == (totals[direction])
    )
    parties = stats_top_parties(organization=other, filters=filters, side=Direction.ISSUED)
    assert {row.label for row in parties.rows} == {"乙的客户有限公司", "乙的另一客户有限公司"}
    assert stats_years(organization=other, today=datetime.date(2025, 5, 1)) == [2025]


def test_an_invoice_to_oneself_counts_once_as_issued(org):
    from fapiao import testing

    testing.invoice(seller=org, buyer=org, day=datetime.date(2025, 5, 5), amount="1000.00")
    issued = stats_summary(organization=org, filters=ISSUED_2025)
    received = stats_summary(organization=org, filters=RECEIVED_2025)
    both = stats_summary(organization=org, filters=BOTH_2025)
    assert issued == F(5, 1, "2400", "211", "2611")
    assert received == F(2, 0, "450", "52.5", "502.5")  # unchanged
    assert both == issued + received


@pytest.mark.parametrize("period", list(Period))
def test_both_directions_are_the_sum_of_each(org, period):
    def rows(direction):
        filters = StatsFilters(direction=direction)
        return {r.key: r.figures for r in stats_by_period(
            organization=org, filters=filters, period=period)}  # fmt: skip

    issued, received, both = (rows(d) for d in Direction)
    assert both == {k: issued.get(k, F()) + received.get(k, F()) for k in both}
    assert set(both) == set(issued) | set(received) | set(both)
