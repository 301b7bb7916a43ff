"""查验 by file: the median time to verify one typical platform PDF end to end (extraction, then
the comparison with the platform's record), beside the bare QR decode of the same rendered page;
a batch of 200 PDFs through the batch service (files per second, recorded and stored), beside
bare extraction of the same files; the OCR path only where rapidocr is installed.

Called from bench/run.py as `bench_verify(report)` after the demo data is loaded: the invoices
come from that database. Run alone (`python bench/bench_verify.py`), it migrates a scratch
SQLite database and makes its own invoices.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

Report = Callable[[str, float, str, float, str], None]
BATCH = 200
SAMPLE = 60  # distinct invoices for the median


def bench_verify(report: Report) -> None:
    import pypdfium2 as pdfium
    import zxingcpp

    from fapiao.invoices.documents import invoice_pdf
    from fapiao.verification import compare, files, services
    from fapiao.verification.extraction import pdf as extraction_pdf

    invoices = _invoices(BATCH)
    pdfs = [(f"dzfp_{inv.number}.pdf", invoice_pdf(inv)) for inv in invoices]
    # Each run verifies a different invoice: the same bytes again would flatter PDFium's caches.
    sample = pdfs[:SAMPLE]
    pages = [_render(pdfium, data, extraction_pdf.RENDER_SIDE) for _, data in sample]
    assert all(zxingcpp.read_barcodes(image) for image in pages), "a page without readable QR"

    def verify(name: str, data: bytes) -> None:
        extraction = files.extract(data, name)[0]
        outcome = services.verification_judge(compare.asked_from_extraction(extraction.invoice))
        assert outcome.result in ("match", "same_day"), outcome.result

    one_ms = _median_ms([lambda n=n, d=d: verify(n, d) for n, d in sample])
    report(
        "verify one platform PDF (extract + compare)",
        one_ms,
        "bare QR decode, same page",
        _median_ms([lambda image=image: zxingcpp.read_barcodes(image) for image in pages]),
        "ms (median)",
    )

    uploads = [services.Upload(name, pdf) for name, pdf in pdfs]
    user, organization = _actor(invoices[0])
    started = time.perf_counter()
    batch = services.batch_create(actor=user, organization=organization, uploads=uploads)
    batch = services.batch_run(batch_id=batch.pk)
    batch_seconds = time.perf_counter() - started
    assert batch.done == len(pdfs) and batch.status == "done", (batch.done, batch.status)
    matched = batch.verifications.filter(result__in=("match", "same_day")).count()
    assert matched == len(pdfs), f"{matched} of {len(pdfs)} matched"

    started = time.perf_counter()
    for name, pdf in pdfs:
        files.extract(pdf, name)
    bare_seconds = time.perf_counter() - started
    report(
        f"batch of {len(pdfs)} PDFs (recorded, stored)",
        len(pdfs) / batch_seconds,
        "bare extraction, same files",
        len(pdfs) / bare_seconds,
        "files/s",
    )
    _bench_ocr(report, one_ms)


def _bench_ocr(report: Report, pdf_ms: float) -> None:
    from fapiao.verification.extraction import ocr

    if not ocr.available():
        print("  OCR path: rapidocr is not installed (pip install 'fapiao[ocr]'): not measured")
        return
    from fapiao.rules.tests import realdata
    from fapiao.verification import files

    scan = realdata.manifest_path().parent / "easyofd" / "test_img1.jpg"
    data = scan.read_bytes()
    report(
        "OCR a scanned invoice photo (extract)",
        _median_ms([lambda: files.extract(data, scan.name)] * 5),
        "platform PDF (QR and text layer)",
        pdf_ms,
        "ms (median)",
    )


def _invoices(count: int):
    """Issued 数电 invoices from before today: the demo's, else made here."""
    from django.utils import timezone

    from fapiao.invoices.models import Invoice

    found = list(
        Invoice.objects.filter(
            type_code__in=("31", "32"),
            is_red=False,
            status=0,
            seller_org__isnull=False,
            source="issued",
            issue_date__lt=timezone.localdate(),
        )
        .select_related("seller_org")
        .order_by("id")[:count]
    )
    if len(found) >= count:
        return found
    return _make_invoices(count)


def _make_invoices(count: int):
    import datetime

    from django.utils import timezone

    from fapiao import testing

    seller = testing.organization("基准测试云科技有限公司")
    testing.member(seller)
    day = timezone.localdate() - datetime.timedelta(days=3)
    return [testing.invoice(seller=seller, amount=f"{1000 + i}.00", day=day) for i in range(count)]


def _actor(invoice):
    from fapiao.accounts.models import Membership

    membership = Membership.objects.filter(organization=invoice.seller_org).first()
    if membership is None:
        from fapiao import testing

        return testing.member(invoice.seller_org), invoice.seller_org
    return membership.user, invoice.seller_org


def _median_ms(calls: list[Callable[[], object]]) -> float:
    """The median of one run of each call, in milliseconds (after one warm-up call)."""
    calls[0]()
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _render(pdfium, data: bytes, side: int):
    """The first page as the extraction renders it for the QR code (grey, `side` pixels)."""
    document = pdfium.PdfDocument(data)
    try:
        page = document[0]
        width, height = page.get_size()
        image = page.render(scale=side / max(width, height)).to_pil().convert("L")
        page.close()
        return image
    finally:
        document.close()


def _print(name: str, figure: float, anchor_name: str, anchor: float, unit: str) -> None:
    print(
        f"{name:<44} {figure:>12,.1f} {unit}   anchor {anchor_name}: {anchor:,.1f} {unit}"
        f"   ratio {figure / anchor:.2f}"
    )


if __name__ == "__main__":
    scratch = tempfile.mkdtemp(prefix="fapiao-bench-verify-")
    try:
        os.environ["FAPIAO_VAR_DIR"] = scratch
        os.environ.pop("DATABASE_URL", None)
        os.environ.setdefault("LOG_LEVEL", "warning")
        os.environ["DJANGO_SETTINGS_MODULE"] = "fapiao.settings"
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        bench_verify(_print)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
