"""`fapiao stats --org USCC --by month|quarter|year [--year Y] [--direction D] [--xlsx FILE]
[--json]`: an organization's statistics for scripts, as a table, as JSON or as a workbook."""

import json
import unicodedata
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from fapiao.accounts.models import Organization
from fapiao.stats.report import Percent, Selection, Table, stats_report
from fapiao.stats.selectors import Direction, Period, StatsFilters
from fapiao.stats.services import stats_export


class Command(BaseCommand):
    help = "发票统计：按月、季度或年度汇总组织的发票（张数、金额、税额、价税合计）。"

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="组织的统一社会信用代码")
        parser.add_argument(
            "--by", choices=[p.value for p in Period], default=Period.MONTH, help="统计周期"
        )
        parser.add_argument(
            "--year",
            type=int,
            help="年份；按月、按季度时默认为今年，按年时默认列出全部年度",
        )
        parser.add_argument(
            "--direction",
            choices=[d.value for d in Direction],
            default=Direction.BOTH,
            help="issued 开具，received 取得，both 两者（默认）",
        )
        parser.add_argument("--xlsx", metavar="FILE", help="另将全部统计写入 Excel 文件")
        parser.add_argument("--json", action="store_true", dest="as_json", help="以 JSON 输出")

    def handle(self, *args, org, by, direction, year=None, xlsx=None, as_json=False, **options):
        organization = Organization.objects.filter(tax_id=org.strip().upper()).first()
        if organization is None:
            raise CommandError(_("找不到统一社会信用代码为 %(tax_id)s 的组织。") % {"tax_id": org})
        period, direction = Period(by), Direction(direction)
        today = timezone.localdate()
        if year is not None and not 1900 < year < 10000:
            raise CommandError(_("年份 %(year)s 无效。") % {"year": year})
        if year is None and period == Period.YEAR:
            filters = StatsFilters(direction=direction)  # every year
        else:
            year = year or today.year
            filters = StatsFilters.for_year(year, direction)
        month = min(today, filters.date_to or today).replace(day=1)
        # Unlike the page, --year narrows the yearly view too: a script asked for that year.
        selection = Selection(filters, period, month, year, every_year=False)
        report = stats_report(organization=organization, selection=selection, views={str(period)})
        table = report.tables[str(period)]
        if xlsx:
            content = stats_export(
                organization=organization,
                actor=None,
                selection=selection,
                file_format="xlsx",
                actor_label="命令行",
            )
            Path(xlsx).write_bytes(content)
            self.stderr.write(
                _("已写入 %(file)s（%(size)s 字节）。")
                % {"file": xlsx, "size": f"{len(content):,}"}
            )
        if as_json:
            self.stdout.write(_json(organization, selection, table))
        else:
            self.stdout.write(f"{organization.name}（{organization.tax_id}）")
            self.stdout.write(f"{table.title} · {selection.description}")
            self.stdout.write(_text(table))


def _json(organization: Organization, selection: Selection, table: Table) -> str:
    keys = ["period", "count", "red_count", "amount", "tax", "total"]

    def record(cells) -> dict:
        return {key: _plain(value) for key, value in zip(keys, cells, strict=True)}

    document = {
        "organization": {"name": organization.name, "tax_id": organization.tax_id},
        "by": str(selection.period),
        "direction": str(selection.filters.direction),
        "year": selection.year,
        "rows": [record(cells) for cells in table.rows],
        "total": record(table.footer or ["合计", 0, 0, Decimal(0), Decimal(0), Decimal(0)]),
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def _plain(value):
    # Money as a string, so that no float rounding creeps in: "1234.50".
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))}"
    if isinstance(value, Percent):
        return None if value.value is None else f"{value.value}"
    return value


def _text(table: Table) -> str:
    """The table with aligned columns; CJK characters count two columns wide."""

    def show(value) -> str:
        if isinstance(value, Decimal):
            return f"{value:,.2f}"
        if isinstance(value, int):
            return f"{value:,}"
        return "" if value is None else str(value)

    lines = [table.columns] + [[show(v) for v in row] for row in table.rows]
    if table.footer:
        lines.append([show(v) for v in table.footer])
    widths = [max(_width(line[i]) for line in lines) for i in range(len(table.columns))]
    out = []
    for n, line in enumerate(lines):
        cells = []
        for i, text in enumerate(line):
            pad = " " * (widths[i] - _width(text))
            cells.append(text + pad if i == 0 else pad + text)
        out.append("  ".join(cells).rstrip())
        if n == 0 or (table.footer and n == len(lines) - 2):
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
