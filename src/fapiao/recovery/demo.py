"""Demo data of 补录: one application of the demo organization awaiting review, with its invoice
file, so that the staff queue has something in it. Safe to repeat."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from fapiao.accounts.models import Membership, Organization, Role
from fapiao.invoices.models import Invoice, InvoiceLine, InvoiceSource
from fapiao.recovery.models import EvidenceKind, RecoveryApplication, RecoveryReason
from fapiao.recovery.services import EvidenceUpload, recovery_create
from fapiao.rules import numbers, uscc

DEMO_SELLER = {"name": "北京星河办公用品有限公司", "tax_id": uscc.make("91110105MA01XH7Q2")}


def demo_recovery_create(*, organization: Organization) -> RecoveryApplication | None:
    """An invoice bought by the demo organization, issued offline by its supplier and never
    uploaded: 补录 submitted by the issuer, with the invoice's PDF."""
    if RecoveryApplication.objects.filter(organization=organization).exists():
        return None
    from fapiao.invoices.documents import invoice_pdf

    applicant = (
        Membership.objects.filter(organization=organization, role=Role.ISSUER)
        .select_related("user")
        .first()
    )
    if applicant is None:
        return None
    day = timezone.localdate() - dt.timedelta(days=12)
    number = numbers.digital_number(day.year, "11", "2", 990_001)
    if Invoice.objects.filter(code="", number=number).exists():
        return None
    amount, tax = Decimal("4200.00"), Decimal("546.00")
    invoice = Invoice(
        type_code="32",
        number=number,
        issue_date=day,
        seller_name=DEMO_SELLER["name"],
        seller_tax_id=DEMO_SELLER["tax_id"],
        buyer_name=organization.name,
        buyer_tax_id=organization.tax_id,
        amount=amount,
        tax=tax,
        total=amount + tax,
        source=InvoiceSource.RECOVERED,
    )
    line = InvoiceLine(
        invoice=invoice,
        position=1,
        name="*办公用品*打印纸 A4 70g",
        unit="箱",
        quantity=Decimal("30"),
        unit_price=Decimal("140"),
        amount=amount,
        rate=Decimal("0.13"),
        tax=tax,
    )
    pdf = invoice_pdf(invoice, lines=[line])
    fields = {
        "type_code": "32",
        "number": number,
        "issue_date": day,
        "amount": amount,
        "tax": tax,
        "total": amount + tax,
        "seller_name": DEMO_SELLER["name"],
        "seller_tax_id": DEMO_SELLER["tax_id"],
        "buyer_name": organization.name,
        "buyer_tax_id": organization.tax_id,
    }
    return recovery_create(
        actor=applicant.user,
        organization=organization,
        data=fields,
        reason=RecoveryReason.OFFLINE,
        reason_note="供应商断网期间离线开具，恢复联网后未上传。",
        evidence=[EvidenceUpload(EvidenceKind.INVOICE, f"dzfp_{number}.pdf", pdf)],
    )
