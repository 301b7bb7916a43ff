"""Extraction against the real-invoice corpus, the platform's own documents and hostile input."""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import zipfile
import zlib
from decimal import Decimal

import pypdfium2 as pdfium
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image, ImageFilter
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfgen.canvas import Canvas

from fapiao import testing
from fapiao.invoices.documents import invoice_pdf, invoice_xml
from fapiao.invoices.models import InvoiceLine
from fapiao.rules import qr, uscc
from fapiao.rules.tests.realdata import MIXED_FILES, entries, require, truth
from fapiao.verification.extraction import (
    INVOICE_KEYS,
    extract_file,
    extract_many,
    limits,
    ocr,
    pdf,
)
from fapiao.verification.management.commands.extract import Command

# Manifest values that the files themselves contradict, with the reason; reported upstream.
ERRATA = {
    "ofdrw/csfapiao1.ofd": {
        # The page draws 轨道交通服务 at x=125 mm, inside the 备注 box beside the seller's name
        # (the seller box ends at x=120); the manifest's layout reading joined the two.
        "seller_name": "武汉地铁集团有限公司",
    },
}
TRUTH_FIELDS = {
    "number": "number",
    "code": "code",
    "date": "issue_date",
    "amount_excl": "amount",
    "tax": "tax",
    "amount_incl": "total",
    "check_code": "check_code",
    "buyer_name": "buyer_name",
    "buyer_tax_id": "buyer_tax_id",
    "seller_name": "seller_name",
    "seller_tax_id": "seller_tax_id",
}
# Files that are no invoices, and the error each must give (OCR is off in these tests).
NOT_INVOICE_CODES = {
    "easyofd/test.ofd": "ocr_unavailable",  # a scanned 36-page notice: no text, no invoice QR
    "easyofd/test.xml": "not_invoice",
    "easyofd/testxml@1becf945.ofd": "not_invoice",
    "easyofd/text.png": "unsupported_format",  # a DER signature named .png
    "easyofd/test_img0@e779ba39.jpg": "ocr_unavailable",
    "easyofd/test_img1.jpg": "ocr_unavailable",
}


def _one(path, name=None):
    results = extract_file(path, name=name)
    assert len(results) == 1
    return results[0]


# Real files --------------------------------------------------------------------------------------


def test_corpus_is_found(corpus):
    assert (corpus / "manifest.json").is_file()


@pytest.mark.parametrize("entry", entries())
def test_every_manifest_entry(entry, corpus):
    entry = require(entry)
    result = _one(corpus / entry["path"], name=entry["path"])
    assert result.file == entry["path"]
    json.loads(result.to_json())  # serialisable, one line
    if not entry["is_invoice"]:
        assert not result.ok, f"{entry['path']} is no invoice but gave {result.invoice}"
        assert result.invoice is None
        assert result.error["code"] == NOT_INVOICE_CODES[entry["path"]], result.error
        assert result.error["message"]
        return
    assert result.ok, f"{entry['path']}: {result.error}"
    invoice = result.invoice
    assert tuple(invoice) == INVOICE_KEYS
    expected = {**truth(entry), **ERRATA.get(entry["path"], {})}
    for key, field in TRUTH_FIELDS.items():
        if key in expected:
            assert invoice[field] == expected[key], (field, invoice["sources"].get(field))
    if not truth(entry).get("number") and entry["qr_payload"]:  # image-only files: the QR
        payload = qr.parse(entry["qr_payload"])
        assert invoice["number"] == payload.number
        assert invoice["issue_date"] == payload.issue_date.isoformat()
        assert invoice["total" if payload.amount_includes_tax else "amount"] == str(payload.amount)
    for field in invoice["sources"]:
        assert invoice[field] not in (None, [])
    if entry["path"] in MIXED_FILES:
        assert {c["field"] for c in invoice["conflicts"]} >= {"number", "issue_date"}
    else:
        assert invoice["conflicts"] == [], invoice["conflicts"]


