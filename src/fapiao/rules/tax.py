"""VAT rates, levy rates and the arithmetic of invoice lines, in Decimal with ROUND_HALF_UP.

Tolerances, as the tax-control and 数电 systems apply them:
- a line's tax may differ from ROUND_HALF_UP(amount × rate, 2) by at most ±0.06;
- unit price × quantity may differ from the amount by at most ±0.01;
- over an invoice, Σ(tax − amount × rate) must stay within ±1.27.

Derived unit prices keep 15 significant digits and at most 13 decimal places, as 数电 allows
(real invoices print values such as 2129.33663366337), with at least two decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from fapiao.rules.problems import Problem, ProblemCode, RulesError
from fapiao.rules.text import nfkc, to_decimal

CENT = Decimal("0.01")
LINE_TAX_TOLERANCE = Decimal("0.06")
PRICE_TOLERANCE = Decimal("0.01")
ACCUMULATED_TAX_TOLERANCE = Decimal("1.27")
UNIT_PRICE_MAX_PLACES = 13
UNIT_PRICE_SIGNIFICANT_DIGITS = 15

Number = Decimal | int | str


class RateKind(StrEnum):
    VAT = "vat"  # 增值税税率
    LEVY = "levy"  # 征收率 (简易计税、小规模纳税人)


class TaxExemption(StrEnum):
    """A line's tax treatment besides its rate; stored as the value, printed as the label."""

    NONE = "none"
    EXEMPT = "exempt"  # 免税: rate 0, prints 免税
    NOT_TAXABLE = "not_taxable"  # 不征税: rate 0, prints 不征税
    EXPORT_ZERO = "export_zero"  # 出口零税率: rate 0, prints 0%

    @property
    def label(self) -> str:
        return _EXEMPTION_LABELS[self]


_EXEMPTION_LABELS = {
    TaxExemption.NONE: "",
    TaxExemption.EXEMPT: "免税",
    TaxExemption.NOT_TAXABLE: "不征税",
    TaxExemption.EXPORT_ZERO: "出口零税",
}


@dataclass(frozen=True, slots=True)
class Rate:
    value: Decimal
    name: str
    kind: RateKind
    current: bool = True  # False for rates that only old invoices carry

    @property
    def label(self) -> str:
        return percent(self.value)


RATES: tuple[Rate, ...] = (
    Rate(Decimal("0.13"), "13% 税率（销售货物、加工修理修配、有形动产租赁）", RateKind.VAT),
    Rate(
        Decimal("0.09"), "9% 税率（交通运输、邮政、基础电信、建筑、不动产、农产品等）", RateKind.VAT
    ),
    Rate(Decimal("0.06"), "6% 税率（现代服务、金融、生活服务、无形资产等）", RateKind.VAT),
    Rate(Decimal("0"), "0% 税率（出口货物、跨境应税行为）", RateKind.VAT),
    Rate(Decimal("0.05"), "5% 征收率", RateKind.LEVY),
    Rate(Decimal("0.03"), "3% 征收率", RateKind.LEVY),
    Rate(Decimal("0.015"), "1.5% 征收率（个人出租住房，减按）", RateKind.LEVY),
    Rate(Decimal("0.01"), "1% 征收率（小规模纳税人减按，至 2027-12-31）", RateKind.LEVY),
)
# Rates before the 2018 and 2019 cuts; valid on the old invoices users still collect.
HISTORIC_RATES: tuple[Rate, ...] = (
    Rate(Decimal("0.17"), "17% 税率（2018 年 5 月前）", RateKind.VAT, current=False),
    Rate(Decimal("0.16"), "16% 税率（2018 年 5 月至 2019 年 3 月）", RateKind.VAT, current=False),
    Rate(Decimal("0.11"), "11% 税率（2018 年 5 月前）", RateKind.VAT, current=False),
    Rate(Decimal("0.10"), "10% 税率（2018 年 5 月至 2019 年 3 月）", RateKind.VAT, current=False),
)
_BY_VALUE = {r.value: r for r in (*RATES, *HISTORIC_RATES)}


@dataclass(frozen=True, slots=True)
class LineCalc:
    quantity: Decimal | None
    unit_price: Decimal | None  # excluding tax
    amount: Decimal  # 金额, excluding tax
    rate: Decimal
    tax: Decimal
    total: Decimal | None  # 价税合计 of the line
    exemption: TaxExemption = TaxExemption.NONE

    @property
    def rate_label(self) -> str:
        return rate_label(self.rate, self.exemption)


