from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from fapiao import testing
from fapiao.invoices.models import Invoice

pytestmark = pytest.mark.django_db


def test_a_digital_invoice_number_is_recorded_only_once():
    org = testing.organization()
    first = testing.invoice(seller=org)
    with pytest.raises(IntegrityError), transaction.atomic():
        testing.invoice(seller=org, number=first.number)
    assert Invoice.objects.filter(number=first.number).count() == 1


def test_legacy_identity_is_code_plus_number():
    org = testing.organization()
    testing.invoice(seller=org, type_code="04", code="011001900111", number="00000001")
    testing.invoice(seller=org, type_code="04", code="011001900211", number="00000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        testing.invoice(seller=org, type_code="04", code="011001900111", number="00000001")


def test_total_must_equal_amount_plus_tax_in_the_database():
    inv = testing.invoice(seller=testing.organization(), amount="100.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=inv.pk).update(total=Decimal("999.00"))


def test_a_red_invoice_issued_here_must_reference_its_blue_invoice():
    org = testing.organization()
    with pytest.raises(IntegrityError), transaction.atomic():
        testing.invoice(seller=org, amount="-10.00", is_red=True)
    blue = testing.invoice(seller=org, amount="10.00")
    red = testing.invoice(seller=org, amount="-10.00", is_red=True, original=blue)
    assert list(blue.red_invoices.all()) == [red]


def test_money_stays_decimal_through_the_database():
    inv = testing.invoice(seller=testing.organization(), amount="1234.57", rate="0.13")
    inv.refresh_from_db()
    assert isinstance(inv.total, Decimal)
    assert inv.total == Decimal("1395.06")
    assert inv.lines.get().total == Decimal("1395.06")
