"""The judgement of one verification: what was asked against the platform's record.

Plain functions over `Asked` (the inputs, typed or read from a file) and the matched `Invoice`;
the services look the invoice up and record the outcome. The order follows the national
platform (docs/domain.md §3): a malformed input is 格式不正确; an invoice older than five years is
not verified (超过五年); then the record is looked up (查无此票); every input is compared and a
mismatch names each field with both values (不一致); only when everything agrees does the
invoice's status speak (已作废, 已红冲), and a same-day invoice is 当天开具 (the national platform
receives data T+1).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fapiao.invoices.models import Invoice, InvoiceStatus
from fapiao.rules import numbers, types
from fapiao.rules.numbers import NumberInfo, NumberKind
from fapiao.rules.problems import errors
from fapiao.rules.text import is_digits, nfkc, normalize_code, to_decimal
from fapiao.rules.types import Channel, VerificationInput
from fapiao.verification.models import VerificationResult

CENT = Decimal("0.01")
YEARS_VERIFIABLE = 5

LABELS = {
    "code": "发票代码",
    "number": "发票号码",
    "issue_date": "开票日期",
    "amount": "金额（不含税）",
    "tax": "税额",
    "total": "价税合计",
    "check_code": "校验码",
    "check_code_last6": "校验码后六位",
    "seller_tax_id": "销售方纳税人识别号",
    "seller_name": "销售方名称",
    "buyer_tax_id": "购买方纳税人识别号",
    "buyer_name": "购买方名称",
}
INPUT_LABELS = {
    VerificationInput.AMOUNT: "金额（不含税）",
    VerificationInput.CHECK_CODE_LAST6: "校验码后六位",
    VerificationInput.TOTAL: "价税合计",
}
INPUT_FIELDS = {
    VerificationInput.AMOUNT: "amount",
    VerificationInput.CHECK_CODE_LAST6: "check_code",
    VerificationInput.TOTAL: "total",
}


@dataclass
class Asked:
    """What is verified. Typed input gives code, number, date and the type's one extra field;
    a file gives whatever extraction read (the parties too)."""

    code: str = ""
    number: str = ""
    issue_date: dt.date | None = None
    amount: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    check_code: str = ""  # the last six digits (typed) or the whole 校验码 (from a file)
    type_code: str = ""  # QR channel; from the file, or chosen on the form
    seller_tax_id: str = ""
    seller_name: str = ""
    buyer_tax_id: str = ""
    buyer_name: str = ""
    from_file: bool = False


@dataclass
class Problem:
    field: str
    message: str
    code: str = "bad_format"

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}


@dataclass
class Outcome:
    result: VerificationResult
    info: NumberInfo
    invoice: Invoice | None = None
    problems: list[Problem] = field(default_factory=list)
    differences: list[dict[str, str]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str] | None:
        """查重 key (code, number), or None when the number itself is malformed."""
        if any(p.field in ("code", "number") for p in self.problems):
            return None
        return self.info.dedup_key


# --- what the platform asks per type ---------------------------------------------------------


def number_info(code: str | None, number: str | None, *, today: dt.date) -> NumberInfo:
    return numbers.parse(code or None, number or None, today=today)


def invoice_type(info: NumberInfo, type_code: str = "") -> types.InvoiceType | None:
    """The invoice's type: the one given (file, form) where known, else derived from the number;
    a 20-digit number is 数电 (专票 or 普票, which ask the same)."""
    if type_code:
        found = types.lookup(Channel.QR, type_code)
        if found is not None:
            return found
    if info.kind is NumberKind.DIGITAL:
        return types.lookup(Channel.QR, "31")
    return info.type_hint


def required_input(info: NumberInfo, type_code: str = "") -> VerificationInput | None:
    """The extra field the national platform asks for; None when the type is unknown."""
    kind = invoice_type(info, type_code)
    if kind is not None:
        return types.verification_inputs(kind)
    if info.kind is NumberKind.DIGITAL:
        return VerificationInput.TOTAL
    return None


def type_label(info: NumberInfo, type_code: str = "") -> str:
    if info.kind is NumberKind.DIGITAL and not type_code:
        return "数电发票（电子发票）"
    kind = invoice_type(info, type_code)
    return kind.name if kind else ""


# --- parsing typed input ---------------------------------------------------------------------


def parse_money(text: str | None, label: str, name: str, problems: list[Problem]) -> Decimal | None:
    text = (text or "").strip()
    if not text:
        return None
    value = to_decimal(text)
    if value is None:
        problems.append(Problem(name, f"{label}“{text}”不是金额"))
        return None
    if value != value.quantize(CENT):
        problems.append(Problem(name, f"{label}最多两位小数，输入了“{text}”"))
        return None
    if abs(value) >= Decimal("1e15"):
        problems.append(Problem(name, f"{label}“{text}”过大"))
        return None
    return value


_DATE = re.compile(r"^\s*([0-9]{4})\s*[-/.年]?\s*([0-9]{1,2})\s*[-/.月]?\s*([0-9]{1,2})\s*日?\s*$")


def parse_date(text: str | None, problems: list[Problem]) -> dt.date | None:
    text = nfkc(text or "").strip()
    if not text:
        return None
    found = _DATE.match(text)
    if not found:
        problems.append(Problem("issue_date", f"开票日期“{text}”格式不正确，应为 YYYY-MM-DD"))
        return None
    try:
        return dt.date(*(int(g) for g in found.groups()))
    except ValueError:
        problems.append(Problem("issue_date", f"开票日期“{text}”不是有效的日期"))
        return None


def parse_check_code(text: str | None, problems: list[Problem]) -> str:
    digits = normalize_code(text)
    if digits and not (is_digits(digits) and len(digits) == 6):
        problems.append(Problem("check_code", "校验码后六位应为 6 位数字"))
    return digits


# --- the judgement -----------------------------------------------------------------------------


def five_years_before(today: dt.date) -> dt.date:
    try:
        return today.replace(year=today.year - YEARS_VERIFIABLE)
    except ValueError:  # 29 February
        return today.replace(year=today.year - YEARS_VERIFIABLE, day=28)


def format_problems(
    asked: Asked, info: NumberInfo, *, today: dt.date, found: list[Problem] | None = None
) -> list[Problem]:
    """What makes the input unverifiable as it stands (格式不正确); `found` are the problems
    met while reading the typed values."""
    problems = [Problem(p.field or "number", p.message, str(p.code)) for p in errors(info.problems)]
    problems += found or []
    if asked.issue_date is None and not any(p.field == "issue_date" for p in problems):
        what = "文件中未识别到开票日期" if asked.from_file else "请填写开票日期"
        problems.append(Problem("issue_date", what))
    elif asked.issue_date is not None and asked.issue_date > today:
        problems.append(
            Problem("issue_date", f"开票日期 {asked.issue_date:%Y-%m-%d} 晚于今天，请核对")
        )
    needed = required_input(info, asked.type_code)
    if not problems and needed is not None and not asked.from_file:
        name = INPUT_FIELDS[needed]
        if getattr(asked, name) in (None, ""):
            problems.append(Problem(name, f"这类发票查验须填写{INPUT_LABELS[needed]}"))
    nothing_given = asked.amount is None and not asked.check_code and asked.total is None
    if not problems and needed is None and not asked.from_file and nothing_given:
        problems.append(
            Problem("amount", "无法从发票代码判断发票种类：请填写金额（不含税）或校验码后六位")
        )
    return problems


def judge(
    asked: Asked,
    info: NumberInfo,
    invoice: Invoice | None,
    *,
    today: dt.date,
    found: list[Problem] | None = None,
) -> Outcome:
    """The result for `asked`; `invoice` is the platform's record under its code and number,
    `found` the problems met reading the typed values."""
    problems = format_problems(asked, info, today=today, found=found)
    if problems:
        return Outcome(VerificationResult.BAD_FORMAT, info, problems=problems)
    if asked.issue_date < five_years_before(today):
        return Outcome(VerificationResult.TOO_OLD, info)
    if invoice is None:
        return Outcome(VerificationResult.NOT_FOUND, info)
    differences = compare(asked, invoice)
    if differences:
        return Outcome(VerificationResult.MISMATCH, info, invoice, differences=differences)
    return Outcome(status_result(invoice, today=today), info, invoice)


def status_result(invoice: Invoice, *, today: dt.date) -> VerificationResult:
    if invoice.status == InvoiceStatus.VOIDED:
        return VerificationResult.VOIDED
    if invoice.status == InvoiceStatus.PARTLY_RED:
        return VerificationResult.RED_PARTIAL
    if invoice.status in (InvoiceStatus.FULLY_RED, InvoiceStatus.RED_LETTERED):
        return VerificationResult.RED_FULL
    if invoice.issue_date >= today:
        return VerificationResult.SAME_DAY
    return VerificationResult.MATCH


def compare(asked: Asked, invoice: Invoice) -> list[dict[str, str]]:
    """Every field given on both sides that differs, with both values as printed."""
    found: list[dict[str, str]] = []

    def differ(name: str, given: Any, recorded: Any, *, label: str | None = None) -> None:
        found.append(
            {
                "field": name,
                "label": label or LABELS[name],
                "input": _text(given),
                "platform": _text(recorded),
            }
        )

    if asked.issue_date != invoice.issue_date:
        differ("issue_date", asked.issue_date, invoice.issue_date)
    for name in ("amount", "tax", "total"):
        given = getattr(asked, name)
        if given is not None and given.quantize(CENT) != getattr(invoice, name).quantize(CENT):
            differ(name, given, getattr(invoice, name))
    if asked.check_code:
        recorded = normalize_code(invoice.check_code)
        if len(asked.check_code) == 6:
            if recorded[-6:] != asked.check_code:
                differ(
                    "check_code", asked.check_code, recorded[-6:], label=LABELS["check_code_last6"]
                )
        elif recorded and recorded != normalize_code(asked.check_code):
            differ("check_code", asked.check_code, recorded)
    for side in ("seller", "buyer"):
        tax_id = normalize_code(getattr(asked, f"{side}_tax_id"))
        recorded_id = normalize_code(getattr(invoice, f"{side}_tax_id"))
        if tax_id and recorded_id and tax_id != recorded_id:
            differ(f"{side}_tax_id", tax_id, recorded_id)
        name = getattr(asked, f"{side}_name")
        recorded_name = getattr(invoice, f"{side}_name")
        if name and recorded_name and not same_name(name, recorded_name):
            differ(f"{side}_name", name, recorded_name)
    return found


def same_name(read: str, recorded: str) -> bool:
    """Names as printed and as recorded: full-width forms and spaces aside; a name the PDF cut
    short with an ellipsis matches the record it starts."""
    a, b = _squeeze(read), _squeeze(recorded)
    if a.endswith(("…", "...")):
        return b.startswith(a.rstrip(".…"))
    return a == b


def _squeeze(text: str) -> str:
    return "".join(nfkc(text).split())


def _text(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, Decimal):
        return f"{value.quantize(CENT):f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# --- from a file -------------------------------------------------------------------------------


def asked_from_extraction(invoice: dict[str, Any]) -> Asked:
    """What a file's extraction read, as something to verify."""

    def money(key: str) -> Decimal | None:
        return to_decimal(invoice.get(key)) if invoice.get(key) not in (None, "") else None

    day = invoice.get("issue_date")
    return Asked(
        code=invoice.get("code") or "",
        number=invoice.get("number") or "",
        issue_date=dt.date.fromisoformat(day) if day else None,
        amount=money("amount"),
        tax=money("tax"),
        total=money("total"),
        check_code=normalize_code(invoice.get("check_code")),
        type_code=invoice.get("type_code") or "",
        seller_tax_id=invoice.get("seller_tax_id") or "",
        seller_name=invoice.get("seller_name") or "",
        buyer_tax_id=invoice.get("buyer_tax_id") or "",
        buyer_name=invoice.get("buyer_name") or "",
        from_file=True,
    )