@dataclass(frozen=True, slots=True)
class Totals:
    amount: Decimal  # 合计金额
    tax: Decimal  # 合计税额
    total: Decimal  # 价税合计


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def percent(rate: Decimal) -> str:
    """0.13 → '13%', 0.015 → '1.5%', 0 → '0%'."""
    text = f"{(rate * 100).normalize():f}"
    return f"{text}%"


def rate_for(value: Decimal) -> Rate | None:
    return _BY_VALUE.get(value)


def rate_label(rate: Decimal, exemption: TaxExemption = TaxExemption.NONE) -> str:
    """What the invoice prints in the rate column: '13%', '免税', '不征税'."""
    if exemption in (TaxExemption.EXEMPT, TaxExemption.NOT_TAXABLE):
        return exemption.label
    return percent(rate)


def parse_rate(text: Number) -> Decimal:
    """'13%', '0.13', '13', '0.130', '１３％' → Decimal('0.13'); 1 or more is a percent."""
    value, exemption = parse_rate_or_exemption(text)
    if exemption in (TaxExemption.EXEMPT, TaxExemption.NOT_TAXABLE):
        raise RulesError(
            Problem(
                ProblemCode.RATE_INVALID,
                "rate",
                f"“{text}”不是税率；请用 parse_rate_or_exemption() 读取免税、不征税",
            )
        )
    return value


def parse_rate_or_exemption(text: Number) -> tuple[Decimal, TaxExemption]:
    """Like parse_rate, but also reads the words an invoice prints instead of a rate."""
    if isinstance(text, str):
        cleaned = "".join(nfkc(text).split())
        for exemption in (TaxExemption.EXEMPT, TaxExemption.NOT_TAXABLE):
            if cleaned == exemption.label:
                return Decimal(0), exemption
        is_percent = cleaned.endswith("%")
        value = to_decimal(cleaned.removesuffix("%"))
    else:
        is_percent = False
        value = to_decimal(text)
    if value is None or value < 0:
        raise RulesError(Problem(ProblemCode.RATE_INVALID, "rate", f"无法识别税率“{text}”"))
    if is_percent or value >= 1:
        value = value / 100
    if value >= 1 or value != value.quantize(Decimal("0.0001")):
        raise RulesError(Problem(ProblemCode.RATE_INVALID, "rate", f"税率“{text}”不合理"))
    return _normalize_rate(value), TaxExemption.NONE


def line_from_exclusive(
    quantity: Number | None,
    unit_price: Number | None,
    rate: Number,
    amount: Number | None = None,
    *,
    exemption: TaxExemption = TaxExemption.NONE,
) -> LineCalc:
    """A line entered excluding tax: amount = round(quantity × unit price, 2) unless given."""
    q = _number(quantity, "quantity")
    p = _number(unit_price, "unit_price")
    r = _rate(rate, exemption)
    a = _number(amount, "amount")
    if a is None:
        if q is None or p is None:
            raise RulesError(
                Problem(ProblemCode.AMOUNT_MISMATCH, "amount", "需要金额，或数量和单价")
            )
        a = round2(q * p)
    elif a != round2(a):
        raise RulesError(Problem(ProblemCode.PRECISION, "amount", f"金额 {a} 最多两位小数"))
    else:
        a = round2(a)
    if p is None and q:
        p = unit_price_from(a, q)
    tax = _line_tax(a, r, exemption)
    return LineCalc(q, p, a, r, tax, a + tax, exemption)


def line_from_inclusive(
    quantity: Number | None,
    unit_price_incl: Number | None,
    rate: Number,
    *,
    total: Number | None = None,
    exemption: TaxExemption = TaxExemption.NONE,
) -> LineCalc:
    """A line entered including tax: amount = round(total / (1 + rate), 2), tax = total − amount.

    `total` defaults to round(quantity × unit price incl. tax, 2). The unit price excluding tax is
    derived from the amount (see the module doc for its precision).
    """
    q = _number(quantity, "quantity")
    p_incl = _number(unit_price_incl, "unit_price")
    r = _rate(rate, exemption)
    t = _number(total, "total")
    if t is None:
        if q is None or p_incl is None:
            raise RulesError(
                Problem(ProblemCode.TOTAL_MISMATCH, "total", "需要价税合计，或数量和含税单价")
            )
        t = round2(q * p_incl)
    elif t != round2(t):
        raise RulesError(Problem(ProblemCode.PRECISION, "total", f"价税合计 {t} 最多两位小数"))
    else:
        t = round2(t)
    a = round2(t / (1 + r))
    tax = t - a
    p = unit_price_from(a, q) if q else None
    return LineCalc(q, p, a, r, tax, t, exemption)


