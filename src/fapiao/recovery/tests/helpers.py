"""Builders for the 补录 tests: valid fields of an invoice the platform lacks, its PDF, images."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from decimal import Decimal

from PIL import Image

from fapiao.accounts.models import Organization
from fapiao.invoices.models import Invoice, InvoiceLine, InvoiceSource
from fapiao.recovery.models import EvidenceKind
from fapiao.recovery.services import EvidenceUpload
from fapiao.rules import numbers, uscc

OUTSIDE_SELLER = {"name": "上海外部供应商有限公司", "tax_id": uscc.make("91310115MA1K77777")}
_serial = itertools.count(500_001)


def fields(organization: Organization, *, as_seller: bool = False, **overrides) -> dict:
    """An invoice bought (or sold) by `organization`, from (to) a party not on the platform."""
    day = dt.date.today() - dt.timedelta(days=10)
    outside = OUTSIDE_SELLER
    me = {"name": organization.name, "tax_id": organization.tax_id}
    seller, buyer = (me, outside) if as_seller else (outside, me)
    values = {
        "type_code": "32",
        "code": "",
        "number": numbers.digital_number(day.year, "31", "2", next(_serial)),
        "issue_date": day,
        "amount": Decimal("1000.00"),
        "tax": Decimal("130.00"),
        "total": Decimal("1130.00"),
        "seller_name": seller["name"],
        "seller_tax_id": seller["tax_id"],
        "buyer_name": buyer["name"],
        "buyer_tax_id": buyer["tax_id"],
        "check_code": "",
        "remarks": "",
    }
    values.update(overrides)
    return values


def invoice_pdf_bytes(values: dict) -> bytes:
    """The PDF of the invoice described by `values` (never saved)."""
    from fapiao.invoices.documents import invoice_pdf

    invoice = Invoice(
        type_code=values["type_code"],
        code=values["code"],
        number=values["number"],
        issue_date=values["issue_date"],
        seller_name=values["seller_name"],
        seller_tax_id=values["seller_tax_id"],
        buyer_name=values["buyer_name"],
        buyer_tax_id=values["buyer_tax_id"],
        amount=values["amount"],
        tax=values["tax"],
        total=values["total"],
        source=InvoiceSource.RECOVERED,
    )
    line = InvoiceLine(
        invoice=invoice,
        position=1,
        name="*办公用品*打印纸",
        amount=values["amount"],
        rate=Decimal("0.13"),
        tax=values["tax"],
    )
    return invoice_pdf(invoice, lines=[line])


def png_bytes(color: str = "white") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, format="PNG")
    return out.getvalue()


def invoice_file(values: dict) -> EvidenceUpload:
    return EvidenceUpload(
        EvidenceKind.INVOICE, f"{values['number']}.pdf", invoice_pdf_bytes(values)
    )


def contract() -> EvidenceUpload:
    return EvidenceUpload(EvidenceKind.CONTRACT, "合同.png", png_bytes())
