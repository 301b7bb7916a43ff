import pytest
from django.core.management import CommandError, call_command

from fapiao import testing
from fapiao.invoices.documents import parse_invoice_xml

pytestmark = pytest.mark.django_db


def test_exports_the_pdf_and_xml_of_an_invoice(tmp_path):
    invoice = testing.invoice(seller=testing.organization(), amount="250.00", rate="0.13")
    call_command("invoice", "pdf", invoice.number, "-o", str(tmp_path / "a.pdf"))
    call_command("invoice", "xml", invoice.number, "-o", str(tmp_path / "a.xml"))
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")
    parsed = parse_invoice_xml((tmp_path / "a.xml").read_bytes())
    assert parsed["number"] == invoice.number


def test_legacy_invoices_by_code_and_number_and_unknown_numbers(tmp_path):
    org = testing.organization()
    testing.invoice(seller=org, type_code="04", code="011001900104", number="00001234")
    call_command("invoice", "pdf", "01100190010400001234", "-o", str(tmp_path / "b.pdf"))
    call_command(
        "invoice", "pdf", "00001234", "--code", "011001900104", "-o", str(tmp_path / "c.pdf")
    )
    assert (tmp_path / "b.pdf").read_bytes() == (tmp_path / "c.pdf").read_bytes()
    with pytest.raises(CommandError, match="找不到发票"):
        call_command("invoice", "pdf", "26110000000000000099", "-o", str(tmp_path / "d.pdf"))
