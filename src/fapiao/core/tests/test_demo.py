import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min

from fapiao.accounts.demo import DEMO_ORG, DEMO_PASSWORD, DEMO_PEOPLE
from fapiao.accounts.models import Membership, Organization, Role, User
from fapiao.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from fapiao.rules import tax, uscc

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(capsys):
    call_command("demo")
    return capsys.readouterr().out


def test_demo_creates_the_organization_people_and_a_thousand_invoices(demo):
    org = Organization.objects.get(tax_id=DEMO_ORG["tax_id"])
    assert org.name == "北京云帆数字科技有限公司" and org.region_code.startswith("11")
    roles = set(Membership.objects.filter(organization=org).values_list("role", flat=True))
    assert roles == {Role.ADMIN, Role.ISSUER, Role.REVIEWER, Role.VIEWER}
    assert Invoice.objects.filter(seller_org=org, is_red=False).count() == 1000
    assert Invoice.objects.filter(buyer_org=org).count() == 125
    assert "admin@yunfan.demo" in demo and DEMO_PASSWORD in demo


def test_demo_is_idempotent(demo, capsys):
    before = (User.objects.count(), Invoice.objects.count(), InvoiceLine.objects.count())
    call_command("demo")
    assert "未重复创建" in capsys.readouterr().out
    assert (User.objects.count(), Invoice.objects.count(), InvoiceLine.objects.count()) == before


def test_demo_invoices_are_realistic_and_consistent(demo):
    org = Organization.objects.get(tax_id=DEMO_ORG["tax_id"])
    issued = Invoice.objects.filter(seller_org=org)
    span = issued.aggregate(first=Min("issue_date"), last=Max("issue_date"))
    today = datetime.date.today()
    assert span["last"] <= today
    assert (today - span["first"]).days > 650  # spread over about 24 months
    assert issued.values("buyer_name").distinct().count() > 20
    assert set(issued.values_list("type_code", flat=True)) == {"31", "32"}
    rates = set(InvoiceLine.objects.filter(invoice__seller_org=org).values_list("rate", flat=True))
    assert {Decimal("0.13"), Decimal("0.09"), Decimal("0.06")} <= rates
    statuses = set(issued.values_list("status", flat=True))
    assert {InvoiceStatus.NORMAL, InvoiceStatus.FULLY_RED} <= statuses
    # Header totals are the sums of the lines, and each line is within the tax tolerance.
    for invoice in Invoice.objects.prefetch_related("lines"):
        lines = list(invoice.lines.all())
        assert invoice.amount == sum(line.amount for line in lines), invoice.number
        assert invoice.tax == sum(line.tax for line in lines), invoice.number
        assert invoice.total == invoice.amount + invoice.tax
    for line in InvoiceLine.objects.filter(invoice__is_red=False)[:300]:
        calc = tax.LineCalc(
            line.quantity, line.unit_price, line.amount, line.rate, line.tax, line.total
        )
        assert tax.check_line(calc) == [], line
    for tax_id in issued.values_list("buyer_tax_id", flat=True).distinct():
        if tax_id:
            assert uscc.check(tax_id).checksum_ok, tax_id


def test_numbers_carry_each_sellers_region(demo):
    from fapiao.rules import numbers, regions

    for invoice in Invoice.objects.filter(code=""):
        info = numbers.parse("", invoice.number)
        assert info.ok, invoice.number
        assert info.region == regions.region_from_uscc(invoice.seller_tax_id), invoice.seller_name
    assert Invoice.objects.values("number").annotate(n=Count("id")).filter(n__gt=1).count() == 0


def test_every_red_invoice_points_at_a_red_lettered_blue_invoice(demo):
    reds = Invoice.objects.filter(is_red=True).select_related("original")
    assert reds.exists()
    for red in reds:
        assert red.total < 0
        assert red.original.status in (InvoiceStatus.FULLY_RED, InvoiceStatus.PARTLY_RED)
        assert -red.total <= red.original.total


def test_demo_people_can_sign_in(demo, client):
    for email, *_ in DEMO_PEOPLE:
        response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        assert response.wsgi_request.user.email == email
        client.post("/accounts/logout/")


def test_demo_fills_the_catalogue_and_buyer_directory(demo):
    from fapiao.invoices.models import Buyer, Item

    org = Organization.objects.get(tax_id=DEMO_ORG["tax_id"])
    assert Item.objects.filter(organization=org).count() >= 8
    assert Buyer.objects.filter(organization=org, name="上海明澜商贸有限公司").exists()
    assert all(uscc.check(b.tax_id).checksum_ok for b in Buyer.objects.filter(organization=org))