@pytest.mark.parametrize("entry", entries(lambda e: e["path"] in MIXED_FILES))
def test_mixed_file_reports_the_conflict_with_both_values(entry, corpus):
    entry = require(entry)
    result = _one(corpus / entry["path"], name=entry["path"])
    assert result.ok
    conflict = next(c for c in result.invoice["conflicts"] if c["field"] == "number")
    found = {(v["source"], v["value"]) for v in conflict["values"]}
    assert ("ofd_attachment", truth(entry)["number"]) in found
    assert ("qr", qr.parse(entry["qr_payload"]).number) in found
    assert "发票号码不一致" in conflict["message"]
    # The embedded XML wins; the disagreement is reported, not resolved silently.
    assert result.invoice["number"] == truth(entry)["number"]
    assert result.invoice["sources"]["number"] == "ofd_attachment"


def test_sources_are_best_first(corpus):
    result = _one(corpus / "ofdrw/1.ofd")
    sources = result.invoice["sources"]
    assert sources["number"] == "ofd_attachment"
    assert sources["lines"] == "ofd_attachment"
    result = _one(corpus / "easyofd/test@a110d62b.pdf")
    assert result.invoice["sources"]["number"] == "qr"  # the QR beats the text layer
    assert result.invoice["sources"]["seller_name"] == "pdf_text"  # the QR has no names
    assert result.invoice["type_code"] == "20"


# The platform's own documents --------------------------------------------------------------------

DAY = dt.date(2025, 3, 7)


@pytest.fixture
def special(db):
    seller = testing.organization("北京华创信息技术有限公司")
    buyer = testing.organization("中国移动通信集团四川有限公司成都分公司", region="510104")
    inv = testing.invoice(seller=seller, buyer=buyer, day=DAY, amount="8000.00", rate="0.06")
    InvoiceLine.objects.create(invoice=inv, position=2, name="*计算机外部设备*扫描枪",
                               amount=Decimal("1769.91"), rate=Decimal("0.13"),
                               tax=Decimal("230.09"), quantity=Decimal("3"),
                               unit_price=Decimal("589.97"), unit="个", spec="DS2208")  # fmt: skip
    inv.amount, inv.tax = Decimal("9769.91"), Decimal("710.09")
    inv.total = inv.amount + inv.tax
    inv.save()
    return inv


@pytest.fixture
def legacy(db):
    return testing.invoice(
        type_code="10",
        code="050001700111",
        number="99999951",
        check_code="14754822929856772523",
        day=dt.date(2020, 10, 10),
        amount="300.00",
        seller_name="杭州融易算企业管理咨询有限公司",
        buyer_name="科游迈利有限公司",
    )


def _expect(result, inv):
    assert result.ok, result.error
    got = result.invoice
    assert got["number"] == inv.number
    assert got["code"] == (inv.code or None)
    assert got["issue_date"] == inv.issue_date.isoformat()
    assert got["amount"] == f"{inv.amount:.2f}"
    assert got["tax"] == f"{inv.tax:.2f}"
    assert got["total"] == f"{inv.total:.2f}"
    assert got["type_code"] == inv.type_code
    assert got["conflicts"] == []


def test_platform_pdf_text_layer_and_qr_agree(special):
    data = invoice_pdf(special)
    result = _one(data, name="dzfp.pdf")
    _expect(result, special)
    got = result.invoice
    for side in ("seller", "buyer"):
        assert got[f"{side}_name"] == getattr(special, f"{side}_name")
        assert got[f"{side}_tax_id"] == getattr(special, f"{side}_tax_id")
    assert got["sources"]["number"] == "qr"
    assert got["sources"]["seller_name"] == "pdf_text"
    assert [line["amount"] for line in got["lines"]] == ["8000.00", "1769.91"]
    assert got["lines"][1]["quantity"] == "3" and got["lines"][1]["unit"] == "个"
    # Each source alone reads the same invoice.
    found = pdf.extract(data, limits.Budget())
    by_source = {c.source: c.fields for c in found.candidates}
    assert set(by_source) == {"pdf_text", "qr"}
    text, code = by_source["pdf_text"], by_source["qr"]
    assert text["number"] == code["number"] == special.number
    assert text["issue_date"] == code["issue_date"] == special.issue_date
    assert text["total"] == code["total"] == special.total
    assert text["amount"] == special.amount and text["tax"] == special.tax


