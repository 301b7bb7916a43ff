"""`fapiao find --org USCC [--number N] [--code C] [--date D] [--amount A] [--json]`: the finder
(发票查找) from the command line, as the page does it, for one organization.

With --json, one object: {"found": bool, "invoice": {...} or null, "diagnoses": [{"code",
"message", "evidence", "candidates"}]}, the diagnoses most likely first. Exit code 0 whether or not
the invoice was found (the diagnoses are the answer); an error in the arguments is a CommandError.
"""

from __future__ import annotations

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from fapiao.accounts.models import Organization
from fapiao.finder.diagnosis import Basis, invoice_find
from fapiao.finder.forms import FinderForm
from fapiao.rules.text import normalize_code


class Command(BaseCommand):
    help = "按号码、代码、日期、金额查找本单位的发票；找不到时给出原因和建议。"

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, metavar="USCC", help="本单位的纳税人识别号")
        parser.add_argument("--number", default="", metavar="N", help="发票号码")
        parser.add_argument("--code", default="", metavar="C", help="发票代码（数电发票不填）")
        parser.add_argument("--date", default="", metavar="D", help="开票日期，如 2025-03-01")
        parser.add_argument("--amount", default="", metavar="A", help="金额（含税或不含税均可）")
        parser.add_argument(
            "--basis",
            default=Basis.EITHER,
            choices=[Basis.EITHER, Basis.TOTAL, Basis.AMOUNT],
            help="金额口径：total 价税合计，amount 不含税金额；不填则两者皆可",
        )
        parser.add_argument("--party", default="", help="销售方或购买方的名称或税号")
        parser.add_argument("--json", action="store_true", help="以 JSON 输出")

    def handle(self, *args, org, json=False, **options):
        organization = Organization.objects.filter(tax_id=normalize_code(org)).first()
        if organization is None:
            raise CommandError(f"平台上没有纳税人识别号为 {org} 的单位")
        fields = ("number", "code", "date", "amount", "basis", "party")
        form = FinderForm({k: options[k] for k in fields})
        if not form.is_valid():
            messages = [str(e) for errors in form.errors.values() for e in errors]
            raise CommandError("；".join(messages))
        result = invoice_find(organization=organization, query=form.query())
        if json:
            self.stdout.write(jsonlib.dumps(result.as_dict(), ensure_ascii=False, indent=2))
            return
        if result.found:
            inv = result.invoice
            self.stdout.write(f"找到了：{inv.code + ' ' if inv.code else ''}{inv.number}")
            self.stdout.write(
                f"  开票日期 {inv.issue_date.isoformat()}，销售方 {inv.seller_name}，"
                f"购买方 {inv.buyer_name}，价税合计 {inv.total}，状态 {inv.get_status_display()}"
            )
        else:
            self.stdout.write("没有找到完全符合的发票。可能的原因（最可能的在前）：")
        for rank, diagnosis in enumerate(result.diagnoses, 1):
            self.stdout.write(f"{rank}. [{diagnosis.code}] {diagnosis.message}")
            for line in diagnosis.evidence:
                self.stdout.write(f"     - {line}")
            for step in diagnosis.steps:
                self.stdout.write(f"     → {step.label}：{step.url}")
