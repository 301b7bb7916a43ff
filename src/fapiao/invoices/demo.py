"""About a thousand realistic invoices for the demo organization (`fapiao demo`).

Deterministic for a given day: the same seed gives the same buyers, items and amounts.
"""

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from fapiao.accounts.models import Organization
from fapiao.invoices.models import (
    Buyer,
    Invoice,
    InvoiceLine,
    InvoiceSource,
    InvoiceStatus,
)
from fapiao.invoices.models import (
    Item as CatalogueItem,
)
from fapiao.rules import numbers, regions, tax, uscc

SEED = 20250530


@dataclass(frozen=True)
class Item:
    name: str
    tax_code: str
    unit: str
    rate: Decimal
    price_range: tuple[int, int]
    spec: str = ""


ITEMS = [
    Item(
        "*信息技术服务*软件开发服务", "3040201010000000000", "项", Decimal("0.06"), (8000, 120000)
    ),
    Item(
        "*信息技术服务*信息系统运维服务",
        "3040203000000000000",
        "月",
        Decimal("0.06"),
        (3000, 30000),
    ),
    Item("*信息技术服务*云计算服务", "3040205000000000000", "月", Decimal("0.06"), (1200, 26000)),
    Item(
        "*研发和技术服务*技术咨询服务", "3040102000000000000", "次", Decimal("0.06"), (2000, 50000)
    ),
    Item(
        "*计算机配套产品*笔记本电脑",
        "1090511010000000000",
        "台",
        Decimal("0.13"),
        (4500, 13000),
        "ThinkPad T14",
    ),
    Item(
        "*计算机外部设备*扫描枪", "1090512990000000000", "个", Decimal("0.13"), (180, 900), "DS2208"
    ),
    Item(
        "*电子计算机*服务器", "1090511020000000000", "台", Decimal("0.13"), (21000, 68000), "R750xs"
    ),
    Item(
        "*网络设备*交换机",
        "1090515010000000000",
        "台",
        Decimal("0.13"),
        (1500, 26000),
        "S5735-L48T4X",
    ),
    Item(
        "*运输服务*国内道路货物运输服务", "3010102020100000000", "次", Decimal("0.09"), (300, 6000)
    ),
    Item("*软件*应用软件", "1060201030000000000", "套", Decimal("0.13"), (2000, 60000), "V3.2"),
]
SUPPLIER_ITEMS = [
    Item("*餐饮服务*餐饮服务", "3070401000000000000", "次", Decimal("0.06"), (120, 3800)),
    Item("*住宿服务*住宿费", "3070402000000000000", "天", Decimal("0.06"), (380, 1200)),
    Item(
        "*经纪代理服务*房屋租赁代理服务",
        "3040802050000000000",
        "月",
        Decimal("0.06"),
        (6000, 30000),
    ),
    Item("*办公用品*打印纸", "1060111020000000000", "箱", Decimal("0.13"), (120, 260), "A4 70g"),
    Item("*电信服务*基础电信服务", "3010201000000000000", "月", Decimal("0.09"), (300, 3000)),
    Item("*印刷品*宣传册", "1060301990000000000", "本", Decimal("0.03"), (5, 30)),
]

PLACES = [  # (name prefix, address prefix, administrative division)
    ("北京", "北京市朝阳区", "110105"), ("北京", "北京市海淀区", "110108"),
    ("北京", "北京市西城区", "110102"), ("天津", "天津市滨海新区", "120116"),
    ("上海", "上海市浦东新区", "310115"), ("上海", "上海市徐汇区", "310104"),
    ("苏州", "江苏省苏州市姑苏区", "320508"), ("杭州", "浙江省杭州市西湖区", "330106"),
    ("深圳", "广东省深圳市南山区", "440305"), ("广州", "广东省广州市天河区", "440106"),
    ("成都", "四川省成都市武侯区", "510107"), ("武汉", "湖北省武汉市武昌区", "420106"),
    ("青岛", "山东省青岛市市南区", "370202"), ("石家庄", "河北省石家庄市长安区", "130102"),
]  # fmt: skip
BRANDS = [
    "华创",
    "博远",
    "中科",
    "鼎信",
    "恒通",
    "瑞丰",
    "启明",
    "天祥",
    "聚源",
    "星河",
    "远景",
    "海纳",
    "金桥",
    "宏图",
    "新锐",
    "卓越",
    "易达",
    "诚泰",
    "安捷",
    "思远",
]
TRADES = [
    "科技",
    "信息技术",
    "商贸",
    "建筑工程",
    "物流",
    "医疗器械",
    "文化传媒",
    "教育科技",
    "供应链管理",
    "智能制造",
]
STREETS = ["建国路", "长安街", "科技园路", "人民路", "中山路", "解放大道", "高新大道", "滨江路"]
BANKS = ["中国工商银行", "中国建设银行", "中国银行", "招商银行", "交通银行", "中国农业银行"]
PEOPLE = ["刘洋", "孙悦", "周杰", "吴霞", "郑凯", "冯涛", "何静", "许婷"]
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass(frozen=True)
class Party:
    name: str
    tax_id: str
    address: str
    phone: str
    bank_name: str
    bank_account: str
    email: str
    organization: Organization | None = None