def unit_price_from(amount: Decimal, quantity: Decimal) -> Decimal:
    """amount / quantity with 15 significant digits, at most 13 decimals, at least 2."""
    value = amount / quantity
    if not value:
        return Decimal("0.00")
    significant = UNIT_PRICE_SIGNIFICANT_DIGITS - 1 - value.adjusted()
    places = min(UNIT_PRICE_MAX_PLACES, max(2, significant))
    value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    head, _, tail = f"{value:f}".partition(".")
    return Decimal(f"{head}.{tail.rstrip('0').ljust(2, '0')}")


def check_line(
    line: LineCalc,
    *,
    index: int | None = None,
    red: bool = False,
    discount: bool = False,
    allow_historic: bool = False,
) -> list[Problem]:
    """Problems of one line; fields are named `lines[<index>].<field>` when index is given.

    red: a 红字 invoice, whose amounts are negative. discount: a 折扣行 on a blue invoice, the
    one kind of negative line a blue invoice may carry. allow_historic: accept 17/16/11/10% (for
    collected old invoices; never for issuing).
    """
    prefix = f"lines[{index}]." if index is not None else ""
    where = f"第 {index + 1} 行" if index is not None else ""
    problems: list[Problem] = []

    def add(code: ProblemCode, field: str, message: str) -> None:
        problems.append(Problem(code, prefix + field, where + message))

    rate = rate_for(line.rate)
    if line.exemption is not TaxExemption.NONE:
        if line.rate != 0:
            add(
                ProblemCode.EXEMPTION_RATE,
                "rate",
                f"{line.exemption.label}项目的税率应为 0，而不是 {percent(line.rate)}",
            )
    elif rate is None or not (rate.current or allow_historic):
        add(ProblemCode.RATE_UNKNOWN, "rate", f"税率 {percent(line.rate)} 不是现行税率或征收率")

    for name, value in (("amount", line.amount), ("tax", line.tax)):
        if value != round2(value):
            add(ProblemCode.PRECISION, name, f"{_LABELS[name]} {value} 最多两位小数")

    if red and line.amount > 0:
        add(ProblemCode.SIGN, "amount", "红字发票的金额应为负数")
    elif not red and line.amount < 0 and not discount:
        add(ProblemCode.SIGN, "amount", "蓝字发票的金额不能为负数（折扣行除外）")
    if line.tax * line.amount < 0:
        add(ProblemCode.SIGN, "tax", "税额与金额的正负号不一致")
    if line.quantity is not None and line.unit_price is not None:
        product = line.quantity * line.unit_price
        if product * line.amount < 0:
            add(ProblemCode.SIGN, "quantity", "数量×单价与金额的正负号不一致")
        if abs(product - line.amount) > PRICE_TOLERANCE:
            add(
                ProblemCode.AMOUNT_MISMATCH,
                "amount",
                f"数量×单价 = {round2(product)}，与金额 {line.amount} 相差超过 ±{PRICE_TOLERANCE}",
            )

    if line.exemption is not TaxExemption.NONE or line.rate == 0:
        if line.tax != 0:
            label = line.exemption.label or "零税率"
            add(ProblemCode.TAX_NOT_ZERO, "tax", f"{label}项目的税额应为 0，而不是 {line.tax}")
    else:
        expected = round2(line.amount * line.rate)
        if abs(line.tax - expected) > LINE_TAX_TOLERANCE:
            add(
                ProblemCode.TAX_MISMATCH,
                "tax",
                f"税额 {line.tax} 与 金额×税率 = {expected} 相差超过 ±{LINE_TAX_TOLERANCE}",
            )

    if line.total is not None and line.total != line.amount + line.tax:
        add(
            ProblemCode.TOTAL_MISMATCH,
            "total",
            f"价税合计 {line.total} 不等于 金额 + 税额 = {line.amount + line.tax}",
        )
    return problems


