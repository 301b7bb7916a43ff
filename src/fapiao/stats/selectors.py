"""统计: an organization's invoices summed in the database, by period, type, rate, party and status.

The counting rules are the dashboard's (fapiao.invoices.selectors.dashboard_summary): voided
invoices (作废) never count; red invoices (红字, negative amounts) count in the money columns as the
reductions they are; an invoice count counts blue invoices, and red ones are counted apart.
Only the status view shows voided invoices, since saying how many there are is its point.

Each side is queried on its own: 开具 (the organization sells) and 取得 (it buys), and "both" is
their sum. One side's query reads one index range (seller or buyer organization, then date), and
with the covering indexes the stats want it reads nothing else; an OR of the two would read the
table rows. An invoice an organization made out to itself counts once, as 开具.

Every query groups in the database and returns one row per group; Python only adds up the few
rows that come back and fills the periods that have no invoice. Most figures come from one query
a side, the tally (stats_tally): its rows are month × type × status × red, a few hundred a year,
and the periods, types, statuses, totals and the comparison's months are sums of them (Decimal
sums of amounts already to the fen, so the same as summing the invoices). The rates (from the
lines) and the parties' ranking have queries of their own.
"""

import datetime
import decimal
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from django.db import connections
from django.db.models import Count, F, Max, Q, QuerySet, Sum

from fapiao.accounts.models import Organization
from fapiao.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from fapiao.invoices.selectors import ZERO, _add_months
from fapiao.rules import tax, types

CENT = Decimal("0.01")


class Direction(StrEnum):
    ISSUED = "issued"  # 开具: the organization is the seller
    RECEIVED = "received"  # 取得: the organization is the buyer
    BOTH = "both"


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True)
class StatsFilters:
    """Which invoices: issue dates from `date_from` to `date_to` inclusive (open when None)."""

    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    direction: Direction = Direction.BOTH

    @classmethod
    def for_year(cls, year: int, direction: Direction = Direction.BOTH) -> "StatsFilters":
        return cls(datetime.date(year, 1, 1), datetime.date(year, 12, 31), direction)

    def with_direction(self, direction: Direction) -> "StatsFilters":
        return StatsFilters(self.date_from, self.date_to, direction)

    @property
    def sides(self) -> list[Direction]:
        if self.direction == Direction.BOTH:
            return [Direction.ISSUED, Direction.RECEIVED]
        return [self.direction]


@dataclass(frozen=True)
class Figures:
    count: int = 0  # blue invoices
    red_count: int = 0
    amount: Decimal = ZERO  # excluding tax, red invoices deducted
    tax: Decimal = ZERO
    total: Decimal = ZERO

    @classmethod
    def of(cls, row: dict) -> "Figures":
        return cls(
            count=row["count"] or 0,
            red_count=row["red_count"] or 0,
            amount=_money(row["amount"]),
            tax=_money(row["tax"]),
            total=_money(row["total"]),
        )

    def __add__(self, other: "Figures") -> "Figures":
        return Figures(
            self.count + other.count,
            self.red_count + other.red_count,
            self.amount + other.amount,
            self.tax + other.tax,
            self.total + other.total,
        )

    def __sub__(self, other: "Figures") -> "Figures":
        return Figures(
            self.count - other.count,
            self.red_count - other.red_count,
            self.amount - other.amount,
            self.tax - other.tax,
            self.total - other.total,
        )

    @property
    def empty(self) -> bool:
        return not (self.count or self.red_count or self.amount or self.tax or self.total)


def _money(value: Decimal | None) -> Decimal:
    # SQLite sums decimals as floating point and Django hands back 15 significant digits of it
    # (196310054.8799990): to the fen, as stored.
    return ZERO if value is None else value.quantize(CENT)


def total_of(figures: Iterable[Figures]) -> Figures:
    return sum(figures, Figures())


@dataclass(frozen=True)
class Row:
    key: str  # stable: "2025-03", "2025-Q1", "2025", a type code, "0.13", a tax id...
    label: str  # as people read it: 2025年3月, 数电专票, 13%, a company name
    figures: Figures
    extra: dict = field(default_factory=dict)  # e.g. a party's tax id


