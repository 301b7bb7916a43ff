"""Invoice PDF rendering: PDFs per second in one process, beside a bare reportlab page.

Called from bench/run.py after the demo data is loaded: a typical issued invoice with three lines
comes from that database. Run alone (`python bench/bench_pdf.py`), it renders an unsaved
invoice built in memory instead, with no database.

The anchor is what any reportlab PDF of this kind costs: one page, the same embedded CJK font
subset, the same QR code drawn the same way, a handful of strings. The ratio shows what the
invoice layout (wrapping, fitting, the frame, more glyphs in the subset) adds on top.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

Report = Callable[[str, float, str, float, str], None]


def bench_pdf(report: Report) -> None:
    from fapiao.invoices.documents import invoice_pdf
    from fapiao.invoices.documents.common import money, qr_payload
    from fapiao.invoices.documents.fonts import font_name
    from fapiao.invoices.documents.pdf import draw_qr, new_canvas
    from fapiao.rules import rmb

    invoice, lines = _typical_invoice()
    payload = qr_payload(invoice)
    words = f"⊗{rmb.capital(invoice.total)}"

    def bare_page() -> bytes:
        buffer = io.BytesIO()
        canvas = new_canvas(buffer)
        draw_qr(canvas, payload, 8, 5, 22)
        canvas.setFont(font_name(), 16)
        canvas.drawString(180, 360, "电子发票（增值税专用发票）")
        canvas.setFont(font_name(), 9)
        canvas.drawString(420, 365, f"发票号码：{invoice.number}")
        canvas.drawString(150, 110, words)
        canvas.drawString(420, 110, f"¥{money(invoice.total)}")
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    report(
        f"invoice_pdf ({len(lines)}-line 数电 invoice)",
        _rate(lambda: invoice_pdf(invoice, lines=lines), seconds=3),
        "bare page, same font and QR",
        _rate(bare_page, seconds=3),
        "PDFs/s",
    )


def _typical_invoice():
    """A 3-line issued 数电 invoice from the demo data, else one built in memory."""
    from django.db import DatabaseError
    from django.db.models import Count

    from fapiao.invoices.models import Invoice

    try:
        found = (
            Invoice.objects.annotate(line_count=Count("lines"))
            .filter(line_count=3, type_code="31", is_red=False, seller_org__isnull=False)
            .order_by("id")
            .first()
        )
    except DatabaseError:
        found = None
    if found is not None:
        return found, list(found.lines.order_by("position"))
    return _in_memory()


def _in_memory():
    import datetime

    from fapiao.invoices.models import Invoice, InvoiceLine
    from fapiao.rules import tax

    items = [
        ("*计算机配套产品*笔记本电脑", "ThinkPad T14", "台", "2", "8999.00", "0.13"),
        ("*网络设备*交换机", "S5735-L48T4X", "台", "1", "12800.00", "0.13"),
        ("*信息技术服务*信息系统运维服务", "", "月", "3", "4500.00", "0.06"),
    ]
    lines = []
    for position, (name, spec, unit, quantity, price, rate) in enumerate(items, 1):
        calc = tax.line_from_exclusive(quantity=quantity, unit_price=price, rate=rate)
        lines.append(
            InvoiceLine(
                position=position,
                name=name,
                spec=spec,
                unit=unit,
                quantity=Decimal(quantity),
                unit_price=Decimal(price),
                amount=calc.amount,
                rate=Decimal(rate),
                tax=calc.tax,
            )
        )
    amount = sum((line.amount for line in lines), Decimal("0.00"))
    tax_sum = sum((line.tax for line in lines), Decimal("0.00"))
    invoice = Invoice(
        type_code="31",
        number="25112000000123456789",
        issue_date=datetime.date(2025, 5, 30),
        seller_name="北京云帆信息技术有限公司",
        seller_tax_id="91110108MA01YF8K3U",
        buyer_name="上海博远供应链管理有限公司",
        buyer_tax_id="91310115MA1K4BQX2M",
        amount=amount,
        tax=tax_sum,
        total=amount + tax_sum,
        drawer="王丽",
    )
    return invoice, lines


def _rate(fn: Callable[[], object], *, seconds: float = 1.5, rounds: int = 5) -> float:
    """Calls per second, the median of several rounds (as bench/run.py measures)."""
    fn()
    results = []
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / rounds:
            fn()
            n += 1
        results.append(n / elapsed)
    return statistics.median(results)


def _print(name: str, figure: float, anchor_name: str, anchor: float, unit: str) -> None:
    print(
        f"{name:<44} {figure:>12,.0f} {unit}   anchor {anchor_name}: {anchor:,.0f} {unit}"
        f"   ratio {figure / anchor:.2f}"
    )


if __name__ == "__main__":
    os.environ.setdefault("FAPIAO_VAR_DIR", tempfile.mkdtemp(prefix="fapiao-bench-pdf-"))
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "fapiao.settings"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    bench_pdf(_print)
