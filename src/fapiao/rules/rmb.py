"""Amounts in capitals (大写) as invoices print them, and back.

Canonical style, as on the real invoices in ../realdata: 圆 (not 元); 整 after 圆; nothing after 角
(伍拾叁圆肆角); never 整 after 分; 壹拾 rather than 拾 at the head (壹拾万圆整); one 零 for a run of
zeros inside the number (贰万零陆佰柒拾圆整, 壹拾圆零伍分); 负 before a negative amount (红字).

Some issuers differ: 叁拾元零肆角玖分 (元, and a 零 before 角 after a round 圆 figure) and
伍仟玖佰伍拾肆圆捌角整 (整 after 角) are both real. `capital` can produce those styles on request,
`matches_capital` accepts any of them, and `parse_capital` reads them all.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from itertools import product

from fapiao.rules.problems import Problem, ProblemCode, RulesError
from fapiao.rules.text import nfkc, to_decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
LIMIT = Decimal(10) ** 12  # 壹万亿: beyond any invoice, and beyond the 亿 section
_SMALL_UNITS = ("仟", "佰", "拾", "")
_SECTIONS = ((10**8, "亿"), (10**4, "万"), (1, ""))
_CENT = Decimal("0.01")
_NOISE = "⊗ⓧ×(（)）人民币大写:： "


def capital(
    amount: Decimal | int | str,
    *,
    yuan: str = "圆",
    zheng_after_jiao: bool = False,
    zero_before_jiao: bool = False,
) -> str:
    """大写 of an amount, rounded to 分 with ROUND_HALF_UP; raises RulesError from 1e12 up.

    yuan: '圆' (canonical) or '元'. zheng_after_jiao: 捌角整 instead of 捌角. zero_before_jiao:
    叁拾元零肆角 instead of 叁拾元肆角 (only where the 元 digit is 0).
    """
    value = _decimal(amount).quantize(_CENT, rounding=ROUND_HALF_UP)
    if abs(value) >= LIMIT:
        raise RulesError(
            Problem(
                ProblemCode.CAPITAL_TOO_LARGE,
                "amount",
                f"金额 {value} 过大：大写金额只支持一万亿以下",
            )
        )
    sign = "负" if value < 0 else ""
    cents = int(abs(value) * 100)
    whole, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if jiao == 0 and fen == 0:
        return f"{sign}{_integer(whole) if whole else '零'}{yuan}整"
    text = sign + (_integer(whole) + yuan if whole else "")
    if jiao:
        if whole and zero_before_jiao and whole % 10 == 0:
            text += "零"
        text += DIGITS[jiao] + "角"
        text += DIGITS[fen] + "分" if fen else ("整" if zheng_after_jiao else "")
    else:
        text += ("零" if whole else "") + DIGITS[fen] + "分"
    return text


def capital_styles(amount: Decimal | int | str) -> frozenset[str]:
    """Every printed form this module knows for the amount (元/圆, 角整, 零角)."""
    return frozenset(
        capital(amount, yuan=y, zheng_after_jiao=z, zero_before_jiao=zero)
        for y, z, zero in product(("圆", "元"), (False, True), (False, True))
    )


def matches_capital(text: str, amount: Decimal | int | str) -> bool:
    """Whether a printed 大写 (⊗ and spaces allowed) is a known form of the amount."""
    return _clean(text) in capital_styles(amount)


def parse_capital(text: str) -> Decimal:
    """The amount a 大写 stands for: '⊗贰万零陆佰柒拾圆整' → Decimal('20670.00').

    Tolerant of 元/圆, 整/正, a leading ⊗, spaces, missing or extra 零, and 拾 for 壹拾. Refuses
    (RulesError) repeated or out-of-order units: 壹万万圆整, 壹佰贰佰圆, 壹亿万圆整, 伍分伍角.
    """
    cleaned = _clean(text)
    if not cleaned:
        raise _invalid(text, "内容为空")
    negative = cleaned.startswith("负")
    body = cleaned.removeprefix("负").rstrip("整正")
    yuan_at = max(body.rfind("圆"), body.rfind("元"))
    if yuan_at >= 0:
        whole_text, fraction_text = body[:yuan_at], body[yuan_at + 1 :]
    elif body.endswith(("角", "分")):
        whole_text, fraction_text = "", body
    else:
        whole_text, fraction_text = body, ""
    if not whole_text and (yuan_at >= 0 or not fraction_text):
        raise _invalid(text, "没有数字")
    whole = _parse_integer(whole_text, text)
    cents = _parse_fraction(fraction_text, text)
    value = (Decimal(whole) + Decimal(cents) / 100).quantize(_CENT)
    return -value if negative else value


def _integer(n: int) -> str:
    """Words for 1 ≤ n < 10**12, with 壹拾 at the head and one 零 per run of inner zeros."""
    text = ""
    pending_zero = False
    for size, unit in _SECTIONS:
        section = n // size % 10**4
        if section == 0:
            pending_zero = pending_zero or bool(text)
            continue
        if text and (pending_zero or section < 1000):
            text += "零"
        text += _section(section) + unit
        pending_zero = False
    return text


def _section(n: int) -> str:
    """Words for 1 ≤ n ≤ 9999 without leading or trailing 零."""
    text = ""
    zero = False
    for digit, unit in zip(f"{n:04d}", _SMALL_UNITS, strict=True):
        if digit == "0":
            zero = zero or bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += DIGITS[int(digit)] + unit
    return text


_SMALL_VALUES = {"拾": 10, "佰": 100, "仟": 1000}
_SECTION_VALUES = {"万": 10**4, "亿": 10**8}


def _parse_integer(words: str, original: str) -> int:
    """Digits and units, each unit smaller than the one before it in its section (仟 > 佰 > 拾),
    and the section units in order (亿 > 万), each at most once: 壹佰贰佰, 壹万万 and 壹亿万 are
    refused. 拾 without a digit means 壹拾; a missing or extra 零 is tolerated."""
    total = section = 0
    digit: int | None = None
    last_small = last_section = 10**12  # the last unit seen; the next one must be smaller
    for ch in words:
        if ch in DIGITS:
            if digit:
                raise _invalid(original, f"“{ch}”前缺少单位")
            digit = DIGITS.index(ch)
        elif ch in _SMALL_VALUES:
            if digit is None and ch != "拾":
                raise _invalid(original, f"“{ch}”前缺少数字")
            unit = _SMALL_VALUES[ch]
            if unit >= last_small:
                raise _invalid(original, f"单位“{ch}”重复或顺序不对")
            section += (1 if digit is None else digit) * unit
            last_small, digit = unit, None
        elif ch in _SECTION_VALUES:
            unit = _SECTION_VALUES[ch]
            if unit >= last_section:
                raise _invalid(original, f"单位“{ch}”重复或顺序不对")
            value = section + (digit or 0)
            if not value:
                raise _invalid(original, f"“{ch}”前缺少数字")
            total += value * unit
            section, digit = 0, None
            last_small, last_section = 10**12, unit
        else:
            raise _invalid(original, f"无法识别“{ch}”")
    return total + section + (digit or 0)


def _parse_fraction(words: str, original: str) -> int:
    cents = 0
    digit: int | None = None
    seen = ""  # the units read so far: 角 must come before 分, each at most once
    for ch in words:
        if ch in DIGITS:
            if digit:
                raise _invalid(original, f"“{ch}”前缺少单位")
            digit = DIGITS.index(ch)
        elif ch in "角分" and digit is not None:
            if ch in seen or (ch == "角" and "分" in seen):
                raise _invalid(original, f"单位“{ch}”重复或顺序不对")
            cents += digit * (10 if ch == "角" else 1)
            seen += ch
            digit = None
        else:
            raise _invalid(original, f"角分部分无法识别“{ch}”")
    if digit:
        raise _invalid(original, "角分部分缺少单位")
    return cents


def _clean(text: str) -> str:
    cleaned = "".join(nfkc(text).split())
    for ch in _NOISE:
        cleaned = cleaned.replace(ch, "")
    return cleaned


def _decimal(amount: Decimal | int | str) -> Decimal:
    if isinstance(amount, float):
        raise TypeError("capital() refuses float; pass a Decimal or str")
    value = to_decimal(amount)
    if value is None:
        raise RulesError(Problem(ProblemCode.CAPITAL_INVALID, "amount", f"无法识别金额“{amount}”"))
    return value


def _invalid(text: str, why: str) -> RulesError:
    return RulesError(
        Problem(ProblemCode.CAPITAL_INVALID, "amount_in_words", f"大写金额“{text}”{why}")
    )
