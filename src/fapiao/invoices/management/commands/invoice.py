"""`fapiao invoice pdf|xml NUMBER -o FILE`: export an invoice's documents from the command line."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fapiao.invoices.models import Invoice
from fapiao.rules.text import normalize_code


class Command(BaseCommand):
    help = "导出发票的 PDF 或 XML 版式文件。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="kind", required=True)
        for kind in ("pdf", "xml"):
            command = sub.add_parser(kind, help=f"write the invoice's {kind.upper()}")
            command.add_argument(
                "number", help="发票号码（数电 20 位），税控发票为 代码+号码 或 --code"
            )
            command.add_argument("--code", default="", help="发票代码（税控发票）")
            command.add_argument("-o", "--output", help="输出文件；省略或 - 为标准输出")

    def handle(self, *args, kind, number, code, output=None, **options):
        from fapiao.invoices.documents import invoice_pdf, invoice_xml

        number, code = normalize_code(number), normalize_code(code)
        if (
            not code
            and len(number) in (18, 20)
            and not Invoice.objects.filter(code="", number=number).exists()
        ):
            code, number = number[:-8], number[-8:]  # 代码 and 号码 written together
        invoice = Invoice.objects.filter(code=code, number=number).prefetch_related("lines").first()
        if invoice is None:
            raise CommandError(f"找不到发票 {code + ' ' if code else ''}{number}。")
        data = invoice_pdf(invoice) if kind == "pdf" else invoice_xml(invoice)
        if output in (None, "-"):
            sys.stdout.buffer.write(data)
            return
        Path(output).write_bytes(data)
        self.stderr.write(f"已写入 {output}（{len(data):,} 字节）。")