def percent_change(current: Decimal | int, base: Decimal | int) -> Decimal | None:
    """The change from `base` to `current` in percent, to one place; None without a base."""
    if not base:
        return None
    return (Decimal(current - base) / abs(Decimal(base)) * 100).quantize(Decimal("0.1"))


# --- the invoices counted ---------------------------------------------------------------------


def _scope(
    organization: Organization,
    filters: StatsFilters,
    side: Direction,
    *,
    prefix: str = "",
    voided: bool = False,
) -> Q:
    """The condition for one side's invoices within the filters' dates; `prefix` reaches the
    invoice from a related model ("invoice__" from its lines)."""
    if side == Direction.ISSUED:
        condition = Q(**{f"{prefix}seller_org": organization})
    else:
        assert side == Direction.RECEIVED
        condition = Q(**{f"{prefix}buyer_org": organization}) & ~Q(
            **{f"{prefix}seller_org": organization}
        )
    if filters.date_from:
        condition &= Q(**{f"{prefix}issue_date__gte": filters.date_from})
    if filters.date_to:
        condition &= Q(**{f"{prefix}issue_date__lte": filters.date_to})
    if not voided:
        condition &= ~Q(**{f"{prefix}status": InvoiceStatus.VOIDED})
    return condition


def _invoices(
    organization: Organization, filters: StatsFilters, side: Direction, **kwargs
) -> QuerySet[Invoice]:
    return Invoice.objects.filter(_scope(organization, filters, side, **kwargs)).order_by()


# Counting a column that is never null counts rows; is_red, not id, so that PostgreSQL can answer
# from the covering index alone (Django allows no COUNT(*) with a filter).
FIGURES = {
    "count": Count("is_red", filter=Q(is_red=False)),
    "red_count": Count("is_red", filter=Q(is_red=True)),
    "amount": Sum("amount"),
    "tax": Sum("tax"),
    "total": Sum("total"),
}


def _merged(per_side: Iterable[dict]) -> dict:
    """{key: Figures} of each side added up, key by key."""
    merged: dict = {}
    for rows in per_side:
        for key, figures in rows.items():
            merged[key] = merged.get(key, Figures()) + figures
    return merged


# --- one pass per side: the tally -----------------------------------------------------------


class Bucket(NamedTuple):
    month: datetime.date  # its first day
    type_code: str | None  # None in a tally without types
    status: int
    is_red: bool


def _month_end(day: datetime.date) -> datetime.date:
    return _add_months(day, 1) - datetime.timedelta(days=1)


@dataclass(frozen=True)
class Tally:
    """One side's invoices with issue dates from `date_from` to `date_to` (open when None),
    voided ones included, summed per month, type, status and red. Every figure of the statistics
    but the rates' and the parties' is a sum of these buckets: a period's, a type's, a status's,
    a month of the comparison, a side's whole."""

    side: Direction
    date_from: datetime.date | None
    date_to: datetime.date | None
    types: bool  # False: summed per month, status and red only
    buckets: dict[Bucket, Figures]

    def covers(self, date_from: datetime.date | None, date_to: datetime.date | None) -> bool:
        """Whether every invoice from `date_from` to `date_to` was read."""
        return (
            self.date_from is None or (date_from is not None and self.date_from <= date_from)
        ) and (self.date_to is None or (date_to is not None and date_to <= self.date_to))

    def serves(self, date_from: datetime.date | None, date_to: datetime.date | None) -> bool:
        """Whether the figures from `date_from` to `date_to` are sums of whole buckets: they were
        read, and a month the range takes only part of was read no further than the range."""
        return (
            self.covers(date_from, date_to)
            and (date_from is None or date_from.day == 1 or date_from == self.date_from)
            and (date_to is None or date_to == _month_end(date_to) or date_to == self.date_to)
        )

    def within(self, filters: StatsFilters) -> Iterator[tuple[Bucket, Figures]]:
        """The buckets of the months of the filters' dates."""
        if not self.serves(filters.date_from, filters.date_to):
            raise ValueError(
                f"the {self.side} tally from {self.date_from} to {self.date_to} does not hold "
                f"{filters.date_from} to {filters.date_to} in whole months"
            )
        first = filters.date_from.replace(day=1) if filters.date_from else None
        last = filters.date_to.replace(day=1) if filters.date_to else None
        for bucket, figures in self.buckets.items():
            if (first is None or bucket.month >= first) and (last is None or bucket.month <= last):
                yield bucket, figures


