"""查验 by file: a PDF the platform issued matches; an altered copy names what was changed; the
page shows the file beside the result, and the extraction's conflicts as a warning."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fapiao import testing
from fapiao.verification import files
from fapiao.verification.models import Verification, VerificationResult
from fapiao.verification.tests.conftest import realdata_dir
from fapiao.verification.tests.helpers import URLS, digital_invoice, org_with_member, pdf_of

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


@pytest.fixture
def me(client):
    org, user = org_with_member()
    client.force_login(user)
    return org


def upload(client, name: str, data: bytes):
    return client.post(reverse("verify_file"), {"file": SimpleUploadedFile(name, data)})


def uploaded(client, name: str, data: bytes) -> Verification:
    response = upload(client, name, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Verification.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def test_a_pdf_issued_by_the_platform_matches(client, me):
    invoice = digital_invoice(seller=me, amount="2345.67")
    data = pdf_of(invoice)
    v = uploaded(client, f"dzfp_{invoice.number}.pdf", data)
    assert v.result == VerificationResult.MATCH, v.differences
    assert v.source == "file" and v.invoice == invoice and v.file_kind == "pdf"
    assert v.file_sha256 == files.sha256(data) and v.file_name == f"dzfp_{invoice.number}.pdf"
    assert v.extracted["number"] == invoice.number and v.extracted["sources"]["total"] == "qr"
    page = client.get(reverse("verification_detail", args=[v.pk])).content.decode()
    assert 'data-result="match"' in page and "file-preview" in page and "data-platform-copy" in page
    preview = client.get(reverse("verification_preview", args=[v.pk]), {"page": 1})
    assert preview.status_code == 200 and preview["Content-Type"] == "image/png"
    assert preview.content.startswith(b"\x89PNG")
    assert client.get(reverse("verification_preview", args=[v.pk]), {"page": 9}).status_code == 404


def test_an_altered_copy_names_the_amount(client, me):
    invoice = digital_invoice(seller=me, amount="1000.00")  # tax 60.00, total 1060.00
    forged = pdf_of(invoice, amount="9000.00", total="9060.00")
    v = uploaded(client, "forged.pdf", forged)
    assert v.result == VerificationResult.MISMATCH
    by_field = {d["field"]: d for d in v.differences}
    assert by_field["amount"]["input"] == "9000.00" and by_field["amount"]["platform"] == "1000.00"
    assert by_field["amount"]["label"] == "金额（不含税）"
    page = client.get(reverse("verification_detail", args=[v.pk])).content.decode()
    assert 'data-row="amount" class="differs"' in page and "9000.00" in page


def test_a_copy_with_another_buyer_is_a_mismatch(client, me):
    invoice = digital_invoice(seller=me)
    v = uploaded(client, "x.pdf", pdf_of(invoice, buyer_name="冒名顶替有限公司"))
    assert v.result == "mismatch" and [d["field"] for d in v.differences] == ["buyer_name"]


def test_a_file_that_is_not_an_invoice_is_refused_with_its_reason(client, me):
    response = upload(client, "notes.xml", b"<notes><a>1</a></notes>")
    assert response.status_code == 200
    body = response.content.decode()
    assert "无法识别这个文件" in body and "未在文件中找到发票信息" in body
    assert not Verification.objects.exists()


def test_size_and_type_limits_have_clear_messages(client, me, monkeypatch):
    monkeypatch.setattr(files, "MAX_UPLOAD_BYTES", 1000)
    body = upload(client, "big.pdf", b"%PDF-1.7\n" + b"0" * 2000).content.decode()
    assert "过大" in body and "不能超过" in body
    body = upload(client, "a.docx", b"PK\x03\x04 whatever").content.decode()
    assert "类型不支持" in body
    body = upload(client, "empty.pdf", b"").content.decode()
    assert "文件为空" in body or "空文件" in body


def test_conflicting_sources_are_shown_as_a_warning(client, me, corpus):
    # Its XML is one invoice and its QR code another (../realdata README).
    data = (corpus / "easyofd/testxml@a6369ae8.ofd").read_bytes()
    v = uploaded(client, "testxml@a6369ae8.ofd", data)
    assert v.extracted["conflicts"]
    page = client.get(reverse("verification_detail", args=[v.pk])).content.decode()
    assert "data-conflicts" in page and "文件内容有矛盾" in page
    assert v.result == VerificationResult.NOT_FOUND  # not on this platform


def test_a_zip_uploaded_singly_becomes_a_batch(client, me, django_capture_on_commit_callbacks):
    invoice = digital_invoice(seller=me)
    from fapiao.verification.tests.helpers import zip_of

    data = zip_of({"a.pdf": pdf_of(invoice), "b.txt": b"hello"})
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, "two.zip", data)
    assert response.status_code == 302 and "/batch/" in response["Location"]


def test_an_image_is_previewed(client, me):
    data = (realdata_dir() / "easyofd/test_img0.jpg").read_bytes()
    v = uploaded(client, "photo.jpg", data)
    assert v.file_kind == "jpeg"
    preview = client.get(reverse("verification_preview", args=[v.pk]))
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")


def test_another_member_of_the_same_org_sees_it_but_nobody_else(client, me):
    invoice = digital_invoice(seller=me)
    v = uploaded(client, "a.pdf", pdf_of(invoice))
    colleague = testing.member(me)
    client.force_login(colleague)
    assert client.get(reverse("verification_detail", args=[v.pk])).status_code == 200
    _, outsider = org_with_member()
    client.force_login(outsider)
    assert client.get(reverse("verification_detail", args=[v.pk])).status_code == 404
    assert client.get(reverse("verification_preview", args=[v.pk])).status_code == 404
