"""Reading single values as invoices print them: dates, money, digit runs, tax IDs, titles."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from fapiao.rules import rmb
from fapiao.rules.problems import RulesError
from fapiao.rules.text import nfkc, normalize_code, to_decimal

_DATE = re.compile(r"((?:19|20)[0-9]{2})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?")
_DATE_COMPACT = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})([01][0-9])([0-3][0-9])(?![0-9])")
_MONEY = re.compile(r"-?[0-9][0-9,]*\.[0-9]{1,2}(?![0-9])|-?[0-9]+(?![0-9.])")
_CAPITAL_CHARS = re.compile(r"[负零壹贰叁肆伍陆柒捌玖拾佰仟万亿圆元角分整正]+")

# Titles printed on the form → QR-channel type codes (docs/domain.md §1). Most specific first.
_TITLES = (
    (re.compile(r"电子发票\(增值税专用发票\)"), "31"),
    (re.compile(r"电子发票\(普通发票\)"), "32"),
    (re.compile(r"电子发票\(铁路电子客票\)"), "51"),
    (re.compile(r"增值税电子普通发票\(通行费\)"), "14"),
    (re.compile(r"增值税电子专用发票"), "08"),
    (re.compile(r"增值税电子普通发票"), "10"),
    (re.compile(r"增值税普通发票\(卷票\)"), "11"),
    (re.compile(r"增值税专用发票"), "01"),
    (re.compile(r"增值税普通发票"), "04"),
)


def clean(text: str | None) -> str:
    """NFKC (full-width forms, Kangxi radicals such as ⼦ → 子), trimmed."""
    return nfkc(text or "").strip()


def squeeze(text: str | None) -> str:
    """Without any whitespace, NFKC'd: '1 8 0 0 1' → '18001'."""
    return "".join(clean(text).split())


def parse_date(text: str | None) -> dt.date | None:
    """2022年05月05日, 2022-09-01, 2025-03-07 17:22:19, 20220505 → a date; None if none."""
    s = clean(text)
    if not s:
        return None
    found = _DATE.search(s) or _DATE_COMPACT.search(s.replace(" ", ""))
    if not found:
        return None
    try:
        return dt.date(*(int(g) for g in found.groups()))
    except ValueError:
        return None


def parse_money(text: str | None) -> Decimal | None:
    """'¥ 2,129.34' → Decimal('2129.34'); '***' (tax-exempt) is not money: None."""
    s = squeeze(text).replace("￥", "¥").lstrip("¥")
    if not s:
        return None
    value = to_decimal(s)
    if value is None:
        found = _MONEY.search(s)
        value = to_decimal(found.group(0)) if found else None
    return value


def money_str(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return f"{value.quantize(Decimal('0.01')):f}"


def digits(text: str | None) -> str:
    return re.sub(r"[^0-9]", "", squeeze(text))


def parse_capital(text: str | None) -> Decimal | None:
    """The amount a printed 大写 stands for ('⊗贰万圆整'), or None when it is not one."""
    found = _CAPITAL_CHARS.findall(squeeze(text))
    if not found:
        return None
    words = max(found, key=len)
    if not re.search(r"[圆元角分]", words):
        return None
    try:
        return rmb.parse_capital(words)
    except RulesError:
        return None


def tax_id(text: str | None) -> str | None:
    """A 纳税人识别号 as printed: 15 to 20 letters and digits (or 个人); None when none."""
    s = normalize_code(text)
    if s == "个人":
        return s
    found = re.search(r"[0-9A-Z]{15,20}", s)
    return found.group(0) if found else None


def title_type(text: str | None) -> str | None:
    """The QR-channel type code of a printed title such as 电子发票（增值税专用发票）."""
    s = squeeze(text)
    for pattern, code in _TITLES:
        if pattern.search(s):
            return code
    return None


def plain_number(text: str | None) -> str | None:
    """A quantity, price or rate as printed, cleaned ('1.00', '13%'); None when empty."""
    s = squeeze(text).replace("￥", "").replace("¥", "")
    return s or None