Tallies = Mapping[Direction, Tally]

# The month of the inner query's day, as YYYY-MM, in each database's SQL: SQLite keeps a date as
# its ISO text.
_MONTH_OF_DAY = {
    "sqlite": 'substr("issue_date", 1, 7)',
    "postgresql": """to_char("issue_date", 'YYYY-MM')""",
}
# SQLite sums decimals as floating point; read as Django reads them, to 15 significant digits.
_FLOAT = decimal.Context(prec=15)


def _sum(value) -> Decimal:
    if isinstance(value, float | int):
        value = _FLOAT.create_decimal_from_float(value)
    return _money(value)


def stats_tally(
    *,
    organization: Organization,
    side: Direction,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    types: bool = True,
) -> Tally:
    """One side's buckets in one query, grouped twice: by day, status, red (and type) first, the
    order of the side's statistics index, so that the database adds up as it reads instead of
    sorting every invoice (which SQLite does for any other grouping); then those few rows a day
    by month. Without `types` the first grouping has a few times fewer rows to hand on: the
    years 按年 lists need no more."""
    keys = ["issue_date", "status", "is_red", *(["type_code"] if types else [])]
    days = (
        _invoices(organization, StatsFilters(date_from, date_to), side, voided=True)
        .values(*keys)
        .annotate(n=Count("is_red"), amount=Sum("amount"), tax=Sum("tax"), total=Sum("total"))
    )
    inner, params = days.query.sql_with_params()
    connection = connections[days.db]
    sql = (
        f"SELECT {_MONTH_OF_DAY[connection.vendor]}, "  # noqa: S608  (the ORM's query, its values as parameters)
        f'"status", "is_red", {'"type_code"' if types else "NULL"}, '
        f'SUM("n"), SUM("amount"), SUM("tax"), SUM("total") FROM ({inner}) AS "days" '
        f"GROUP BY {', '.join(str(n) for n in range(1, len(keys) + 1))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    buckets = {}
    for month, status, red, type_code, n, *money in rows:
        n, red = int(n), bool(red)  # PostgreSQL sums counts as numeric; SQLite has no booleans
        start = datetime.date(int(month[:4]), int(month[5:7]), 1)
        amount, tax_, total = (_sum(value) for value in money)
        buckets[Bucket(start, type_code, status, red)] = Figures(
            0 if red else n, n if red else 0, amount, tax_, total
        )
    return Tally(side, date_from, date_to, types, buckets)


def stats_tallies(
    *,
    organization: Organization,
    filters: StatsFilters,
    sides: Iterable[Direction] | None = None,
    types: bool = True,
) -> dict[Direction, Tally]:
    """A tally of each of `sides` (the filters' by default) over the filters' dates."""
    return {
        side: stats_tally(
            organization=organization,
            side=side,
            date_from=filters.date_from,
            date_to=filters.date_to,
            types=types,
        )
        for side in (filters.sides if sides is None else sides)
    }


def _summed(
    tallies: Tallies,
    filters: StatsFilters,
    key: Callable[[Bucket], Hashable],
    *,
    sides: Iterable[Direction] | None = None,
    voided: bool = False,
) -> dict:
    """{key(bucket): Figures} of the buckets within the filters, of the filters' sides (or
    `sides`), voided invoices left out unless `voided`."""
    sums: dict = {}
    for side in filters.sides if sides is None else sides:
        for bucket, figures in tallies[side].within(filters):
            if bucket.status == InvoiceStatus.VOIDED and not voided:
                continue
            k = key(bucket)
            sums[k] = sums[k] + figures if k in sums else figures
    return sums


def summary_of(tallies: Tallies, filters: StatsFilters) -> Figures:
    return _summed(tallies, filters, lambda bucket: None).get(None, Figures())


def stats_summary(*, organization: Organization, filters: StatsFilters) -> Figures:
    """The filters' invoices added up: an aggregate a side, without the tally's grouping."""
    return total_of(
        Figures.of(_invoices(organization, filters, side).aggregate(**FIGURES))
        for side in filters.sides
    )


# --- by period --------------------------------------------------------------------------------

_STEP = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}


