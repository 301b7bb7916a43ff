"""The statistics as tables: what the page shows beside its charts, what the Excel and CSV
exports hold and what `fapiao stats` prints are the same tables, so their numbers agree.

A cell is text (str), a count (int), money (Decimal), a change in percent (Percent), or empty
(None); each output formats it its own way.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from fapiao.accounts.models import Organization
from fapiao.stats.selectors import (
    Comparison,
    Direction,
    Figures,
    Parties,
    Period,
    PeriodFigures,
    Row,
    SidesRow,
    StatsFilters,
    Tallies,
    period_label,
    sides_rows,
    stats_by_rate,
    stats_by_status,
    stats_by_type,
    stats_comparison,
    stats_tallies,
    stats_top_parties,
    summary_of,
    total_of,
)


@dataclass(frozen=True)
class Percent:
    """A change (环比, 同比) or a share (占比) in percent: 12.3 means 12.3%; None without a base."""

    value: Decimal | None
    change: bool = True


Cell = str | int | Decimal | Percent | None


@dataclass
class Table:
    key: str  # the view's name in URLs and on the command line: "month", "rate"...
    title: str  # short, also the sheet name: 按月
    columns: list[str]
    rows: list[list[Cell]]
    footer: list[Cell] | None = None  # 合计
    note: str = ""
    chart: dict = field(default_factory=dict)  # what the page's chart draws, from the same rows


DIRECTION_LABELS = {
    Direction.ISSUED: "开具",
    Direction.RECEIVED: "取得",
    Direction.BOTH: "开具和取得",
}
PERIOD_LABELS = {Period.MONTH: "按月", Period.QUARTER: "按季度", Period.YEAR: "按年"}
# Every view, in the order of the workbook's sheets. "party" is both party tables in one.
VIEWS = {
    "month": "按月",
    "quarter": "按季度",
    "year": "按年",
    "type": "按类型",
    "rate": "按税率",
    "party": "按客户／供应商",  # a full-width slash: Excel forbids "/" in sheet names
    "status": "按状态",
    "sides": "开具与取得",
    "comparison": "同比环比",
}
FIGURE_COLUMNS = ["张数", "红字张数", "金额（不含税）", "税额", "价税合计"]
RED_NOTE = "张数为蓝字发票张数，作废发票不计；红字发票以负数冲减金额、税额和价税合计。"


def _cells(figures: Figures) -> list[Cell]:
    return [figures.count, figures.red_count, figures.amount, figures.tax, figures.total]


def _share(part: Decimal, whole: Decimal) -> Percent:
    if not whole:
        return Percent(None, change=False)
    return Percent((part / whole * 100).quantize(Decimal("0.1")), change=False)


def _money(value: Decimal) -> float:
    return float(value)


@dataclass(frozen=True)
class Selection:
    """What the statistics are asked for: the filters, the period of the period-based views,
    the month the comparison is about and how to describe the choice."""

    filters: StatsFilters
    period: Period
    month: datetime.date
    year: int | None  # None when a date range was given instead of a year
    every_year: bool = True  # 按年 lists every year when a year (not a range) was chosen

    @property
    def range_label(self) -> str:
        f = self.filters
        if self.year is not None:
            return f"{self.year}年"
        if f.date_from and f.date_to:
            return f"{f.date_from:%Y-%m-%d} 至 {f.date_to:%Y-%m-%d}"
        if f.date_from:
            return f"{f.date_from:%Y-%m-%d} 起"
        if f.date_to:
            return f"截至 {f.date_to:%Y-%m-%d}"
        return "全部"

    @property
    def description(self) -> str:
        return f"{self.range_label} · {DIRECTION_LABELS[self.filters.direction]}"

    def summary(self) -> dict:
        """The selection as the export event records it."""
        f = self.filters
        return {
            "year": self.year,
            "date_from": f.date_from.isoformat() if f.date_from else None,
            "date_to": f.date_to.isoformat() if f.date_to else None,
            "direction": str(f.direction),
            "by": str(self.period),
        }

    def year_view_filters(self) -> StatsFilters:
        """按年 spans every year unless a date range was given: one row for the chosen year
        would say nothing the year's total does not."""
        if self.year is not None and self.every_year:
            return StatsFilters(direction=self.filters.direction)
        return self.filters


def period_table(figures: PeriodFigures, selection: Selection) -> Table:
    period = figures.period
    rows = figures.rows(selection.filters.direction)
    total = total_of(row.figures for row in rows)
    note = RED_NOTE
    if figures.filters != selection.filters:
        note = "按年统计列出全部年度，不受年份选择限制。" + RED_NOTE
    return Table(
        key=str(period),
        title=PERIOD_LABELS[period],
        columns=["期间", *FIGURE_COLUMNS],
        rows=[[row.label, *_cells(row.figures)] for row in rows],
        footer=["合计", *_cells(total)] if rows else None,
        note=note,
        chart={
            "kind": "period",
            "categories": [row.label for row in rows],
            "amount": [_money(row.figures.amount) for row in rows],
            "tax": [_money(row.figures.tax) for row in rows],
            "total": [_money(row.figures.total) for row in rows],
            "count": [row.figures.count for row in rows],
        },
    )


