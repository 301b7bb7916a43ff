"""`fapiao reconcile LEDGER --org USCC [--from D --to D] [--side seller|buyer|both] [--json]
[--xlsx FILE]`: compare a ledger with the platform's invoices of the organization, as the
reconciliation page does, in this process.

With --json, one JSON object: {"matched": n, "missing_on_platform": [...], "missing_in_ledger":
[...], "mismatched": [...], "probable_typos": [...], "partial": [...]}; each item names the
ledger row (as Excel numbers it: the header is row 1) and/or the invoice number, and mismatches
and typos list the fields with both values. Values the ledger has that cannot be read are
reported on stderr and, with --json, under "problems" as {row, column, code, message} (the row
still takes part). --xlsx writes the Excel export (one sheet per
category). Exit code 1 when the ledger cannot be read or has no invoice-number column.
"""

from __future__ import annotations

import datetime as dt
import io
import json as jsonlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fapiao.accounts.models import Organization
from fapiao.reconcile import engine, ledger, results, services
from fapiao.reconcile.models import Side
from fapiao.rules.text import normalize_code


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"无法识别的日期“{text}”：请写成 2025-05-30") from None


class Command(BaseCommand):
    help = (
        "把本单位的台账（CSV 或 Excel）与平台上的发票对账，输出一致、缺失、不一致和疑似录入错误。"
    )

    def add_arguments(self, parser):
        parser.add_argument("ledger_path", metavar="LEDGER", help="台账文件（CSV 或 XLSX）")
        parser.add_argument("--org", required=True, metavar="USCC", help="本单位的纳税人识别号")
        parser.add_argument("--from", dest="date_from", metavar="D", help="起始日期 2025-01-01")
        parser.add_argument("--to", dest="date_to", metavar="D", help="截止日期 2025-12-31")
        parser.add_argument(
            "--side", choices=Side.values, default=Side.BOTH, help="销项 seller、进项 buyer 或 both"
        )
        parser.add_argument("--json", action="store_true", help="以 JSON 输出结果")
        parser.add_argument(
            "--xlsx", metavar="FILE", help="把结果写入 Excel 文件（每类一个工作表）"
        )

    def handle(self, *args, ledger_path: str, org: str, date_from=None, date_to=None, side="both",
               json=False, xlsx=None, **options):  # fmt: skip
        organization = Organization.objects.filter(tax_id=normalize_code(org)).first()
        if organization is None:
            raise CommandError(f"平台上没有纳税人识别号为 {org} 的单位")
        path = Path(ledger_path)
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}")
        start = _date(date_from) if date_from else None
        stop = _date(date_to) if date_to else None
        if start and stop and start > stop:
            raise CommandError("起始日期晚于截止日期")
        try:
            parsed, result, (start, stop) = services.compare_ledger(
                organization=organization,
                data=path.read_bytes(),
                name=path.name,
                side=side,
                date_from=start,
                date_to=stop,
            )
        except ledger.LedgerError as refused:
            raise CommandError(refused.message) from refused
        for problem in parsed.problems:
            self.stderr.write(f"第 {problem.row} 行“{problem.column}”：{problem.message}")
        if parsed.problem_count > len(parsed.problems):
            self.stderr.write(
                f"（共 {parsed.problem_count} 处无法读取的值，"
                f"以上列出前 {len(parsed.problems)} 处）"
            )
        frame = result.frame()
        if xlsx:
            content = io.BytesIO(results.write(frame))
            Path(xlsx).write_bytes(results.workbook(content))
        if json:
            out = results.as_json(frame)
            out["problems"] = [p.as_dict() for p in parsed.problems]
            self.stdout.write(jsonlib.dumps(out, ensure_ascii=False))
            return
        period = f"{start or '—'} 至 {stop or '—'}"
        self.stdout.write(
            f"{organization.name}（{organization.tax_id}）{period}，账簿 {parsed.rows} 行，"
            f"平台发票 {result.invoices} 张"
        )
        for category in engine.CATEGORIES:
            entry = result.summary[category]
            self.stdout.write(
                f"  {results.CATEGORY_LABELS[category]}：{entry['count']} 条，"
                f"金额 {results.yuan(entry['cents'])}"
            )
        if result.out_of_scope:
            self.stdout.write(f"  期间或方向之外（未比对）：{result.out_of_scope} 行")
        if xlsx:
            self.stdout.write(f"结果已写入 {xlsx}")
