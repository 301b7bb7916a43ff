"""Builders shared by the verification tests: organizations with members, invoices, PDFs, ZIPs."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

from django.utils import timezone

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.invoices.documents import invoice_pdf
from fapiao.invoices.models import Invoice, InvoiceLine

URLS = "fapiao.verification.tests.urls_for_tests"


def days_ago(n: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=n)


def digital_invoice(*, seller=None, buyer=None, amount="1000.00", day=None, **fields) -> Invoice:
    """A 数电专票 issued ten days ago (by default) with one line at 6%."""
    return testing.invoice(
        seller=seller, buyer=buyer, amount=amount, day=day or days_ago(10), **fields
    )


def pdf_of(invoice: Invoice, **changes) -> bytes:
    """The invoice's PDF; with `changes`, of an unsaved altered copy (a forged file)."""
    if not changes:
        return invoice_pdf(invoice)
    lines = list(invoice.lines.all())
    copy = Invoice.objects.get(pk=invoice.pk)
    copy.pk = None
    for name, value in changes.items():
        setattr(copy, name, Decimal(value) if name in ("amount", "tax", "total") else value)
    if "amount" in changes and lines:
        line = lines[0]
        lines = [
            InvoiceLine(
                position=line.position,
                name=line.name,
                amount=Decimal(changes["amount"]),
                rate=line.rate,
                tax=line.tax,
            )
        ]
    return invoice_pdf(copy, lines=lines)


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def org_with_member(role: Role = Role.ADMIN, name: str | None = None):
    org = testing.organization(name)
    return org, testing.member(org, role)