def sides_table(figures: PeriodFigures, selection: Selection) -> Table:
    rows: list[SidesRow] = sides_rows(figures)
    issued = total_of(row.issued for row in rows)
    received = total_of(row.received for row in rows)

    def cells(a: Figures, b: Figures) -> list[Cell]:
        return [a.count, a.amount, a.tax, a.total, b.count, b.amount, b.tax, b.total]

    return Table(
        key="sides",
        title=VIEWS["sides"],
        columns=[
            "期间",
            "开具张数",
            "开具金额",
            "开具税额",
            "开具价税合计",
            "取得张数",
            "取得金额",
            "取得税额",
            "取得价税合计",
        ],
        rows=[[row.label, *cells(row.issued, row.received)] for row in rows],
        footer=["合计", *cells(issued, received)] if rows else None,
        note=f"{PERIOD_LABELS[selection.period]}；开具与取得总是并列显示，不受方向选择限制。"
        + RED_NOTE,
        chart={
            "kind": "sides",
            "categories": [row.label for row in rows],
            "issued": [_money(row.issued.total) for row in rows],
            "received": [_money(row.received.total) for row in rows],
        },
    )


def comparison_table(c: Comparison, selection: Selection) -> Table:
    metrics = [
        ("张数", "count"),
        ("红字张数", "red_count"),
        ("金额（不含税）", "amount"),
        ("税额", "tax"),
        ("价税合计", "total"),
    ]
    rows = [
        [
            label,
            getattr(c.current, name),
            getattr(c.previous, name),
            Percent(c.change(c.previous, name)),
            getattr(c.last_year, name),
            Percent(c.change(c.last_year, name)),
        ]
        for label, name in metrics
    ]
    current = period_label(c.month, Period.MONTH)
    previous = period_label(c.previous_month, Period.MONTH)
    last_year = period_label(c.last_year_month, Period.MONTH)
    return Table(
        key="comparison",
        title=VIEWS["comparison"],
        columns=[
            "指标",
            f"本月（{current}）",
            f"上月（{previous}）",
            "环比",
            f"去年同月（{last_year}）",
            "同比",
        ],
        rows=rows,
        note=f"{DIRECTION_LABELS[selection.filters.direction]}；本月为{current}"
        "（当月截至今日）；上期为零时不计算变化率。",
        chart={
            "kind": "comparison",
            "categories": [last_year, previous, current],
            "total": [_money(c.last_year.total), _money(c.previous.total), _money(c.current.total)],
            "count": [c.last_year.count, c.previous.count, c.current.count],
        },
    )


def type_table(rows: list[Row]) -> Table:
    total = total_of(row.figures for row in rows)
    return Table(
        key="type",
        title=VIEWS["type"],
        columns=["发票类型", "类型代码", *FIGURE_COLUMNS, "占比"],
        rows=[
            [row.label, row.key, *_cells(row.figures), _share(row.figures.total, total.total)]
            for row in rows
        ],
        footer=["合计", "", *_cells(total), _share(total.total, total.total)] if rows else None,
        note="占比按价税合计计算。" + RED_NOTE,
        chart={
            "kind": "pie",
            "items": [{"name": row.label, "value": _money(row.figures.total)} for row in rows],
        },
    )


def rate_table(organization: Organization, selection: Selection, summary: Figures) -> Table:
    rows: list[Row] = stats_by_rate(
        organization=organization, filters=selection.filters, summary=summary
    )
    total = total_of(row.figures for row in rows)
    footer = ["合计", None, None, total.amount, total.tax, total.total]
    return Table(
        key="rate",
        title=VIEWS["rate"],
        columns=["税率/征收率", *FIGURE_COLUMNS],
        rows=[[row.label, *_cells(row.figures)] for row in rows],
        footer=footer if rows else None,
        note="按发票明细的税率汇总；含多个税率的发票在每个税率下各计一张，故不合计张数。"
        "“无明细”为未记录明细行的发票。",
        chart={
            "kind": "rate",
            "categories": [row.label for row in rows],
            "amount": [_money(row.figures.amount) for row in rows],
            "tax": [_money(row.figures.tax) for row in rows],
        },
    )