def period_start(day: datetime.date, period: Period) -> datetime.date:
    month = {Period.MONTH: day.month, Period.QUARTER: (day.month - 1) // 3 * 3 + 1}.get(period, 1)
    return datetime.date(day.year, month, 1)


def period_key(start: datetime.date, period: Period) -> str:
    if period == Period.MONTH:
        return f"{start.year}-{start.month:02d}"
    if period == Period.QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def period_label(start: datetime.date, period: Period) -> str:
    if period == Period.MONTH:
        return f"{start.year}年{start.month}月"
    if period == Period.QUARTER:
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    return f"{start.year}年"


@dataclass(frozen=True)
class PeriodFigures:
    """Each side's figures per period (by the period's first day), and the periods they span."""

    period: Period
    filters: StatsFilters
    sides: dict[Direction, dict[datetime.date, Figures]]

    @classmethod
    def of(
        cls, tallies: Tallies, filters: StatsFilters, period: Period, sides: Iterable[Direction]
    ) -> "PeriodFigures":
        """A quarter or a year is the sum of its months."""

        def start(bucket: Bucket) -> datetime.date:
            return period_start(bucket.month, period)

        return cls(
            period,
            filters,
            {side: _summed(tallies, filters, start, sides=[side]) for side in sides},
        )

    def starts(self) -> list[datetime.date]:
        """Every period of the filter's range, or (for an open range) from the first period
        with invoices to the last, whichever side they are on."""
        found = [start for rows in self.sides.values() for start in rows]
        first = self.filters.date_from or min(found, default=None)
        last = self.filters.date_to or max(found, default=None)
        if first is None or last is None:
            return []
        start, stop = period_start(first, self.period), period_start(last, self.period)
        starts = []
        while start <= stop:
            starts.append(start)
            start = _add_months(start, _STEP[self.period])
        return starts

    def rows(self, direction: Direction) -> list[Row]:
        """One row per period for `direction` (BOTH: the sides added up)."""
        sides = (
            [Direction.ISSUED, Direction.RECEIVED] if direction == Direction.BOTH else [direction]
        )
        merged = _merged(self.sides[side] for side in sides)
        return [
            Row(
                period_key(start, self.period),
                period_label(start, self.period),
                merged.get(start, Figures()),
            )
            for start in self.starts()
        ]


def stats_period_figures(
    *,
    organization: Organization,
    filters: StatsFilters,
    period: Period,
    sides: list[Direction],
    tallies: Tallies | None = None,
) -> PeriodFigures:
    """Each of `sides` by month, quarter or year, from `tallies` or a new tally a side."""
    if tallies is None:
        tallies = stats_tallies(organization=organization, filters=filters, sides=sides)
    return PeriodFigures.of(tallies, filters, period, sides)


def stats_by_period(
    *, organization: Organization, filters: StatsFilters, period: Period
) -> list[Row]:
    """One row per month, quarter or year of the range, periods without invoices included."""
    figures = stats_period_figures(
        organization=organization, filters=filters, period=period, sides=filters.sides
    )
    return figures.rows(filters.direction)


@dataclass(frozen=True)
class SidesRow:
    key: str
    label: str
    issued: Figures
    received: Figures


def sides_rows(figures: PeriodFigures) -> list[SidesRow]:
    issued, received = figures.rows(Direction.ISSUED), figures.rows(Direction.RECEIVED)
    return [
        SidesRow(a.key, a.label, a.figures, b.figures)
        for a, b in zip(issued, received, strict=True)
    ]


def stats_issued_vs_received(
    *, organization: Organization, filters: StatsFilters, period: Period
) -> list[SidesRow]:
    """开具 and 取得 side by side per period, whatever direction the filter names."""
    both = [Direction.ISSUED, Direction.RECEIVED]
    return sides_rows(
        stats_period_figures(organization=organization, filters=filters, period=period, sides=both)
    )


@dataclass(frozen=True)
class Comparison:
    """One month against the month before (环比) and the same month a year earlier (同比)."""

    month: datetime.date
    current: Figures
    previous: Figures
    last_year: Figures

    @property
    def previous_month(self) -> datetime.date:
        return _add_months(self.month, -1)

    @property
    def last_year_month(self) -> datetime.date:
        return _add_months(self.month, -12)

    def change(self, base: Figures, metric: str) -> Decimal | None:
        return percent_change(getattr(self.current, metric), getattr(base, metric))


def stats_comparison(
    *,
    organization: Organization,
    direction: Direction,
    month: datetime.date,
    tallies: Tallies | None = None,
) -> Comparison:
    """This month (to date) against last month and the same month last year. A month that
    `tallies` hold whole is added up from them; any other is an aggregate a side, each reading
    one short index range (an OR of the three ranges leads PostgreSQL to read every invoice the
    organization bought)."""
    month = month.replace(day=1)
    figures = []
    for start in (month, _add_months(month, -1), _add_months(month, -12)):
        within = StatsFilters(start, _month_end(start), direction)
        if tallies is not None and all(
            side in tallies and tallies[side].serves(within.date_from, within.date_to)
            for side in within.sides
        ):
            figures.append(summary_of(tallies, within))
        else:
            figures.append(stats_summary(organization=organization, filters=within))
    return Comparison(month, *figures)


# --- by type, rate, status --------------------------------------------------------------------


def type_label(code: str) -> str:
    return types.name(types.Channel.QR, code) or code


def stats_by_type(
    *, organization: Organization, filters: StatsFilters, tallies: Tallies | None = None
) -> list[Row]:
    """One row per invoice type (发票类型代码), the largest total first."""
    if tallies is None:
        tallies = stats_tallies(organization=organization, filters=filters)
    assert all(tallies[side].types for side in filters.sides)
    merged = _summed(tallies, filters, lambda bucket: bucket.type_code)
    ordered = sorted(merged.items(), key=lambda item: (-item[1].total, item[0]))
    return [Row(code, type_label(code), figures) for code, figures in ordered]


def rate_label(rate: Decimal, exemption: str) -> str:
    try:
        treatment = tax.TaxExemption(exemption or tax.TaxExemption.NONE)
    except ValueError:
        treatment = tax.TaxExemption.NONE
    return tax.rate_label(rate, treatment)


LINE_FIGURES = {
    "count": Count("invoice", distinct=True, filter=Q(invoice__is_red=False)),
    "red_count": Count("invoice", distinct=True, filter=Q(invoice__is_red=True)),
    "amount": Sum("amount"),
    "tax": Sum("tax"),
}


def _line_figures(row: dict) -> Figures:
    # A line's total is its amount and its tax.
    return Figures.of({**row, "total": (row["amount"] or ZERO) + (row["tax"] or ZERO)})


def stats_by_rate(
    *, organization: Organization, filters: StatsFilters, summary: Figures | None = None
) -> list[Row]:
    """One row per tax rate (and 免税/不征税), summed from the invoice lines; the count is of the
    invoices with a line at that rate, so an invoice of two rates counts under both. Invoices
    stored without lines (some imports) make a last row, so that the rows add up to the total.
    `summary` is stats_summary() for the same filters, when the caller has it already."""
    merged = _merged(
        {
            (row["rate"], row["exemption"]): _line_figures(row)
            for row in InvoiceLine.objects.filter(
                _scope(organization, filters, side, prefix="invoice__")
            )
            .order_by()
            .values("rate", "exemption")
            .annotate(**LINE_FIGURES)
        }
        for side in filters.sides
    )
    rows = [
        Row(
            f"{rate.normalize():f}" + (f"-{exemption}" if exemption else ""),
            rate_label(rate, exemption),
            figures,
        )
        for (rate, exemption), figures in sorted(merged.items())
    ]
    # Lines add up to their invoice, so money left over means invoices without lines: only
    # then are those looked for (with their counts).
    if summary is None:
        summary = stats_summary(organization=organization, filters=filters)
    lines = total_of(row.figures for row in rows)
    if (summary.amount, summary.tax) != (lines.amount, lines.tax):
        without = total_of(
            Figures.of(
                _invoices(organization, filters, side)
                .filter(lines__isnull=True)
                .aggregate(**FIGURES)
            )
            for side in filters.sides
        )
        if not without.empty:
            rows.append(Row("no-lines", "无明细", without))
    return rows


BLUE_STATUSES = [s for s in InvoiceStatus if s != InvoiceStatus.VOIDED] + [InvoiceStatus.VOIDED]


def stats_by_status(
    *, organization: Organization, filters: StatsFilters, tallies: Tallies | None = None
) -> list[Row]:
    """Blue invoices per status, 作废 included (and counted nowhere else), then red invoices
    (voided ones left out, as everywhere)."""
    if tallies is None:
        tallies = stats_tallies(organization=organization, filters=filters)
    merged = _summed(tallies, filters, lambda bucket: (bucket.status, bucket.is_red), voided=True)
    rows = [
        Row(str(status.value), str(status.label), merged[(status, False)])
        for status in BLUE_STATUSES
        if (status, False) in merged
    ]
    red = total_of(
        figures
        for (status, is_red), figures in merged.items()
        if is_red and status != InvoiceStatus.VOIDED
    )
    if not red.empty:
        rows.append(Row("red", "红字发票", red))
    return rows


# --- by party ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parties:
    side: Direction  # ISSUED: customers (购买方), RECEIVED: suppliers (销售方)
    rows: list[Row]  # the top N, the largest total first
    others: Figures  # everyone else together
    all: Figures  # the side's whole


TOP_N = 10


NO_TAX_ID = {
    Direction.ISSUED: "未填纳税人识别号的购买方",
    Direction.RECEIVED: "未填纳税人识别号的销售方",
}


def stats_top_parties(
    *,
    organization: Organization,
    filters: StatsFilters,
    side: Direction,
    limit: int = TOP_N,
    whole: Figures | None = None,
) -> Parties:
    """The top `limit` buyers of the organization's issued invoices (side ISSUED), or sellers of
    its received ones (RECEIVED), by 价税合计. A party is its tax id, shown under the greatest of
    the names it was invoiced under; invoices without the party's tax id (individuals, mostly)
    make one party. `whole` is the side's stats_summary(), when the caller has it already.

    Two queries: the ranking groups by the tax id alone (a plain column: PostgreSQL hashes a few
    thousand parties instead of sorting every invoice by an expression, and with the covering
    index neither database reads the table), then the names of the few parties ranked."""
    party = "buyer" if side == Direction.ISSUED else "seller"
    invoices = _invoices(organization, filters, side)
    ranked = list(
        invoices.values(tax_id=F(f"{party}_tax_id"))
        .annotate(**FIGURES)
        .order_by("-total", "tax_id")[:limit]
    )
    names = dict(
        invoices.filter(**{f"{party}_tax_id__in": [row["tax_id"] for row in ranked]})
        .values_list(f"{party}_tax_id")
        .annotate(Max(f"{party}_name"))
    )
    top = [
        Row(
            row["tax_id"],
            names[row["tax_id"]] if row["tax_id"] else NO_TAX_ID[side],
            Figures.of(row),
            {"tax_id": row["tax_id"]},
        )
        for row in ranked
    ]
    if whole is None:
        whole = stats_summary(organization=organization, filters=filters.with_direction(side))
    return Parties(side, top, whole - total_of(row.figures for row in top), whole)


# --- for the year selector --------------------------------------------------------------------


def stats_years(*, organization: Organization, today: datetime.date) -> list[int]:
    """The years from the organization's first invoice to its last (and this year), newest
    first: four index lookups."""
    days = [today]
    for side in ("seller_org", "buyer_org"):
        invoices = Invoice.objects.filter(**{side: organization})
        for order in ("issue_date", "-issue_date"):
            day = invoices.order_by(order).values_list("issue_date", flat=True).first()
            if day:
                days.append(day)
    return list(range(max(days).year, min(days).year - 1, -1))
