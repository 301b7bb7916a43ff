"""What the PDF and the XML of an invoice share: its lines, number formats, QR payload, region."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from fapiao.invoices.models import Invoice, InvoiceLine
from fapiao.rules import qr, regions, tax, types
from fapiao.rules.types import Channel

CENT = Decimal("0.01")


def invoice_lines(
    invoice: Invoice, lines: Iterable[InvoiceLine] | None = None
) -> list[InvoiceLine]:
    """The lines in print order; `lines` lets a caller pass those of an unsaved invoice."""
    found = list(invoice.lines.all()) if lines is None else list(lines)
    return sorted(found, key=lambda line: line.position)


def invoice_type(invoice: Invoice) -> types.InvoiceType | None:
    return types.lookup(Channel.QR, invoice.type_code)


def is_digital(invoice: Invoice) -> bool:
    """数电 (20-digit number, no 发票代码); decided by the type, else by the number's shape."""
    kind = invoice_type(invoice)
    return kind.is_digital if kind else len(invoice.number) == 20 and not invoice.code


def exemption(line: InvoiceLine) -> tax.TaxExemption:
    """The line's 免税/不征税 flag; an empty or unknown value means an ordinary rate."""
    try:
        return tax.TaxExemption(line.exemption or tax.TaxExemption.NONE)
    except ValueError:
        return tax.TaxExemption.NONE


def money(value: Decimal) -> str:
    """Two decimals, ROUND_HALF_UP, no thousands separator, as invoices print: -1060.00."""
    rounded = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{rounded if rounded else abs(rounded):f}"


def plain(value: Decimal | None) -> str:
    """Quantities and unit prices as printed: no trailing zeros, no exponent (10, 2129.3366)."""
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def local_issued_at(invoice: Invoice) -> dt.datetime:
    """开票时间 in the platform's time zone; midnight of the issue date when it is unknown."""
    if invoice.issued_at is not None:
        return timezone.localtime(invoice.issued_at).replace(microsecond=0)
    return dt.datetime.combine(invoice.issue_date, dt.time(), timezone.get_current_timezone())


def qr_payload(invoice: Invoice) -> str:
    """The QR text: 数电 carry 价税合计 and no code or check code; legacy invoices 合计金额.

    The trailing 4-hex field is the tax authority's own check value, whose algorithm is not
    public: it is left empty rather than invented. Raises qr.QrError for a malformed record.
    """
    digital = is_digital(invoice)
    payload = qr.build(
        type_code=invoice.type_code,
        number=invoice.number,
        amount=invoice.total if digital else invoice.amount,
        issue_date=invoice.issue_date,
        code=None if digital else (invoice.code or None),
        check_code=None if digital else (invoice.check_code or None),
    )
    return qr.format(payload)


def region(invoice: Invoice) -> regions.Region | None:
    """The tax bureau's region: from a 数电 number, else the legacy code, else the seller."""
    if len(invoice.number) == 20:
        found = regions.region_from_digital(invoice.number[2:4])
        if found:
            return found
    code = invoice.code
    if len(code) == 12:
        found = regions.region_from_legacy(code[1:5])
    elif len(code) == 10:
        found = regions.region_from_legacy(code[:4])
    else:
        found = None
    return found or regions.region_from_uscc(invoice.seller_tax_id)
