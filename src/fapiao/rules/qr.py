"""The invoice QR payload: `01,<type>,<code>,<number>,<amount>,<YYYYMMDD>,<check code>,<crc>[,]`.

Error style: `parse` raises `QrError` (a `RulesError`, hence a `ValueError`) for anything that is
not an invoice payload or lacks the number or date; every lesser defect is a warning in
`QrPayload.problems`.

Amount: legacy invoices carry 合计金额 excluding tax; 数电 invoices carry 价税合计 including tax
(52 of 52 legacy and 8 of 8 数电 real invoices in ../realdata).

Tolerance: full-width commas and digits, surrounding whitespace, an optional trailing comma, empty
fields written as a space, lower-case hex, amounts such as `6.2` or `57`, and a missing field:
fields are aligned by shape (type, code, number, amount, date, check code, crc), not by position.
A date written `2020-10-10` (or with `/`, `.`, 年月日) is read, with a `qr_date_format` warning.
When no alignment fits, up to two unrecognisable fields (a 19-digit check code, an amount
`300.001`, an extra trailing field) are set aside with a `qr_field_unrecognized` warning each, the
slot they stood in left empty; this only for payloads starting with `01,` whose number and date
are recognised.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from fapiao.rules import types
from fapiao.rules.problems import Problem, ProblemCode, RulesError
from fapiao.rules.text import is_digits, nfkc
from fapiao.rules.types import Channel, InvoiceType

VERSION = "01"
_CENT = Decimal("0.01")
_SLOTS = ("version", "type_code", "code", "number", "amount", "issue_date", "check_code", "crc")
_MAY_BE_EMPTY = frozenset({"code", "check_code", "crc"})
_SKIP_COST = 1.0
_JUNK_COST = 3.0  # an unrecognisable token, in a slot or beyond them: dearer than any shape match
_MAX_JUNK = 2
_DATE = re.compile(r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^www\.", re.IGNORECASE)
_CHECK_CODE_TYPES = frozenset({"04", "10", "11", "14"})  # 普票 kinds print a 校验码
_LABELS = {
    "version": "版本",
    "type_code": "发票种类",
    "code": "发票代码",
    "number": "发票号码",
    "amount": "金额",
    "issue_date": "开票日期",
    "check_code": "校验码",
    "crc": "末尾校验字段",
}


class QrError(RulesError):
    """The text is not a usable invoice QR payload."""


@dataclass(frozen=True, slots=True)
class QrPayload:
    version: str
    type_code: str | None
    type: InvoiceType | None  # on the QR channel
    code: str | None  # None for 数电
    number: str
    amount: Decimal | None
    amount_includes_tax: bool
    issue_date: dt.date
    check_code: str | None
    crc: str | None
    problems: tuple[Problem, ...]
    raw: str

    @property
    def is_digital(self) -> bool:
        return self.amount_includes_tax

    @property
    def check_code_last6(self) -> str | None:
        return self.check_code[-6:] if self.check_code else None

    @property
    def amount_excluding_tax(self) -> Decimal | None:
        """合计金额 (legacy payloads); None where the payload carries the total instead."""
        return None if self.amount_includes_tax else self.amount

    @property
    def total(self) -> Decimal | None:
        """价税合计 (数电 payloads); None where the payload carries the amount excluding tax."""
        return self.amount if self.amount_includes_tax else None

    @property
    def dedup_key(self) -> tuple[str, str]:
        return (self.code or "", self.number)


def parse(text: str) -> QrPayload:
    """Parse a decoded QR payload; raises QrError if it is not an invoice payload."""
    if not isinstance(text, str) or not text.strip():
        raise QrError(Problem(ProblemCode.QR_NOT_INVOICE, None, "二维码内容为空"))
    cleaned = nfkc(text).strip()
    if _URL.match(cleaned):
        raise QrError(
            Problem(
                ProblemCode.QR_NOT_INVOICE,
                None,
                "这个二维码是一个网址，不是发票二维码（发票二维码以“01,”开头，由逗号分隔）",
            )
        )
    if is_digits(cleaned):
        raise QrError(
            Problem(
                ProblemCode.QR_NOT_INVOICE,
                None,
                f"二维码内容是一串 {len(cleaned)} 位数字（可能是单据的追踪码），不是发票二维码",
            )
        )
    tokens = ["".join(t.split()) for t in cleaned.split(",")]
    while tokens and not tokens[-1]:
        tokens.pop()
    not_invoice = QrError(
        Problem(
            ProblemCode.QR_NOT_INVOICE,
            None,
            "这个二维码不是发票二维码（发票二维码以“01,”开头，由逗号分隔）",
        )
    )
    if len(tokens) < 4 or not re.fullmatch(r"[0-9]{2}", tokens[0]):
        raise not_invoice
    fields = _align(tokens)
    complete = fields is not None and fields.get("number") and fields.get("issue_date")
    junk: list[tuple[str | None, str]] = []
    if not complete and tokens[0] == VERSION:
        tolerant = _align(tokens, junk=junk)
        if (
            tolerant is not None
            and tolerant.get("number")
            and tolerant.get("issue_date")
            and len(junk) <= _MAX_JUNK
        ):
            fields, complete = tolerant, True
        else:
            junk = []
    if not complete and tokens[0] != VERSION:
        # Only text that starts like a payload ("01,") is reported as a damaged invoice payload.
        raise not_invoice
    if fields is None:
        raise QrError(
            Problem(
                ProblemCode.QR_MALFORMED,
                None,
                f"无法识别二维码中的字段：{cleaned[:80]}",
            )
        )
    for slot in ("number", "issue_date"):
        if not fields.get(slot):
            raise QrError(
                Problem(
                    ProblemCode.QR_INCOMPLETE,
                    slot,
                    f"二维码中缺少{_LABELS[slot]}，无法识别这张发票",
                )
            )
    return _assemble(
        version=fields.get("version") or VERSION,
        type_code=fields.get("type_code") or None,
        code=fields.get("code") or None,
        number=fields["number"],
        amount=_amount(fields.get("amount")),
        issue_date=_date(fields["issue_date"]),
        check_code=fields.get("check_code") or None,
        crc=(fields.get("crc") or "").upper() or None,
        raw=text,
        version_missing="version" not in fields and not any(s == "version" for s, _ in junk),
        notes=_notes(fields["issue_date"], junk),
    )


def _notes(date_token: str, junk: list[tuple[str | None, str]]) -> list[Problem]:
    """Warnings for what parse() read leniently: a reformatted date, unrecognisable fields."""
    notes = []
    if not re.fullmatch(r"[0-9]{8}", date_token):
        read = _date(date_token)
        notes.append(
            Problem(
                ProblemCode.QR_DATE_FORMAT,
                "issue_date",
                f"开票日期“{date_token}”不是 YYYYMMDD 格式，已按 {read:%Y%m%d} 读取",
            )
        )
    for slot, token in junk:
        message = (
            f"二维码中的{_LABELS[slot]}“{token}”格式不正确，无法识别，已忽略"
            if slot
            else f"二维码中多出无法识别的字段“{token}”，已忽略"
        )
        notes.append(Problem(ProblemCode.QR_FIELD_UNRECOGNIZED, slot, message))
    return notes


def build(
    *,
    type_code: str,
    number: str,
    amount: Decimal,
    issue_date: dt.date,
    code: str | None = None,
    check_code: str | None = None,
    crc: str | None = None,
    version: str = VERSION,
) -> QrPayload:
    """A payload from its parts, validated strictly; `raw` is its canonical text."""
    checks = (
        ("version", version, r"[0-9]{2}"),
        ("type_code", type_code, r"[0-9]{2}"),
        ("number", number, r"[0-9]{8}|[0-9]{20}"),
        ("code", code, r"[0-9]{10}|[0-9]{12}"),
        ("check_code", check_code, r"[0-9]{20}"),
        ("crc", crc, r"[0-9A-Fa-f]{4}"),
    )
    bad = [
        Problem(ProblemCode.QR_MALFORMED, slot, f"{_LABELS[slot]}“{value}”格式不正确")
        for slot, value, pattern in checks
        if value is not None and not re.fullmatch(pattern, value)
    ]
    if not isinstance(amount, Decimal) or not amount.is_finite():
        bad.append(Problem(ProblemCode.QR_MALFORMED, "amount", "金额必须是有限的 Decimal"))
    if bad:
        raise QrError(*bad)
    payload = _assemble(
        version=version,
        type_code=type_code,
        code=code,
        number=number,
        amount=_quantize(amount),
        issue_date=issue_date,
        check_code=check_code,
        crc=crc.upper() if crc else None,
        raw="",
        version_missing=False,
    )
    return replace(payload, raw=format(payload))


def format(payload: QrPayload) -> str:
    """Canonical text: amount with two decimals, upper-case crc, trailing comma on legacy only.

    The trailing-comma rule mirrors the real corpus (tax-control devices print one, 数电 does not).
    """
    amount = "" if payload.amount is None else f"{_quantize(payload.amount):f}"
    parts = [
        payload.version,
        payload.type_code or "",
        payload.code or "",
        payload.number,
        amount,
        payload.issue_date.strftime("%Y%m%d"),
        payload.check_code or "",
        payload.crc or "",
    ]
    text = ",".join(parts)
    return text if payload.is_digital else text + ","


def _assemble(
    *,
    version: str,
    type_code: str | None,
    code: str | None,
    number: str,
    amount: Decimal | None,
    issue_date: dt.date,
    check_code: str | None,
    crc: str | None,
    raw: str,
    version_missing: bool,
    notes: list[Problem] | None = None,
) -> QrPayload:
    problems: list[Problem] = list(notes or ())
    unrecognized = {p.field for p in problems if p.code == ProblemCode.QR_FIELD_UNRECOGNIZED}

    def warn(code_: ProblemCode, field: str, message: str) -> None:
        problems.append(Problem(code_, field, message))

    def missing(field: str) -> None:
        if field not in unrecognized:  # already reported as unrecognisable
            warn(ProblemCode.QR_FIELD_MISSING, field, f"二维码中缺少{_LABELS[field]}")

    if version_missing:
        missing("version")
    elif version != VERSION:
        warn(ProblemCode.QR_VERSION, "version", f"二维码版本“{version}”不常见（通常为 01）")
    invoice_type = types.lookup(Channel.QR, type_code) if type_code else None
    if type_code is None:
        missing("type_code")
    elif invoice_type is None:
        warn(ProblemCode.QR_UNKNOWN_TYPE, "type_code", f"发票种类代码“{type_code}”未知")
    digital = len(number) == 20
    if digital and code:
        warn(ProblemCode.QR_CODE_UNEXPECTED, "code", f"数电发票没有发票代码，二维码却带有“{code}”")
    if not digital and not code:
        missing("code")
    if invoice_type and invoice_type.is_digital != digital:
        expected = "20 位数电号码" if invoice_type.is_digital else "发票代码和 8 位号码"
        warn(
            ProblemCode.QR_TYPE_MISMATCH,
            "type_code",
            f"发票种类“{invoice_type.name}”应配{expected}，与二维码中的号码不符",
        )
    if amount is None:
        missing("amount")
    if check_code is None and type_code in _CHECK_CODE_TYPES:
        missing("check_code")
    if crc is None:
        missing("crc")
    return QrPayload(
        version=version,
        type_code=type_code,
        type=invoice_type,
        code=code,
        number=number,
        amount=amount,
        amount_includes_tax=digital or bool(invoice_type and invoice_type.is_digital),
        issue_date=issue_date,
        check_code=check_code,
        crc=crc,
        problems=tuple(problems),
        raw=raw,
    )


def _align(
    tokens: list[str], junk: list[tuple[str | None, str]] | None = None
) -> dict[str, str] | None:
    """Assign tokens to slots in order, each slot at most once, skipping slots that are missing.

    Cost: 1 per missing slot plus a small penalty for weak matches (an integer amount, an
    unknown type code); the cheapest alignment wins. Returns None if no alignment exists.

    With `junk` (a list to fill), a token may also be set aside as unrecognisable, in a slot or
    beyond the slots, at a cost above any shape match; the set-aside tokens are appended to
    `junk` as (slot or None, token) and left out of the result.
    """
    n_tok, n_slot = len(tokens), len(_SLOTS)
    inf = float("inf")
    cost = [[inf] * (n_slot + 1) for _ in range(n_tok + 1)]
    back: dict[tuple[int, int], tuple[int, int]] = {}
    set_aside: set[tuple[int, int]] = set()  # cells reached by setting a token aside
    cost[0][0] = 0.0

    def relax(i: int, j: int, to: tuple[int, int], step: float, aside: bool = False) -> None:
        if cost[i][j] + step < cost[to[0]][to[1]]:
            cost[to[0]][to[1]] = cost[i][j] + step
            back[to] = (i, j)
            if aside:
                set_aside.add(to)
            else:
                set_aside.discard(to)

    for i in range(n_tok + 1):
        for j in range(n_slot + 1):
            if cost[i][j] == inf:
                continue
            if i < n_tok and j < n_slot:
                penalty = _match(_SLOTS[j], tokens[i])
                if penalty is not None:
                    relax(i, j, (i + 1, j + 1), penalty)
                if junk is not None:
                    relax(i, j, (i + 1, j + 1), _JUNK_COST, aside=True)
            if j < n_slot:
                relax(i, j, (i, j + 1), _SKIP_COST)
            if i < n_tok and junk is not None:  # a token beyond the slots: likeliest at the end
                extra = _JUNK_COST if j == n_slot else _JUNK_COST + 0.05
                relax(i, j, (i + 1, j), extra, aside=True)
    if cost[n_tok][n_slot] == inf:
        return None
    fields: dict[str, str] = {}
    found: list[tuple[str | None, str]] = []
    i, j = n_tok, n_slot
    while (i, j) != (0, 0):
        pi, pj = back[(i, j)]
        if (i, j) in set_aside:
            found.append((_SLOTS[pj] if pj < j else None, tokens[pi]))
        elif pi < i:
            fields[_SLOTS[pj]] = tokens[pi]
        i, j = pi, pj
    if junk is not None:
        junk.extend(reversed(found))
    return fields


def _match(slot: str, token: str) -> float | None:
    if not token:
        return 0.0 if slot in _MAY_BE_EMPTY else 0.9
    match slot:
        case "version":
            return (0.0 if token == VERSION else 0.8) if re.fullmatch(r"[0-9]{2}", token) else None
        case "type_code":
            if not re.fullmatch(r"[0-9]{2}", token):
                return None
            return 0.0 if types.lookup(Channel.QR, token) else 0.5
        case "code":
            return 0.0 if re.fullmatch(r"[0-9]{10}|[0-9]{12}", token) else None
        case "number":
            return 0.0 if re.fullmatch(r"[0-9]{8}|[0-9]{20}", token) else None
        case "amount":
            if re.fullmatch(r"-?[0-9]+\.[0-9]{1,2}", token):
                return 0.0
            return 0.3 if re.fullmatch(r"-?[0-9]+", token) else None
        case "issue_date":
            if _date_or_none(token) is None:
                return None
            return 0.0 if re.fullmatch(r"[0-9]{8}", token) else 0.2
        case "check_code":
            return 0.0 if re.fullmatch(r"[0-9]{20}", token) else None
        case "crc":
            return 0.0 if re.fullmatch(r"[0-9A-Fa-f]{4}", token) else None
    return None


def _amount(token: str | None) -> Decimal | None:
    return _quantize(Decimal(token)) if token else None


def _quantize(amount: Decimal) -> Decimal:
    value = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    return value if value else abs(value)  # no '-0.00'


def _date_or_none(token: str) -> dt.date | None:
    """YYYYMMDD, or a date written with separators (2020-10-10, 2020/10/10, 2020年10月10日)."""
    if re.fullmatch(r"[0-9]{8}", token):
        parts = (token[:4], token[4:6], token[6:8])
    elif found := _DATE.fullmatch(token):
        parts = found.groups()
    else:
        return None
    try:
        return dt.date(*(int(p) for p in parts))
    except ValueError:
        return None


def _date(token: str) -> dt.date:
    value = _date_or_none(token)
    if value is None:  # _align only accepts valid dates; kept for type narrowing
        raise QrError(Problem(ProblemCode.QR_MALFORMED, "issue_date", f"开票日期“{token}”无效"))
    return value