def invoice_totals(lines: Sequence[LineCalc]) -> Totals:
    amount = sum((line.amount for line in lines), Decimal("0.00"))
    tax = sum((line.tax for line in lines), Decimal("0.00"))
    return Totals(amount, tax, amount + tax)


def check_invoice(
    lines: Sequence[LineCalc],
    amount: Number | None = None,
    tax: Number | None = None,
    total: Number | None = None,
    *,
    red: bool = False,
    allow_historic: bool = False,
) -> list[Problem]:
    """Lines, header totals against their sums, and the accumulated tax difference.

    On a blue invoice, a negative line directly after a positive one is taken as its 折扣行.
    """
    problems: list[Problem] = []
    if not lines:
        return [Problem(ProblemCode.NO_LINES, "lines", "发票至少需要一行明细")]
    for i, line in enumerate(lines):
        previous = lines[i - 1] if i else None
        discount = not red and line.amount < 0 and previous is not None and previous.amount > 0
        problems += check_line(
            line, index=i, red=red, discount=discount, allow_historic=allow_historic
        )
        if discount and previous is not None and -line.amount > previous.amount:
            problems.append(
                Problem(
                    ProblemCode.DISCOUNT_EXCEEDS,
                    f"lines[{i}].amount",
                    f"第 {i + 1} 行折扣 {-line.amount} 超过被折扣行的金额 {previous.amount}",
                )
            )

    sums = invoice_totals(lines)
    header_amount = _number(amount, "amount")
    header_tax = _number(tax, "tax")
    header_total = _number(total, "total")
    if header_amount is not None and header_amount != sums.amount:
        problems.append(
            Problem(
                ProblemCode.HEADER_AMOUNT,
                "amount",
                f"合计金额 {header_amount} 不等于各行金额之和 {sums.amount}",
            )
        )
    if header_tax is not None and header_tax != sums.tax:
        problems.append(
            Problem(
                ProblemCode.HEADER_TAX,
                "tax",
                f"合计税额 {header_tax} 不等于各行税额之和 {sums.tax}",
            )
        )
    if header_total is not None:
        if header_amount is not None and header_tax is not None:
            expected, what = header_amount + header_tax, "合计金额 + 合计税额"
        else:
            expected, what = sums.total, "各行价税合计之和"
        if header_total != expected:
            problems.append(
                Problem(
                    ProblemCode.HEADER_TOTAL,
                    "total",
                    f"价税合计 {header_total} 不等于{what} {expected}",
                )
            )

    drift = sum(
        (
            line.tax - line.amount * line.rate
            for line in lines
            if line.exemption is TaxExemption.NONE
        ),
        Decimal(0),
    )
    if abs(drift) > ACCUMULATED_TAX_TOLERANCE:
        problems.append(
            Problem(
                ProblemCode.TAX_ACCUMULATED,
                "tax",
                f"各行税额与 金额×税率 的累计误差为 {round2(drift)}，"
                f"超过 ±{ACCUMULATED_TAX_TOLERANCE}",
            )
        )
    return problems


_LABELS = {"amount": "金额", "tax": "税额"}


def _number(value: Number | None, field: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError(f"{field}: float is refused for money; pass a Decimal or str")
    result = to_decimal(value)
    if result is None:
        raise RulesError(Problem(ProblemCode.PRECISION, field, f"无法识别数值“{value}”"))
    return result


def _rate(rate: Number, exemption: TaxExemption) -> Decimal:
    value = parse_rate(rate)
    if exemption is not TaxExemption.NONE and value != 0:
        raise RulesError(
            Problem(
                ProblemCode.EXEMPTION_RATE,
                "rate",
                f"{exemption.label}项目的税率应为 0，而不是 {percent(value)}",
            )
        )
    return value


def _line_tax(amount: Decimal, rate: Decimal, exemption: TaxExemption) -> Decimal:
    if exemption is not TaxExemption.NONE or rate == 0:
        return Decimal("0.00")
    return round2(amount * rate)


def _normalize_rate(value: Decimal) -> Decimal:
    """Two decimals where that is exact (0.13), three otherwise (0.015)."""
    for places in ("0.01", "0.001", "0.0001"):
        quantized = value.quantize(Decimal(places))
        if quantized == value:
            return quantized
    return value