def test_platform_legacy_pdf(legacy):
    result = _one(invoice_pdf(legacy), name="legacy.pdf")
    _expect(result, legacy)
    assert result.invoice["check_code"] == legacy.check_code
    assert result.invoice["seller_name"] == legacy.seller_name


def test_platform_xml(special):
    result = _one(invoice_xml(special), name="dzfp.xml")
    _expect(result, special)
    assert result.invoice["sources"]["number"] == "xml"
    assert len(result.invoice["lines"]) == 2


def _png(data: bytes, scale: float = 2.0) -> Image.Image:
    document = pdfium.PdfDocument(data)
    try:
        return document[0].render(scale=scale).to_pil().convert("RGB")
    finally:
        document.close()


def test_rendered_png_copy(special):
    buffer = io.BytesIO()
    _png(invoice_pdf(special)).save(buffer, "PNG")
    result = _one(buffer.getvalue(), name="scan.png")
    assert result.ok, result.error
    assert result.invoice["number"] == special.number
    assert result.invoice["total"] == f"{special.total:.2f}"
    assert result.invoice["sources"]["number"] == "qr"


def test_degraded_photo_still_decodes(special):
    photo = _png(invoice_pdf(special), scale=2.5).rotate(90, expand=True)
    photo = photo.resize((photo.width // 2, photo.height // 2), Image.Resampling.BILINEAR)
    photo = photo.filter(ImageFilter.GaussianBlur(0.8))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=40)
    result = _one(buffer.getvalue(), name="photo.jpg")
    assert result.ok, result.error
    assert result.invoice["number"] == special.number
    assert result.invoice["issue_date"] == special.issue_date.isoformat()


def test_ocr_fallback_through_the_engine_interface():
    boxes = [
        ("电子发票（增值税专用发票）", (300, 20, 700, 60)),
        ("发票号码：", (800, 40, 900, 60)), ("24112000000048542163", (905, 40, 1100, 60)),
        ("开票日期：", (800, 70, 900, 90)), ("2024年05月28日", (905, 70, 1050, 90)),
        ("名称：", (40, 150, 90, 170)), ("海南麒麟云服科技有限公司", (95, 150, 340, 170)),
        ("名称：", (540, 150, 590, 170)), ("北京互联三六五科技有限公司", (595, 150, 860, 170)),
        ("合计", (60, 400, 100, 420)), ("¥4197.17", (700, 400, 800, 420)),
        ("¥251.83", (950, 400, 1040, 420)),
        ("价税合计（大写）", (40, 440, 180, 460)), ("肆仟肆佰肆拾玖圆整", (300, 440, 480, 460)),
        ("（小写）", (760, 440, 830, 460)), ("¥4449.00", (840, 440, 940, 460)),
    ]  # fmt: skip
    ocr.set_engine(lambda image: boxes)
    buffer = io.BytesIO()
    Image.new("L", (1200, 800), 255).save(buffer, "PNG")
    result = _one(buffer.getvalue(), name="scan.png")
    assert result.ok, result.error
    got = result.invoice
    assert got["number"] == "24112000000048542163"
    assert got["issue_date"] == "2024-05-28"
    assert (got["amount"], got["tax"], got["total"]) == ("4197.17", "251.83", "4449.00")
    assert got["buyer_name"] == "海南麒麟云服科技有限公司"
    assert got["seller_name"] == "北京互联三六五科技有限公司"
    assert set(got["sources"].values()) == {"ocr"}


def test_without_ocr_a_scan_says_so():
    buffer = io.BytesIO()
    Image.new("L", (800, 600), 255).save(buffer, "PNG")
    result = _one(buffer.getvalue(), name="blank.png")
    assert not result.ok
    assert result.error["code"] == "ocr_unavailable"
    assert "OCR" in result.error["message"]


# Hostile input -----------------------------------------------------------------------------------


def _pdf_pages(count: int, *, password: str | None = None) -> bytes:
    buffer = io.BytesIO()
    encrypt = StandardEncryption(password, ownerPassword="owner") if password else None
    canvas = Canvas(buffer, encrypt=encrypt)
    for n in range(count):
        canvas.drawString(72, 720, f"Page {n + 1} of a long report, no invoice here.")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _lying_zip(size: int) -> bytes:
    """A ZIP whose member says it is 1 KB and inflates to `size` bytes."""
    data = bytearray(_zip({"small.xml": b"\0" * size}))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = struct.pack("<I", 1024)
    return bytes(data)


def _png_bomb() -> bytes:
    """A valid PNG header claiming 100000 × 100000 pixels, in a few hundred bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))  # fmt: skip


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(buffer, "PNG")
    return buffer.getvalue()


def test_hostile_batch_each_fails_alone_and_the_rest_completes(tmp_path, special):
    good_pdf = invoice_pdf(special)
    files = {
        "encrypted.pdf": _pdf_pages(1, password="user-secret"),
        "corrupt.pdf": good_pdf[:400],
        "bomb.zip": _zip({"zeros.xml": b"\0" * (limits.MAX_MEMBER_BYTES + 1)}),
        "nested.zip": _zip({"l2.zip": _zip({"l3.zip": _zip({"dzfp.pdf": good_pdf})})}),
        "bomb.png": _png_bomb(),
        "report.pdf": _pdf_pages(100),
        "disguised.pdf": _png_bytes(),
        "empty.pdf": b"",
        "good.pdf": good_pdf,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    results = {r.file.removeprefix(str(tmp_path) + "/"): r for r in
               extract_many(sorted(tmp_path.iterdir()))}  # fmt: skip
    codes = {name: (r.error or {}).get("code") for name, r in results.items()}
    assert codes == {
        "bomb.png": "image_too_large",
        "bomb.zip/zeros.xml": "archive_bomb",
        "corrupt.pdf": "pdf_corrupt",
        "disguised.pdf": "extension_mismatch",
        "empty.pdf": "empty_file",
        "encrypted.pdf": "pdf_encrypted",
        "good.pdf": None,
        "nested.zip/l2.zip/l3.zip": "archive_too_deep",
        "report.pdf": "not_invoice",
    }, codes
    assert results["good.pdf"].ok and results["good.pdf"].invoice["number"] == special.number
    for name, result in results.items():
        if name != "good.pdf":
            assert not result.ok and result.invoice is None
            assert result.error["message"], name
    # 100 pages: only the first pages and the last are read or rendered.
    assert results["report.pdf"].pages == 100
    assert results["report.pdf"].pages_read <= limits.MAX_TEXT_PAGES + 1


def test_zip_bomb_claiming_a_small_size_is_cut_off():
    data = _lying_zip(limits.MAX_MEMBER_BYTES + 2 * 1024 * 1024)
    result = _one(data, name="liar.zip")
    assert result.file == "liar.zip/small.xml"
    assert result.error["code"] == "archive_bomb"


def test_archive_gives_one_result_per_member_two_levels_deep(special):
    good_pdf = invoice_pdf(special)
    data = _zip({"a/dzfp.pdf": good_pdf, "inner.zip": _zip({"dzfp.xml": invoice_xml(special)}),
                 "notes.txt": "备注".encode()})  # fmt: skip
    results = extract_file(data, name="batch.zip")
    by_file = {r.file: r for r in results}
    assert set(by_file) == {"batch.zip/a/dzfp.pdf", "batch.zip/inner.zip/dzfp.xml",
                            "batch.zip/notes.txt"}  # fmt: skip
    assert by_file["batch.zip/a/dzfp.pdf"].invoice["number"] == special.number
    assert by_file["batch.zip/inner.zip/dzfp.xml"].invoice["number"] == special.number
    assert by_file["batch.zip/notes.txt"].error["code"] == "unsupported_format"


def test_invoice_followed_by_99_pages_reads_only_a_few(special):
    document = pdfium.PdfDocument(invoice_pdf(special))
    filler = pdfium.PdfDocument(_pdf_pages(99))
    document.import_pages(filler)
    buffer = io.BytesIO()
    document.save(buffer)
    document.close()
    filler.close()
    result = _one(buffer.getvalue(), name="long.pdf")
    assert result.ok and result.invoice["number"] == special.number
    assert result.pages == 100 and result.pages_read <= limits.MAX_TEXT_PAGES + 1


def test_time_budget_gives_timeout(monkeypatch, corpus):
    monkeypatch.setattr(limits, "TIME_BUDGET_SECONDS", -1.0)
    result = _one(corpus / "easyofd/test.pdf")
    assert result.error["code"] == "timeout"


def test_a_reader_bug_is_contained(monkeypatch, corpus):
    def boom(data, budget):
        raise KeyError("bug")

    monkeypatch.setattr(pdf, "extract", boom)
    results = list(extract_many([corpus / "easyofd/test.pdf", corpus / "ofdrw/1.ofd"]))
    assert results[0].error["code"] == "internal_error"
    assert results[1].ok


def test_file_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 10)
    path = tmp_path / "big.pdf"
    path.write_bytes(b"%PDF-1.4" + b"\0" * 100)
    assert _one(path).error["code"] == "file_too_large"


# Command line ------------------------------------------------------------------------------------


def test_command_json_lines(corpus, tmp_path):
    archive = tmp_path / "two.zip"
    archive.write_bytes(_zip({"1.ofd": (corpus / "ofdrw/1.ofd").read_bytes(),
                              "note.xml": (corpus / "easyofd/test.xml").read_bytes()}))  # fmt: skip
    out = io.StringIO()
    call_command(Command(), "--json", str(corpus / "ofdrw/1.ofd"), str(archive), stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["file"] for line in lines] == [
        str(corpus / "ofdrw/1.ofd"),
        f"{archive}/1.ofd",
        f"{archive}/note.xml",
    ]
    assert all(set(line) == {"file", "ok", "error", "invoice"} for line in lines)
    assert lines[0]["ok"] and lines[0]["invoice"]["number"] == "83089647"
    assert lines[1]["invoice"]["code"] == "033002000211"
    assert not lines[2]["ok"] and lines[2]["error"]["code"] == "not_invoice"


def test_command_summary_in_chinese(corpus):
    out = io.StringIO()
    call_command(Command(), str(corpus / "easyofd/testxml@a6369ae8.ofd"),
                 str(corpus / "easyofd/test.xml"), stdout=out)  # fmt: skip
    text = out.getvalue()
    assert "发票号码：00008006（OFD 内嵌 XML）" in text
    assert "⚠ 发票号码不一致" in text
    assert "✗" in text and "不是发票 XML" in text


def test_command_usage_errors(tmp_path):
    with pytest.raises(CommandError, match="找不到文件"):
        call_command(Command(), str(tmp_path / "missing.pdf"), stdout=io.StringIO())


def test_tax_ids_from_the_platform_are_valid(special):
    result = _one(invoice_pdf(special), name="x.pdf")
    assert uscc.check(result.invoice["seller_tax_id"]).ok


def test_xml_entities_are_never_expanded():
    levels = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    data = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY lol0 "lol">{levels}'
        f'<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        f"<EInvoice><EInvoiceData><BuyerInformation><BuyerName>&xxe;&lol9;</BuyerName>"
        f"</BuyerInformation></EInvoiceData></EInvoice>"
    ).encode()
    result = _one(data, name="lol.xml")
    assert not result.ok
    assert result.error["code"] == "not_invoice"