def _party(rng: random.Random, used: set[str]) -> Party:
    while True:
        city, address, district = rng.choice(PLACES)
        name = f"{city}{rng.choice(BRANDS)}{rng.choice(TRADES)}有限公司"
        if name not in used:
            used.add(name)
            break
    body = "91" + district + "".join(rng.choice(CHARSET) for _ in range(9))
    tax_id = uscc.make(body)
    return Party(
        name=name,
        tax_id=tax_id,
        address=f"{address}{rng.choice(STREETS)}{rng.randint(1, 300)}号",
        phone=f"0{rng.randint(10, 999)}-{rng.randint(50000000, 89999999)}",
        bank_name=f"{rng.choice(BANKS)}{city}分行",
        bank_account=str(rng.randint(10**15, 10**19)),
        email=f"finance{rng.randint(100, 999)}@example.com",
    )


def _org_party(org: Organization) -> Party:
    return Party(
        org.name, org.tax_id, org.address, org.phone, org.bank_name, org.bank_account, "", org
    )


def _spread_dates(rng: random.Random, count: int, today: datetime.date) -> list[datetime.date]:
    """Dates over the last 24 months, busier lately (a growing business), none in the future."""
    start = today - datetime.timedelta(days=730)
    dates = []
    for _ in range(count):
        offset = int(730 * rng.random() ** 0.8)
        day = start + datetime.timedelta(days=offset)
        if day.weekday() >= 5:
            day -= datetime.timedelta(days=day.weekday() - 4)
        dates.append(min(day, today))
    return sorted(dates)


def _lines(rng: random.Random, items: list[Item]) -> list[dict]:
    lines = []
    for position, item in enumerate(rng.sample(items, rng.choice([1, 1, 1, 2, 2, 3])), 1):
        unit_price = Decimal(rng.randint(*item.price_range)) + Decimal(rng.choice([0, 0, 50])) / 100
        # Few of the dear things, more of the cheap ones.
        quantities = (
            [1] if unit_price > 20000 else [1, 1, 2, 3] if unit_price > 2000 else [1, 2, 5, 10, 20]
        )
        quantity = Decimal(rng.choice(quantities))
        calc = tax.line_from_exclusive(quantity=quantity, unit_price=unit_price, rate=item.rate)
        lines.append(
            {
                "position": position,
                "name": item.name,
                "tax_code": item.tax_code,
                "spec": item.spec,
                "unit": item.unit,
                "quantity": quantity,
                "unit_price": unit_price,
                "amount": calc.amount,
                "rate": item.rate,
                "tax": calc.tax,
            }
        )
    return lines


