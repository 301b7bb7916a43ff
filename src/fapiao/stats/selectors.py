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
rows that come back (per side, per period) and fills the periods that have no invoice.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncQuarter, TruncYear

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


def stats_summary(*, organization: Organization, filters: StatsFilters) -> Figures:
    return total_of(
        Figures.of(_invoices(organization, filters, side).aggregate(**FIGURES))
        for side in filters.sides
    )


# --- by period --------------------------------------------------------------------------------


class _MonthStart(TruncMonth):
    """TruncMonth; on SQLite in its own C date functions rather than Django's Python function,
    which costs a Python call per row (most of a second for a year of a big organization)."""

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"date({sql}, 'start of month')", params


class _QuarterStart(TruncQuarter):
    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        back = f"((CAST(strftime('%%m', {sql}) AS INTEGER) - 1) %% 3)"
        return f"date({sql}, 'start of month', '-' || {back} || ' months')", [*params, *params]


class _YearStart(TruncYear):
    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"date({sql}, 'start of year')", params


_TRUNC = {Period.MONTH: _MonthStart, Period.QUARTER: _QuarterStart, Period.YEAR: _YearStart}
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


def _as_date(value) -> datetime.date:
    # The truncation comes back as a date, or on some backends as a datetime.
    return value.date() if isinstance(value, datetime.datetime) else value


@dataclass(frozen=True)
class PeriodFigures:
    """Each side's figures per period (by the period's first day), and the periods they span."""

    period: Period
    filters: StatsFilters
    sides: dict[Direction, dict[datetime.date, Figures]]

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
    *, organization: Organization, filters: StatsFilters, period: Period, sides: list[Direction]
) -> PeriodFigures:
    """Each of `sides`, grouped by month, quarter or year in the database."""
    found = {}
    for side in sides:
        rows = (
            _invoices(organization, filters, side)
            .annotate(period=_TRUNC[period]("issue_date"))
            .values("period")
            .annotate(**FIGURES)
            .order_by("period")
        )
        found[side] = {_as_date(row["period"]): Figures.of(row) for row in rows}
    return PeriodFigures(period, filters, found)


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
    *, organization: Organization, direction: Direction, month: datetime.date
) -> Comparison:
    """This month (to date) against last month and the same month last year: a query per month
    and side, each reading one short index range (an OR of the three ranges leads PostgreSQL
    to read every invoice the organization bought)."""
    month = month.replace(day=1)
    figures = []
    for start in (month, _add_months(month, -1), _add_months(month, -12)):
        within = StatsFilters(start, _add_months(start, 1) - datetime.timedelta(days=1), direction)
        figures.append(stats_summary(organization=organization, filters=within))
    return Comparison(month, *figures)


# --- by type, rate, status --------------------------------------------------------------------


def type_label(code: str) -> str:
    return types.name(types.Channel.QR, code) or code


def stats_by_type(*, organization: Organization, filters: StatsFilters) -> list[Row]:
    """One row per invoice type (发票类型代码), the largest total first."""
    merged = _merged(
        {
            row["type_code"]: Figures.of(row)
            for row in _invoices(organization, filters, side)
            .values("type_code")
            .annotate(**FIGURES)
        }
        for side in filters.sides
    )
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


def stats_by_status(*, organization: Organization, filters: StatsFilters) -> list[Row]:
    """Blue invoices per status, 作废 included (and counted nowhere else), then red invoices
    (voided ones left out, as everywhere)."""
    merged = _merged(
        {
            (row["status"], row["is_red"]): Figures.of(row)
            for row in _invoices(organization, filters, side, voided=True)
            .values("status", "is_red")
            .annotate(**FIGURES)
        }
        for side in filters.sides
    )
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
