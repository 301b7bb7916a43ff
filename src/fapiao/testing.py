"""Small builders for tests: organizations, members and invoices with valid defaults."""

import datetime
import itertools
from decimal import Decimal

from allauth.account.models import EmailAddress

from fapiao.accounts.models import Membership, Organization, Role, User
from fapiao.invoices.models import Invoice, InvoiceLine, InvoiceSource
from fapiao.rules import numbers, uscc

PASSWORD = "Correct-Horse-42"
_serial = itertools.count(1)


def organization(name: str | None = None, region: str = "110108") -> Organization:
    n = next(_serial)
    tax_id = uscc.make(f"91{region}MA{n:07d}")
    return Organization.objects.create(
        name=name or f"测试单位{n}有限公司", tax_id=tax_id, region_code=tax_id[2:4]
    )


def member(org: Organization, role: Role = Role.ADMIN, email: str | None = None) -> User:
    n = next(_serial)
    email = email or f"user{n}@example.com"
    user = User.objects.create_user(email=email, password=PASSWORD, name=f"用户{n}")
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    Membership.objects.create(user=user, organization=org, role=role)
    return user


def invoice(
    *,
    seller: Organization | None = None,
    buyer: Organization | None = None,
    amount: str = "100.00",
    rate: str = "0.06",
    day: datetime.date | None = None,
    **fields,
) -> Invoice:
    amount_d = Decimal(amount)
    tax = (amount_d * Decimal(rate)).quantize(Decimal("0.01"))
    day = day or datetime.date.today()
    values = {
        "type_code": "31",
        "issue_date": day,
        "seller_org": seller,
        "seller_name": seller.name if seller else "外部销售方有限公司",
        "seller_tax_id": seller.tax_id if seller else uscc.make("91310115MA1K00000"),
        "buyer_org": buyer,
        "buyer_name": buyer.name if buyer else "外部购买方有限公司",
        "buyer_tax_id": buyer.tax_id if buyer else uscc.make("91440300MA5F00000"),
        "amount": amount_d,
        "tax": tax,
        "total": amount_d + tax,
        "source": InvoiceSource.ISSUED,
        **fields,
    }
    if "number" not in values:
        values["number"] = numbers.digital_number(day.year, "11", "2", next(_serial))
    inv = Invoice.objects.create(**values)
    InvoiceLine.objects.create(
        invoice=inv,
        position=1,
        name="*信息技术服务*软件开发服务",
        amount=amount_d,
        rate=Decimal(rate),
        tax=tax,
    )
    return inv