@transaction.atomic
def demo_invoices_create(
    *,
    organization: Organization,
    partner: Organization,
    count: int = 1000,
    today: datetime.date | None = None,
) -> int:
    """Create the demo invoices unless the organization already has them; returns how many."""
    if Invoice.objects.filter(seller_org=organization).exists():
        return 0
    today = today or timezone.localdate()
    rng = random.Random(SEED)
    used: set[str] = set()
    buyers = [_party(rng, used) for _ in range(36)] + [_org_party(partner)]
    suppliers = [_party(rng, used) for _ in range(12)]
    seller = _org_party(organization)
    _directories_create(organization, buyers)
    issued, received = count, count // 8
    sequences: dict[int, int] = {}
    tz = timezone.get_current_timezone()

    plans: list[tuple[dict, list[dict]]] = []
    for day in _spread_dates(rng, issued, today):
        buyer = rng.choice(buyers[:-1] * 3 + [buyers[-1]] * 4)
        type_code = "31" if rng.random() < 0.62 else "32"
        sequences[day.year] = sequences.get(day.year, rng.randint(100000, 900000)) + 1
        number = numbers.digital_number(day.year, _region(organization.tax_id), "2",
                                        sequences[day.year])  # fmt: skip
        plans.append(
            _plan(
                rng,
                seller,
                buyer,
                type_code,
                "",
                number,
                day,
                tz,
                _lines(rng, ITEMS),
                InvoiceSource.ISSUED,
            )
        )
    buyer_self = _org_party(organization)
    for day in _spread_dates(rng, received, today):
        supplier = rng.choice(suppliers)
        region = regions.region_from_uscc(supplier.tax_id)
        if day.year <= today.year - 1 and rng.random() < 0.4:
            # Older invoices of the tax-control era: 发票代码 + 8-digit number.
            type_code = rng.choice(["01", "04", "10"])
            code = _legacy_code(rng, type_code, region.code.ljust(4, "0"), day.year % 100)
            number = f"{rng.randint(1, 99999999):08d}"
        else:
            type_code, code = rng.choice(["31", "32"]), ""
            number = numbers.digital_number(day.year, region, "2", rng.randint(10**6, 10**12))
        plans.append(
            _plan(
                rng,
                supplier,
                buyer_self,
                type_code,
                code,
                number,
                day,
                tz,
                _lines(rng, SUPPLIER_ITEMS),
                InvoiceSource.IMPORTED,
            )
        )

    invoices = Invoice.objects.bulk_create([Invoice(**fields) for fields, _ in plans])
    InvoiceLine.objects.bulk_create(
        InvoiceLine(invoice=invoice, **line)
        for invoice, (_, lines) in zip(invoices, plans, strict=True)
        for line in lines
    )
    created = len(invoices) + _red_letter_some(rng, [i for i in invoices if i.seller_org_id], today)
    _void_some(rng, [i for i in invoices if i.type_code in ("01", "04")])
    return created


def _region(tax_id: str) -> regions.Region:
    return regions.region_from_uscc(tax_id) or regions.region_from_digital("11")


