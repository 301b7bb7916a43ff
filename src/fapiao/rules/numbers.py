"""发票代码 and 发票号码: what they say (year, region, type hint) and what a user got wrong.

Recognised shapes:
- 数电: a 20-digit number and no code. Digits 1-2 year, 3-4 region (计划单列市 in the 90s),
  5 issuing channel, 6-20 sequence. The year must lie between FIRST_DIGITAL_YEAR and the current
  year (`today`, by default date.today()): `digital_year` before, `digital_year_future` after.
- legacy: a 10- or 12-digit code plus an 8-digit number. The type derived from the code is a hint
  only: the widely copied rule has exceptions (a real 广西 电子普票 has kind digits 12, not 11).

`code` and `number` in the result are the normalised input; when letters were mistaken for digits
(O for 0, I or l for 1), the derived fields come from the corrected digits and the corrected pair
is offered in `suggestions`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from fapiao.rules import types
from fapiao.rules.problems import Problem, ProblemCode, RulesError
from fapiao.rules.regions import Region, region_from_digital, region_from_legacy
from fapiao.rules.text import is_digits, nfkc, normalize_code
from fapiao.rules.types import Channel, InvoiceType

DIGITAL_LENGTH = 20
LEGACY_NUMBER_LENGTH = 8
LEGACY_CODE_LENGTHS = (10, 12)
FIRST_DIGITAL_YEAR = 2021  # 数电 pilots began in December 2021
_CONFUSABLE = {"O": "0", "I": "1", "L": "1"}

# Kind digits 11-12 of a 12-digit code → QR-channel type (hint only).
_KIND_HINTS = {
    "11": "10",
    "04": "04",
    "05": "04",
    "06": "11",
    "07": "11",
    "12": "14",
    "13": "08",
}
# Digit 8 of a 10-digit code → QR-channel type (hint only).
_DIGIT8_HINTS = {"1": "01", "5": "01", "3": "04", "6": "04"}


class NumberKind(StrEnum):
    DIGITAL = "digital"  # 数电: 20-digit number, no code
    LEGACY = "legacy"  # 发票代码 (10 or 12 digits) + 8-digit 发票号码


Suggestion = tuple[str | None, str]  # (code, number); code None for 数电


@dataclass(frozen=True, slots=True)
class NumberInfo:
    kind: NumberKind | None
    ok: bool
    code: str | None
    number: str
    year: int | None
    region: Region | None
    channel_digit: str | None
    sequence: str | None
    type_hint: InvoiceType | None
    problems: tuple[Problem, ...]
    suggestions: tuple[Suggestion, ...]

    @property
    def dedup_key(self) -> tuple[str, str]:
        """查重 key: code + number, or the number alone for 数电."""
        return (self.code or "", self.number)


@dataclass(frozen=True, slots=True)
class _Analysis:
    kind: NumberKind | None = None
    year: int | None = None
    region: Region | None = None
    channel_digit: str | None = None
    sequence: str | None = None
    type_hint: InvoiceType | None = None
    code: str | None = None


def parse(code: str | None, number: str | None, *, today: dt.date | None = None) -> NumberInfo:
    """Parse what a user typed (or OCR read) as 发票代码 and 发票号码; never raises.

    `today` (default date.today()) bounds the year of a 数电 number: a later year is an error.
    """
    this_year = (today or dt.date.today()).year
    problems: list[Problem] = []
    code_in = normalize_code(code)
    number_in = normalize_code(number)
    code_fixed = _fix_letters(code, "code", "发票代码", problems)
    number_fixed = _fix_letters(number, "number", "发票号码", problems)
    letters_fixed = code_fixed != code_in or number_fixed != number_in

    problems += _not_digits(code_fixed, "code", "发票代码")
    problems += _not_digits(number_fixed, "number", "发票号码")
    suggestions: list[Suggestion] = []
    if any(p.code == ProblemCode.NUMBER_NOT_DIGITS for p in problems):
        analysis = _Analysis()
    else:
        analysis = _analyze(code_fixed, number_fixed, problems, suggestions, this_year)

    digital_number_given = analysis.kind is NumberKind.DIGITAL and len(number_fixed) == 20
    if (
        letters_fixed
        and not suggestions
        and not _errors(problems, ignore=ProblemCode.NUMBER_LETTER)
    ):
        suggestions.append((analysis.code, number_fixed))
    return NumberInfo(
        kind=analysis.kind,
        ok=not _errors(problems),
        code=None if digital_number_given else (code_in or None),
        number=number_in,
        year=analysis.year,
        region=analysis.region,
        channel_digit=analysis.channel_digit,
        sequence=analysis.sequence,
        type_hint=analysis.type_hint,
        problems=tuple(problems),
        suggestions=tuple(dict.fromkeys(suggestions)),
    )


def digital_number(year: int, region_code: str | Region, channel: str | int, sequence: int) -> str:
    """Build a 20-digit 数电 number (for issuing and demo data); raises RulesError on bad input."""
    problems: list[Problem] = []
    if not FIRST_DIGITAL_YEAR <= year <= 2099:
        problems.append(
            Problem(
                ProblemCode.DIGITAL_YEAR,
                "year",
                f"年份应在 {FIRST_DIGITAL_YEAR} 至 2099 之间，收到 {year}",
            )
        )
    code2 = region_code.digital_code if isinstance(region_code, Region) else str(region_code)
    if region_from_digital(code2) is None:
        problems.append(
            Problem(
                ProblemCode.DIGITAL_REGION_UNKNOWN,
                "region_code",
                f"“{code2}”不是已知的数电发票地区代码",
            )
        )
    channel_text = str(channel)
    if len(channel_text) != 1 or not is_digits(channel_text):
        problems.append(Problem(ProblemCode.NUMBER_NOT_DIGITS, "channel", "开具渠道应为 1 位数字"))
    if not 0 <= sequence < 10**15:
        problems.append(
            Problem(
                ProblemCode.NUMBER_LENGTH, "sequence", "顺序号应为 0 至 15 位数字以内的非负整数"
            )
        )
    if problems:
        raise RulesError(*problems)
    return f"{year % 100:02d}{code2}{channel_text}{sequence:015d}"


def _analyze(
    code: str,
    number: str,
    problems: list[Problem],
    suggestions: list[Suggestion],
    this_year: int,
) -> _Analysis:
    lc, ln = len(code), len(number)
    if not code and not number:
        problems.append(Problem(ProblemCode.NUMBER_EMPTY, "number", "请填写发票号码"))
        return _Analysis()
    if not number:
        if lc == DIGITAL_LENGTH and _digital_plausible(code):
            problems.append(
                Problem(
                    ProblemCode.CODE_NUMBER_SWAPPED,
                    "number",
                    "20 位数电发票号码填在了发票代码栏；数电发票没有发票代码，请填在发票号码栏",
                )
            )
            suggestions.append((None, code))
            return _digital(code, [], this_year)
        problems.append(Problem(ProblemCode.NUMBER_EMPTY, "number", "请填写发票号码"))
        return _Analysis()

    if ln == DIGITAL_LENGTH:
        if number[0] == "0" and _legacy_code_plausible(number[:12]):
            problems.append(
                Problem(
                    ProblemCode.LEGACY_JOINED,
                    "number",
                    "这串 20 位数字像是 12 位发票代码和 8 位发票号码连在一起，请分开填写",
                )
            )
            suggestions.append((number[:12], number[12:]))
            return _legacy(number[:12], number[12:], [])
        if code:
            problems.append(
                Problem(
                    ProblemCode.CODE_NOT_NEEDED,
                    "code",
                    f"数电发票没有发票代码，已忽略所填代码“{code}”",
                )
            )
        return _digital(number, problems, this_year)

    if not code:
        if ln == 18 and _legacy_code_plausible(number[:10]):
            problems.append(
                Problem(
                    ProblemCode.LEGACY_JOINED,
                    "number",
                    "这串 18 位数字像是 10 位发票代码和 8 位发票号码连在一起，请分开填写",
                )
            )
            suggestions.append((number[:10], number[10:]))
            return _legacy(number[:10], number[10:], [])
        problems.append(_missing_code_or_length(number))
        return _Analysis()

    joined = code + number
    if (
        len(joined) == DIGITAL_LENGTH
        and _digital_plausible(joined)
        and not (ln == LEGACY_NUMBER_LENGTH and _legacy_code_plausible(code))
    ):
        problems.append(
            Problem(
                ProblemCode.DIGITAL_SPLIT,
                "number",
                f"这是一张数电发票：20 位号码被拆成了代码和号码，合起来是 {joined}，"
                "请把它整个填在发票号码栏，发票代码留空",
            )
        )
        suggestions.append((None, joined))
        return _digital(joined, [], this_year)
    if lc == LEGACY_NUMBER_LENGTH and ln in LEGACY_CODE_LENGTHS:
        problems.append(
            Problem(
                ProblemCode.CODE_NUMBER_SWAPPED,
                "code",
                f"发票代码和发票号码填反了：代码应为 {ln} 位的“{number}”，号码应为 8 位的“{code}”",
            )
        )
        suggestions.append((number, code))
        return _legacy(number, code, [])
    if ln == LEGACY_NUMBER_LENGTH and lc in LEGACY_CODE_LENGTHS:
        return _legacy(code, number, problems)

    if lc not in LEGACY_CODE_LENGTHS:
        expected = 12 if lc > 10 else 10
        problems.append(
            Problem(
                ProblemCode.CODE_LENGTH,
                "code",
                f"发票代码应为 10 或 12 位，输入了 {lc} 位{_diff(lc, expected)}",
            )
        )
    if ln != LEGACY_NUMBER_LENGTH:
        problems.append(
            Problem(
                ProblemCode.NUMBER_LENGTH,
                "number",
                f"发票号码应为 8 位，输入了 {ln} 位{_diff(ln, LEGACY_NUMBER_LENGTH)}",
            )
        )
    return _Analysis(kind=NumberKind.LEGACY, code=code)


def _digital(number: str, problems: list[Problem], this_year: int) -> _Analysis:
    yy = int(number[:2])
    if 2000 + yy > this_year:
        problems.append(
            Problem(
                ProblemCode.DIGITAL_YEAR_FUTURE,
                "number",
                f"数电发票号码前两位是年份：“{number[:2]}”表示 {2000 + yy} 年，"
                f"晚于今年（{this_year} 年），请核对",
            )
        )
    elif 2000 + yy < FIRST_DIGITAL_YEAR:
        problems.append(
            Problem(
                ProblemCode.DIGITAL_YEAR,
                "number",
                f"数电发票号码前两位是年份：“{number[:2]}”表示 {2000 + yy} 年，"
                f"而数电发票 {FIRST_DIGITAL_YEAR} 年底才开始开具，请核对",
            )
        )
    region = region_from_digital(number[2:4])
    if region is None:
        problems.append(
            Problem(
                ProblemCode.DIGITAL_REGION_UNKNOWN,
                "number",
                f"数电发票号码第 3-4 位是地区代码，“{number[2:4]}”不是已知的地区，请核对",
            )
        )
    return _Analysis(
        kind=NumberKind.DIGITAL,
        year=2000 + yy,
        region=region,
        channel_digit=number[4],
        sequence=number[5:],
    )


def _legacy(code: str, number: str, problems: list[Problem]) -> _Analysis:
    hint: str | None
    if len(code) == 12:
        region = region_from_legacy(code[1:5])
        year = _year(code[5:7])
        hint = _KIND_HINTS.get(code[10:12]) if code[0] == "0" else None
        if code[0] != "0":
            problems.append(
                Problem(
                    ProblemCode.CODE_PREFIX,
                    "code",
                    "12 位发票代码通常以 0 开头；其他开头的（如深圳区块链发票）"
                    "不在全国查验平台查验",
                )
            )
        region_digits = code[1:5]
    else:
        region = region_from_legacy(code[:4])
        year = _year(code[4:6])
        hint = _DIGIT8_HINTS.get(code[7])
        region_digits = code[:4]
    if region is None:
        problems.append(
            Problem(
                ProblemCode.LEGACY_REGION_UNKNOWN,
                "code",
                f"发票代码中的地区代码“{region_digits}”不是已知的省级地区，请核对",
            )
        )
    if number == "0" * LEGACY_NUMBER_LENGTH:
        problems.append(
            Problem(ProblemCode.NUMBER_ALL_ZERO, "number", "发票号码不能全为 0，请核对")
        )
    return _Analysis(
        kind=NumberKind.LEGACY,
        year=year,
        region=region,
        type_hint=types.lookup(Channel.QR, hint) if hint else None,
        code=code,
    )


def _missing_code_or_length(number: str) -> Problem:
    ln = len(number)
    if ln == LEGACY_NUMBER_LENGTH:
        return Problem(
            ProblemCode.CODE_MISSING,
            "code",
            "8 位发票号码需要同时填写发票代码（10 或 12 位）；数电发票的号码是 20 位",
        )
    if ln in LEGACY_CODE_LENGTHS:
        return Problem(
            ProblemCode.NUMBER_LENGTH,
            "number",
            f"输入了 {ln} 位，像是发票代码；请把它填在发票代码栏，并填写 8 位发票号码",
        )
    if abs(ln - DIGITAL_LENGTH) <= 2:
        return Problem(
            ProblemCode.NUMBER_LENGTH,
            "number",
            f"数电发票号码应为 20 位，输入了 {ln} 位{_diff(ln, DIGITAL_LENGTH)}",
        )
    if abs(ln - LEGACY_NUMBER_LENGTH) <= 2:
        return Problem(
            ProblemCode.NUMBER_LENGTH,
            "number",
            f"发票号码应为 8 位（并填写发票代码），输入了 {ln} 位{_diff(ln, LEGACY_NUMBER_LENGTH)}",
        )
    return Problem(
        ProblemCode.NUMBER_LENGTH,
        "number",
        f"发票号码应为 20 位（数电发票）或 8 位（另填 10 或 12 位发票代码），输入了 {ln} 位",
    )


def _fix_letters(raw: str | None, field: str, label: str, problems: list[Problem]) -> str:
    text = "".join(nfkc(raw or "").split())
    fixed = []
    mistakes = []
    for i, c in enumerate(text):
        digit = _CONFUSABLE.get(c.upper())
        fixed.append(digit or c.upper())
        if digit is not None:
            mistakes.append(f"第 {i + 1} 位的字母“{c}”应为数字 {digit}")
    if mistakes:
        problems.append(
            Problem(
                ProblemCode.NUMBER_LETTER, field, f"{label}中有字母混作数字：{'，'.join(mistakes)}"
            )
        )
    return "".join(fixed)


def _not_digits(text: str, field: str, label: str) -> list[Problem]:
    return [
        Problem(ProblemCode.NUMBER_NOT_DIGITS, field, f"{label}第 {i + 1} 位是“{c}”，只能是数字")
        for i, c in enumerate(text)
        if not ("0" <= c <= "9")
    ]


def _digital_plausible(number: str) -> bool:
    return (
        len(number) == DIGITAL_LENGTH
        and is_digits(number)
        and 2000 + int(number[:2]) >= FIRST_DIGITAL_YEAR
        and region_from_digital(number[2:4]) is not None
    )


def _legacy_code_plausible(code: str) -> bool:
    if len(code) == 12:
        return code[0] == "0" and region_from_legacy(code[1:5]) is not None
    return len(code) == 10 and region_from_legacy(code[:4]) is not None


def _year(yy: str) -> int:
    value = int(yy)
    return 1900 + value if value >= 90 else 2000 + value


def _diff(given: int, expected: int) -> str:
    if given < expected:
        return f"（少 {expected - given} 位）"
    if given > expected:
        return f"（多 {given - expected} 位）"
    return ""


def _errors(problems: list[Problem], ignore: str | None = None) -> list[Problem]:
    return [p for p in problems if not p.is_warning and p.code != ignore]
