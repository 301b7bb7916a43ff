"""A small book of invoices whose statistics are worked out by hand in the tests.

Issued by 甲 (the organization under test), in 2024 and 2025:

    #   date        buyer          type  amount   rate        tax     total   notes
    1   2024-12-31  客户X          31    1000.00  13%      130.00   1130.00
    2   2025-01-01  客户X          31     200.00   6%       12.00    212.00
    3   2025-03-31  客户Y          32     500.00  13%       65.00    565.00   全额红冲 (by #5)
    4   2025-04-01  客户Y          32     300.00   6%       18.00    318.00   作废: never counts
    5   2025-04-01  客户Y          32    -500.00  13%      -65.00   -565.00   红字 of #3
    6   2025-12-31  张三 (no id)   32     100.00   3%        3.00    103.00
    7   2025-06-30  客户X          31    1100.00  13%+6%   136.00   1236.00   lines 1000@13%, 100@6%

Received by 甲:

    8   2025-01-15  供应商S1       31     400.00  13%       52.00    452.00
    9   2025-04-30  供应商S1       32     100.00   6%        6.00    106.00   作废
    10  2025-07-01  供应商S2       32      50.00   1%        0.50     50.50

And 乙's own invoices (2025-01-10 sold, 2025-01-11 bought, 2025-04-01 sold), which 甲 never sees.
"""

import datetime
from decimal import Decimal

import pytest

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.invoices.models import InvoiceLine, InvoiceStatus
from fapiao.rules import uscc

X = ("北京客户X科技有限公司", uscc.make("91110105MA0000001"))
Y = ("天津客户Y商贸有限公司", uscc.make("91120116MA0000002"))
S1 = ("上海供应商S1物流有限公司", uscc.make("91310115MA0000003"))
S2 = ("杭州供应商S2文化传媒有限公司", uscc.make("91330106MA0000004"))


def _sold(org, party, day, amount, rate, **fields):
    name, tax_id = party
    return testing.invoice(
        seller=org,
        buyer_name=name,
        buyer_tax_id=tax_id,
        day=day,
        amount=amount,
        rate=rate,
        **fields,
    )


def _bought(org, party, day, amount, rate, **fields):
    name, tax_id = party
    return testing.invoice(
        buyer=org,
        seller_name=name,
        seller_tax_id=tax_id,
        day=day,
        amount=amount,
        rate=rate,
        **fields,
    )


@pytest.fixture
def book(db):
    org = testing.organization("北京甲科技有限公司")
    other = testing.organization("上海乙贸易有限公司")
    d = datetime.date
    inv = {}
    inv[1] = _sold(org, X, d(2024, 12, 31), "1000.00", "0.13")
    inv[2] = _sold(org, X, d(2025, 1, 1), "200.00", "0.06")
    inv[3] = _sold(org, Y, d(2025, 3, 31), "500.00", "0.13", type_code="32",
                   status=InvoiceStatus.FULLY_RED)  # fmt: skip
    inv[4] = _sold(org, Y, d(2025, 4, 1), "300.00", "0.06", type_code="32",
                   status=InvoiceStatus.VOIDED)  # fmt: skip
    inv[5] = _sold(org, Y, d(2025, 4, 1), "-500.00", "0.13", type_code="32", is_red=True,
                   original=inv[3])  # fmt: skip
    inv[6] = _sold(org, ("张三", ""), d(2025, 12, 31), "100.00", "0.03", type_code="32")
    inv[7] = _sold(org, X, d(2025, 6, 30), "1000.00", "0.13")
    InvoiceLine.objects.create(invoice=inv[7], position=2, name="*现代服务*技术咨询服务",
                               amount=Decimal("100.00"), rate=Decimal("0.06"),
                               tax=Decimal("6.00"))  # fmt: skip
    inv[7].amount, inv[7].tax, inv[7].total = Decimal("1100.00"), Decimal("136.00"), Decimal("1236")
    inv[7].save()
    inv[8] = _bought(org, S1, d(2025, 1, 15), "400.00", "0.13")
    inv[9] = _bought(org, S1, d(2025, 4, 30), "100.00", "0.06", type_code="32",
                     status=InvoiceStatus.VOIDED)  # fmt: skip
    inv[10] = _bought(org, S2, d(2025, 7, 1), "50.00", "0.01", type_code="32")
    # 乙's: sold to and bought from outsiders, with names that would show if they leaked.
    testing.invoice(seller=other, buyer_name="乙的客户有限公司", day=d(2025, 1, 10),
                    buyer_tax_id=uscc.make("91440300MA0000005"), amount="9999.00")  # fmt: skip
    testing.invoice(buyer=other, seller_name="乙的供应商有限公司", day=d(2025, 1, 11),
                    amount="8888.00")  # fmt: skip
    testing.invoice(seller=other, buyer_name="乙的另一客户有限公司", day=d(2025, 4, 1),
                    buyer_tax_id=uscc.make("91440300MA0000006"), amount="7777.00")  # fmt: skip
    return {"org": org, "other": other, "invoices": inv}


@pytest.fixture
def org(book):
    return book["org"]


@pytest.fixture
def admin(org):
    return testing.member(org, Role.ADMIN)