def _directories_create(organization: Organization, buyers: list[Party]) -> None:
    """The organization's catalogue (商品和服务) and buyer directory (抬头)."""
    CatalogueItem.objects.bulk_create(
        CatalogueItem(
            organization=organization,
            category=item.name.split("*")[1],
            name=item.name.split("*")[2],
            tax_code=item.tax_code,
            spec=item.spec,
            unit=item.unit,
            rate=item.rate,
            unit_price=Decimal(sum(item.price_range) // 2),
        )
        for item in ITEMS
    )
    Buyer.objects.bulk_create(
        Buyer(
            organization=organization,
            name=b.name,
            tax_id=b.tax_id,
            address=b.address,
            phone=b.phone,
            bank_name=b.bank_name,
            bank_account=b.bank_account,
            email=b.email,
        )
        for b in buyers
    )


def _legacy_code(rng: random.Random, type_code: str, region4: str, year: int) -> str:
    if type_code == "01":  # 10 digits: region, year, batch, 1 = 专票, 联次
        return f"{region4}{year:02d}{rng.randint(1, 9)}1{rng.choice(['30', '40'])}"
    kind = {"04": "04", "10": "11"}[type_code]  # 12 digits: 0, region, year, batch, kind
    return f"0{region4}{year:02d}{rng.randint(100, 999)}{kind}"


def _plan(rng, seller: Party, buyer: Party, type_code, code, number, day, tz, lines, source):
    amount = sum((line["amount"] for line in lines), Decimal("0.00"))
    tax_sum = sum((line["tax"] for line in lines), Decimal("0.00"))
    issued_at = datetime.datetime.combine(
        day, datetime.time(rng.randint(9, 17), rng.randint(0, 59), rng.randint(0, 59)), tz
    )
    individual = type_code == "32" and seller.organization is not None and rng.random() < 0.15
    fields = {
        "type_code": type_code,
        "code": code,
        "number": number,
        "issue_date": day,
        "issued_at": issued_at,
        "seller_org": seller.organization,
        "seller_name": seller.name,
        "seller_tax_id": seller.tax_id,
        "seller_address": seller.address,
        "seller_phone": seller.phone,
        "seller_bank_name": seller.bank_name,
        "seller_bank_account": seller.bank_account,
        "buyer_org": None if individual else buyer.organization,
        "buyer_name": rng.choice(PEOPLE) if individual else buyer.name,
        "buyer_tax_id": "" if individual else buyer.tax_id,
        "buyer_address": "" if individual else buyer.address,
        "buyer_phone": "" if individual else buyer.phone,
        "buyer_bank_name": "" if individual else buyer.bank_name,
        "buyer_bank_account": "" if individual else buyer.bank_account,
        "buyer_email": "" if individual else buyer.email,
        "amount": amount,
        "tax": tax_sum,
        "total": amount + tax_sum,
        "check_code": "" if not code else "".join(str(rng.randint(0, 9)) for _ in range(20)),
        "drawer": "王丽" if seller.organization else rng.choice(PEOPLE),
        "reviewer_name": "李强" if seller.organization else "",
        "status": InvoiceStatus.NORMAL,
        "source": source,
    }
    return fields, lines


def _red_letter_some(rng: random.Random, issued: list[Invoice], today: datetime.date) -> int:
    """Red-letter about 3% of issued invoices, in full or in part (销货退回, 开票有误...)."""
    created = 0
    for blue in rng.sample(issued, max(1, len(issued) * 3 // 100)):
        lines = list(blue.lines.all())
        full = len(lines) == 1 or rng.random() < 0.7
        red_lines = lines if full else lines[:1]
        red_day = min(today, blue.issue_date + datetime.timedelta(days=rng.randint(1, 40)))
        year_seq = rng.randint(10**9, 10**10)
        red = Invoice.objects.create(
            type_code=blue.type_code,
            code="",
            number=numbers.digital_number(red_day.year, blue.number[2:4], "2", year_seq),
            issue_date=red_day,
            issued_at=datetime.datetime.combine(red_day, blue.issued_at.timetz()),
            **{f: getattr(blue, f) for f in _PARTY_FIELDS},
            amount=-sum(line.amount for line in red_lines),
            tax=-sum(line.tax for line in red_lines),
            total=-sum(line.amount + line.tax for line in red_lines),
            drawer=blue.drawer,
            reviewer_name=blue.reviewer_name,
            remarks=(
                f"被红冲蓝字数电发票号码：{blue.number} 红字发票信息确认单编号：{year_seq:016d}"
            ),
            status=InvoiceStatus.NORMAL,
            source=InvoiceSource.ISSUED,
            is_red=True,
            original=blue,
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=red,
                position=line.position,
                name=line.name,
                tax_code=line.tax_code,
                spec=line.spec,
                unit=line.unit,
                quantity=-line.quantity if line.quantity else None,
                unit_price=line.unit_price,
                amount=-line.amount,
                rate=line.rate,
                tax=-line.tax,
            )
            for line in red_lines
        )
        blue.status = InvoiceStatus.FULLY_RED if full else InvoiceStatus.PARTLY_RED
        blue.save(update_fields=["status"])
        created += 1
    return created


def _void_some(rng: random.Random, paper: list[Invoice]) -> None:
    """Paper invoices can be voided (作废); electronic ones are red-lettered instead."""
    for invoice in rng.sample(paper, min(len(paper), max(1, len(paper) // 15))):
        invoice.status = InvoiceStatus.VOIDED
        invoice.save(update_fields=["status"])


_PARTY_FIELDS = [
    "seller_org",
    "seller_name",
    "seller_tax_id",
    "seller_address",
    "seller_phone",
    "seller_bank_name",
    "seller_bank_account",
    "buyer_org",
    "buyer_name",
    "buyer_tax_id",
    "buyer_address",
    "buyer_phone",
    "buyer_bank_name",
    "buyer_bank_account",
    "buyer_email",
]