def party_table(parties: Parties) -> Table:
    customers = parties.side == Direction.ISSUED
    rows = [
        [
            row.label,
            row.extra["tax_id"],
            *_cells(row.figures),
            _share(row.figures.total, parties.all.total),
        ]
        for row in parties.rows
    ]
    if not parties.others.empty:
        rows.append(
            [
                "其他客户" if customers else "其他供应商",
                "",
                *_cells(parties.others),
                _share(parties.others.total, parties.all.total),
            ]
        )
    return Table(
        key="customers" if customers else "suppliers",
        title="主要客户（开具）" if customers else "主要供应商（取得）",
        columns=[
            "购买方名称" if customers else "销售方名称",
            "纳税人识别号",
            *FIGURE_COLUMNS,
            "占比",
        ],
        rows=rows,
        footer=["合计", "", *_cells(parties.all), _share(parties.all.total, parties.all.total)]
        if rows
        else None,
        note=f"按价税合计排列前 {len(parties.rows)} 名；占比按价税合计计算。",
        chart={
            "kind": "hbar",
            "categories": [row.label for row in parties.rows],
            "total": [_money(row.figures.total) for row in parties.rows],
        },
    )


def parties_merged(tables: list[Table]) -> Table:
    """客户 and 供应商 in one table (for a sheet or a CSV file), with a column saying which."""
    rows = []
    for table in tables:
        kind = "客户" if table.key == "customers" else "供应商"
        rows.extend([kind, *row] for row in table.rows)
    return Table(
        key="party",
        title=VIEWS["party"],
        columns=["类别", "名称", "纳税人识别号", *FIGURE_COLUMNS, "占比"],
        rows=rows,
        note="客户为开具发票的购买方，供应商为取得发票的销售方；各按价税合计排列。",
    )


def status_table(rows: list[Row]) -> Table:
    return Table(
        key="status",
        title=VIEWS["status"],
        columns=["状态", *FIGURE_COLUMNS],
        rows=[[row.label, *_cells(row.figures)] for row in rows],
        note="蓝字发票按状态计数；作废发票只在此列出，不计入其他统计。红字发票单列。",
        chart={
            "kind": "pie",
            "items": [
                {
                    "name": row.label,
                    "value": row.figures.count if row.key != "red" else row.figures.red_count,
                }
                for row in rows
            ],
        },
    )


@dataclass
class StatsReport:
    organization: Organization
    selection: Selection
    summary: Figures
    tables: dict[str, Table]  # by key; "customers"/"suppliers" only for the sides asked for

    def table(self, view: str) -> Table:
        """One view as a single table: `party` merges the two party tables."""
        if view == "party":
            return parties_merged(
                [self.tables[k] for k in ("customers", "suppliers") if k in self.tables]
            )
        return self.tables[view]

    def workbook_tables(self) -> list[Table]:
        return [self.table(view) for view in VIEWS]


def stats_report(
    *, organization: Organization, selection: Selection, views: set[str] | None = None
) -> StatsReport:
    """The statistics for `selection`: every view, or only those named in `views`.

    One tally a side (stats_tally: one query, month × type × status × red) gives the periods,
    开具与取得, the types, the statuses, the summary, each party table's whole and the months of
    the comparison that it spans. 按年 over every year has a tally a side without types, which
    also spans the comparison. Only the rates (from the lines), the party rankings and a
    comparison month outside the dates read have queries of their own."""

    def wanted(view: str) -> bool:
        return views is None or view in views

    filters = selection.filters
    both = [Direction.ISSUED, Direction.RECEIVED]
    sides = both if wanted("sides") else filters.sides
    tallies: Tallies = stats_tallies(organization=organization, filters=filters, sides=sides)
    year_filters, year_tallies = filters, tallies
    if wanted(str(Period.YEAR)) and selection.year_view_filters() != filters:
        year_filters = selection.year_view_filters()
        year_tallies = stats_tallies(
            organization=organization, filters=year_filters, sides=filters.sides, types=False
        )
    base = PeriodFigures.of(tallies, filters, selection.period, sides)
    summary = summary_of(tallies, filters)
    tables: dict[str, Table] = {}
    for period in Period:
        if not wanted(str(period)):
            continue
        if period == Period.YEAR:
            figures = PeriodFigures.of(year_tallies, year_filters, period, filters.sides)
        elif period == selection.period:
            figures = base
        else:
            figures = PeriodFigures.of(tallies, filters, period, filters.sides)
        tables[str(period)] = period_table(figures, selection)
    if wanted("sides"):
        tables["sides"] = sides_table(base, selection)
    if wanted("comparison"):
        comparison = stats_comparison(
            organization=organization,
            direction=filters.direction,
            month=selection.month,
            tallies=year_tallies,
        )
        tables["comparison"] = comparison_table(comparison, selection)
    if wanted("type"):
        rows = stats_by_type(organization=organization, filters=filters, tallies=tallies)
        tables["type"] = type_table(rows)
    if wanted("rate"):
        tables["rate"] = rate_table(organization, selection, summary)
    if wanted("party"):
        for side in filters.sides:
            parties = stats_top_parties(
                organization=organization,
                filters=filters,
                side=side,
                whole=summary_of(tallies, filters.with_direction(side)),
            )
            table = party_table(parties)
            tables[table.key] = table
    if wanted("status"):
        rows = stats_by_status(organization=organization, filters=filters, tallies=tallies)
        tables["status"] = status_table(rows)
    return StatsReport(
        organization=organization, selection=selection, summary=summary, tables=tables
    )
