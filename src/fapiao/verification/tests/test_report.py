"""The verification report (认证报告): a PDF with the result, the fields compared, the time and the
verification ID, and a QR code of the public page, which shows a summary to anyone with the ID."""

import pypdfium2 as pdfium
import pytest
import zxingcpp
from django.test import Client
from django.urls import reverse

from fapiao import testing
from fapiao.verification.models import Verification
from fapiao.verification.tests.helpers import URLS, digital_invoice, org_with_member

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


@pytest.fixture
def verified(client, settings):
    settings.SITE_URL = "https://fapiao.example.com"
    org, user = org_with_member()
    client.force_login(user)
    invoice = digital_invoice(
        seller=testing.organization("远方科技有限公司"), buyer=org, amount="1234.50"
    )
    response = client.post(
        reverse("verify_fields"),
        {
            "number": invoice.number,
            "issue_date": invoice.issue_date.isoformat(),
            "total": "1308.57",
        },
    )
    return Verification.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def pdf_text_and_qr(data: bytes) -> tuple[str, list[str]]:
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[0]
        text = page.get_textpage().get_text_range()
        image = page.render(scale=3).to_pil()
    finally:
        pdf.close()
    return text, [r.text for r in zxingcpp.read_barcodes(image)]


def test_the_report_holds_the_id_the_result_and_a_qr_of_the_public_page(client, verified):
    assert verified.result == "match"
    response = client.get(reverse("verification_report", args=[verified.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text, codes = pdf_text_and_qr(response.content)
    url = f"https://fapiao.example.com/verification/r/{verified.public_id}/"
    assert verified.public_id in text and "一致" in text and "查验编号" in text
    assert verified.number in text and "1308.57" in text and "远方科技有限公司" in text
    assert codes == [url]


def test_the_public_page_shows_only_the_summary_to_anyone(verified):
    anonymous = Client()
    response = anonymous.get(reverse("verification_public", args=[verified.public_id]))
    assert response.status_code == 200
    body = response.content.decode()
    assert verified.number in body and "1,308.57" in body and 'data-result="match"' in body
    assert verified.issue_date.isoformat() in body
    invoice = verified.invoice
    for secret in (
        invoice.seller_name,
        invoice.buyer_name,
        invoice.seller_tax_id,
        invoice.buyer_tax_id,
        invoice.lines.get().name,
        "1234.50",
        "1,234.50",
        verified.organization.name,
    ):
        assert secret not in body
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_a_wrong_id_is_404(verified):
    assert Client().get(reverse("verification_public", args=["x" * 22])).status_code == 404


def test_a_mismatch_report_hides_the_platform_values_from_a_stranger(client, settings):
    _, user = org_with_member()
    client.force_login(user)
    invoice = digital_invoice(seller=testing.organization(), amount="888.00")  # total 941.28
    response = client.post(
        reverse("verify_fields"),
        {"number": invoice.number, "issue_date": invoice.issue_date.isoformat(), "total": "1.00"},
    )
    v = Verification.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))
    text, _ = pdf_text_and_qr(client.get(reverse("verification_report", args=[v.pk])).content)
    assert "不一致" in text and "不予显示" in text and "941.28" not in text
    public = Client().get(reverse("verification_public", args=[v.public_id])).content.decode()
    assert "941.28" not in public and "1.00" in public  # the total that was asked, not the record
