"""Batches: many files or a ZIP verified in the background (the task runs inline in tests), a
progress fragment, a results table with one row per file, and the Excel export."""

import io
import json
import re
import zipfile

import pytest
from defusedxml import ElementTree
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fapiao.verification import services
from fapiao.verification.models import BatchItem, BatchStatus, VerificationBatch
from fapiao.verification.tests.helpers import (
    URLS,
    digital_invoice,
    org_with_member,
    pdf_of,
    zip_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]
NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


@pytest.fixture
def me(client):
    org, user = org_with_member()
    client.force_login(user)
    return org


def realdata_zip(corpus) -> tuple[bytes, list[dict]]:
    """Every file of the corpus but the 12 MB scanned notice, in one ZIP."""
    manifest = json.loads((corpus / "manifest.json").read_text())
    entries = [e for e in manifest if e["path"] != "easyofd/test.ofd"]
    return zip_of({e["path"]: (corpus / e["path"]).read_bytes() for e in entries}), entries


def submit(client, capture, *uploads) -> VerificationBatch:
    with capture(execute=True):
        response = client.post(reverse("verify_batch_new"), {"files": list(uploads)})
    assert response.status_code == 302, response.content.decode()[:3000]
    return VerificationBatch.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def xlsx_rows(data: bytes) -> list[list[str]]:
    """The first sheet's cells as text (openpyxl is not a dependency: read the XML)."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    shared = [
        "".join(t.text or "" for t in si.iter(f"{{{NS['x']}}}t"))
        for si in ElementTree.fromstring(archive.read("xl/sharedStrings.xml")).findall("x:si", NS)
    ]
    sheet = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iterfind(".//x:sheetData/x:row", NS):
        cells: dict[int, str] = {}
        for cell in row.findall("x:c", NS):
            column = _column(re.match(r"[A-Z]+", cell.get("r")).group(0))
            value = cell.find("x:v", NS)
            text = value.text if value is not None else ""
            cells[column] = shared[int(text)] if cell.get("t") == "s" else text
        rows.append([cells.get(i, "") for i in range(max(cells) + 1 if cells else 0)])
    return rows


def _column(letters: str) -> int:
    n = 0
    for letter in letters:
        n = n * 26 + ord(letter) - 64
    return n - 1


def test_a_zip_of_the_real_invoices_gives_a_row_per_file(
    client, me, corpus, django_capture_on_commit_callbacks
):
    data, entries = realdata_zip(corpus)
    batch = submit(
        client, django_capture_on_commit_callbacks, SimpleUploadedFile("realdata.zip", data)
    )
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE and batch.done == batch.total == len(entries)
    items = {i.file_name: i for i in BatchItem.objects.filter(batch=batch)}
    assert set(items) == {f"realdata.zip/{e['path']}" for e in entries}
    for entry in entries:
        item = items[f"realdata.zip/{entry['path']}"]
        if entry["is_invoice"] and entry.get("truth") and entry["truth"].get("number"):
            assert item.verification is not None, (entry["path"], item.error_message)
            assert item.verification.number.endswith(entry["truth"]["number"])
            assert item.verification.result in ("not_found", "bad_format", "too_old")
        if not entry["is_invoice"]:
            assert item.verification is None and item.error_message, entry["path"]

    page = client.get(reverse("verify_batch_detail", args=[batch.pk])).content.decode()
    assert page.count("data-item=") == len(entries)
    assert 'data-status="done"' in page and "hx-trigger" not in page  # polling has stopped
    assert "查无此票" in page and "无法识别" in page

    response = client.get(reverse("verify_batch_export", args=[batch.pk]))
    assert response.status_code == 200
    rows = xlsx_rows(response.content)
    assert rows[0][:3] == ["序号", "文件", "查验结果"]
    assert len(rows) == len(entries) + 1
    assert {row[1] for row in rows[1:]} == set(items)
    assert any(row[2] == "无法识别" and row[10] for row in rows[1:])


def test_files_of_the_platform_match_and_a_failing_file_never_stops_the_batch(
    client, me, django_capture_on_commit_callbacks, monkeypatch
):
    a, b = digital_invoice(seller=me), digital_invoice(seller=me, amount="50.00")
    broken = b"%PDF-1.7\n this is not really a pdf"
    real = services.verification_from_extraction

    def exploding(**kwargs):  # a bug while recording one file
        if kwargs["name"] == "boom.pdf":
            raise RuntimeError("boom")
        return real(**kwargs)

    monkeypatch.setattr(services, "verification_from_extraction", exploding)
    batch = submit(
        client,
        django_capture_on_commit_callbacks,
        SimpleUploadedFile("a.pdf", pdf_of(a)),
        SimpleUploadedFile("broken.pdf", broken),
        SimpleUploadedFile("boom.pdf", pdf_of(b)),
        SimpleUploadedFile("b.pdf", pdf_of(b)),
    )
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE and batch.total == 4
    items = list(batch.items.order_by("position"))
    assert [i.file_name for i in items] == ["a.pdf", "broken.pdf", "boom.pdf", "b.pdf"]
    assert items[0].verification.result == "match" and items[3].verification.result == "match"
    assert items[1].error_code == "pdf_corrupt" and "损坏" in items[1].error_message
    assert items[2].error_code == "internal_error"


def test_progress_is_a_polled_fragment_until_done(client, me):
    batch = VerificationBatch.objects.create(
        organization=me, user=me.memberships.first().user, total=5, done=2
    )
    fragment = client.get(reverse("verify_batch_progress", args=[batch.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "2 / 5" in fragment
    assert 'aria-valuenow="2"' in fragment and "width: 40%" in fragment
    VerificationBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.DONE, done=5)
    fragment = client.get(reverse("verify_batch_progress", args=[batch.pk])).content.decode()
    assert "hx-trigger" not in fragment and "5 / 5" in fragment


def test_nothing_chosen_is_a_form_error(client, me):
    response = client.post(reverse("verify_batch_new"), {})
    assert response.status_code == 200 and "请选择要查验的文件" in response.content.decode()


def test_the_same_invoice_twice_in_a_batch_is_flagged(
    client, me, django_capture_on_commit_callbacks
):
    invoice = digital_invoice(seller=me)
    data = zip_of({"one.pdf": pdf_of(invoice), "again/one.pdf": pdf_of(invoice)})
    batch = submit(client, django_capture_on_commit_callbacks, SimpleUploadedFile("x.zip", data))
    first, second = [i.verification for i in batch.items.order_by("position")]
    assert first.duplicate_of is None and second.duplicate_of == first
    page = client.get(reverse("verify_batch_detail", args=[batch.pk])).content.decode()
    assert page.count("data-duplicate") == 1
    rows = xlsx_rows(client.get(reverse("verify_batch_export", args=[batch.pk])).content)
    assert rows[2][9].startswith("此前已查验") and rows[1][9:10] in ([], [""])
