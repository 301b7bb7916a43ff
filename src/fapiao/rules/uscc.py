"""纳税人识别号: 统一社会信用代码 (GB 32100-2015), old 15-character IDs, and individuals.

A failed check character is a warning, never a rejection: some real, legal codes fail it (early
Fujian codes such as 91350100M0001TGQXM), and the tax bureau, not us, is the authority.

Structure of an 18-character code (errors, not warnings): position 1 must be a registering
authority (1-9, A, N, Y), positions 3-8 (the division code) must be digits, and for the
authorities 1 机构编制, 5 民政 and 9 工商 position 2 must be one of their 机构类别. The 机构类别 of
the other authorities (2-8, A, N, Y) are not checked: their tables come from later amendments and
secondary sources, not reliable enough to reject a code on. An 18-character value failing the
structure is still accepted as a 居民身份证号 when it is one.

Individuals: an 18-character 居民身份证号 is recognised by its ISO 7064 MOD 11-2 check and birth
date; 17- and 20-character individual IDs (an ID number plus a 2-digit serial) are accepted as
well-formed without a check, unless they are all zeros or all letters. A 17-character value
that is a 统一社会信用代码 (authority, 机构类别, 6-digit division) or a 居民身份证号 missing one
character is reported as one character short. The word `个人` (what 数电 invoices print for a
natural-person buyer without an ID) is accepted as an individual, well-formed, with nothing to
check (checksum_ok None, region None).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from fapiao.rules.problems import Problem, ProblemCode, RulesError
from fapiao.rules.regions import Region, region_from_division, region_from_uscc
from fapiao.rules.text import is_digits, normalize_code

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES = {c: i for i, c in enumerate(CHARSET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# 1 机构编制, 2 外交, 3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教, 8 工会, 9 工商,
# A 中央军委改革和编制办公室, N 农业, Y 其他. python-stdnum wrongly rejects A, N and Y.
AUTHORITIES = frozenset("123456789ANY")
# 机构类别 (position 2) of the authorities whose categories are checked; see the module doc.
ENTITY_TYPES: dict[str, dict[str, str]] = {
    "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
}
_AUTHORITY_NAMES = {"1": "机构编制", "5": "民政", "9": "工商"}
NATURAL_PERSON = "个人"

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class UsccKind(StrEnum):
    USCC = "uscc"  # 统一社会信用代码, 18 characters
    LEGACY15 = "legacy15"  # 15-character 纳税人识别号 from before 2015
    INDIVIDUAL = "individual"  # 居民身份证号 or another individual ID, or 个人
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class UsccCheck:
    input: str
    normalized: str
    kind: UsccKind
    well_formed: bool
    checksum_ok: bool | None  # None: nothing to check (17/20-char IDs, 个人, malformed input)
    region: Region | None
    problems: tuple[Problem, ...]
    message: str

    @property
    def ok(self) -> bool:
        """Acceptable as a tax ID; warnings (such as a failed check character) may remain."""
        return self.well_formed


def check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a USCC."""
    body = normalize_code(first17)
    if len(body) != 17:
        raise RulesError(
            Problem(ProblemCode.USCC_LENGTH, None, f"需要 17 位本体代码，输入了 {len(body)} 位")
        )
    bad = _illegal_chars(body, None)
    if bad:
        raise RulesError(*bad)
    return _uscc_check_char(body)


def make(first17: str) -> str:
    """Append the check character: used to generate demo data that passes the checksum."""
    body = normalize_code(first17)
    return body + check_char(body)


def check(code: str | None, *, field: str | None = None) -> UsccCheck:
    """Classify and check a 纳税人识别号; `field` names the form field in the problems."""
    raw = code or ""
    text = normalize_code(raw)
    if text == NATURAL_PERSON:
        return UsccCheck(
            raw, text, UsccKind.INDIVIDUAL, True, None, None, (), "购买方为自然人（个人）"
        )
    if not text:
        p = Problem(ProblemCode.USCC_EMPTY, field, "请填写纳税人识别号")
        return _malformed(raw, text, UsccKind.UNKNOWN, [p])
    length = len(text)
    if length == 18:
        return _check18(raw, text, field)
    if length == 15:
        return _check15(raw, text, field)
    if length in (17, 20):
        bad = _illegal_chars(text, field, charset=_ALNUM, kind_label="纳税人识别号")
        if bad:
            return _malformed(raw, text, UsccKind.INDIVIDUAL, bad)
        if length == 17 and not _old_id_based(text):
            short = _one_short(raw, text, field)
            if short is not None:
                return short
        if set(text) == {"0"} or text.isalpha():
            what = "全为 0" if set(text) == {"0"} else "全是字母"
            p = Problem(
                ProblemCode.USCC_IMPLAUSIBLE,
                field,
                f"{length} 位个人纳税人识别号不能{what}，请核对",
            )
            return _malformed(raw, text, UsccKind.INDIVIDUAL, [p])
        region = region_from_division(text[:6]) if is_digits(text[:6]) else None
        return UsccCheck(
            raw,
            text,
            UsccKind.INDIVIDUAL,
            True,
            None,
            region,
            (),
            f"{length} 位个人纳税人识别号，长度合法（此类号码无校验位）",
        )
    p = Problem(
        ProblemCode.USCC_LENGTH,
        field,
        f"纳税人识别号长度为 {length} 位；统一社会信用代码应为 18 位"
        "（旧税号 15 位，个人 17、18 或 20 位）",
    )
    return _malformed(raw, text, UsccKind.UNKNOWN, [p])


def _check18(raw: str, text: str, field: str | None) -> UsccCheck:
    bad = _illegal_chars(text, field)
    structure = _structure(text, field)
    checksum_ok = not bad and _uscc_check_char(text[:17]) == text[17]
    looks_like_id = is_digits(text[:17]) and (is_digits(text[17]) or text[17] == "X")
    valid_uscc = not bad and not structure and checksum_ok
    if looks_like_id and not valid_uscc and _id_card_ok(text):
        return UsccCheck(
            raw,
            text,
            UsccKind.INDIVIDUAL,
            True,
            True,
            region_from_division(text[:6]),
            (),
            "居民身份证号码格式正确",
        )
    if bad or structure:
        return _malformed(raw, text, UsccKind.USCC, bad + structure)
    problems: list[Problem] = []
    if not checksum_ok:
        problems.append(
            Problem(
                ProblemCode.USCC_CHECKSUM,
                field,
                "校验位不符，请核对（部分早期合法代码也会出现此情况）",
            )
        )
    message = "；".join(p.message for p in problems) if problems else "统一社会信用代码格式正确"
    return UsccCheck(
        raw,
        text,
        UsccKind.USCC,
        True,
        checksum_ok,
        region_from_uscc(text),
        tuple(problems),
        message,
    )


def _structure(text: str, field: str | None) -> list[Problem]:
    """Authority (position 1), 机构类别 (2) and division code (3-8) of a 统一社会信用代码.

    Characters outside the charset are left to `_illegal_chars`, so nothing is reported twice.
    """
    problems = []
    authority, entity = text[0], text[1]
    if authority in _VALUES and authority not in AUTHORITIES:
        problems.append(
            Problem(
                ProblemCode.USCC_AUTHORITY,
                field,
                f"统一社会信用代码第 1 位是登记管理部门代码，应为 1-9、A、N 或 Y，"
                f"输入的是“{authority}”",
            )
        )
    elif authority in ENTITY_TYPES and entity in _VALUES and entity not in ENTITY_TYPES[authority]:
        allowed = "、".join(f"{k} {v}" for k, v in ENTITY_TYPES[authority].items())
        problems.append(
            Problem(
                ProblemCode.USCC_ENTITY_TYPE,
                field,
                f"统一社会信用代码第 2 位是机构类别代码：登记管理部门“{authority}”"
                f"（{_AUTHORITY_NAMES[authority]}）下只有 {allowed}，输入的是“{entity}”",
            )
        )
    division = text[2:8]
    if any(c in _VALUES and not is_digits(c) for c in division):
        problems.append(
            Problem(
                ProblemCode.USCC_REGION,
                field,
                f"统一社会信用代码第 3-8 位是登记管理机关行政区划码，应为 6 位数字，"
                f"输入的是“{division}”",
            )
        )
    return problems


def _old_id_based(text: str) -> bool:
    """17 digits = a 15-digit 居民身份证号 (region, YYMMDD, serial) plus a 2-digit serial."""
    return (
        is_digits(text)
        and region_from_division(text[:6]) is not None
        and _date_or_none(1900 + int(text[6:8]), text[8:10], text[10:12]) is not None
    )


def _one_short(raw: str, text: str, field: str | None) -> UsccCheck | None:
    """A 17-character 统一社会信用代码 or 居民身份证号 missing one character, else None."""
    if (
        is_digits(text)
        and region_from_division(text[:6]) is not None
        and _date_or_none(int(text[6:10]), text[10:12], text[12:14]) is not None
    ):
        kind, label = UsccKind.INDIVIDUAL, "居民身份证号码"
    elif (
        text[0] in AUTHORITIES
        and (text[1] in ENTITY_TYPES[text[0]] if text[0] in ENTITY_TYPES else is_digits(text[1]))
        and is_digits(text[2:8])
        and all(c in _VALUES for c in text)
    ):
        kind, label = UsccKind.USCC, "统一社会信用代码"
    else:
        return None
    p = Problem(ProblemCode.USCC_LENGTH, field, f"{label}应为 18 位，输入了 17 位（少 1 位）")
    return _malformed(raw, text, kind, [p])


def _check15(raw: str, text: str, field: str | None) -> UsccCheck:
    problems: list[Problem] = []
    if not is_digits(text[:6]):
        pos = next(i for i, c in enumerate(text[:6]) if not is_digits(c))
        problems.append(
            Problem(
                ProblemCode.USCC_CHAR,
                field,
                f"15 位税号的前 6 位是行政区划代码，第 {pos + 1} 位的“{text[pos]}”应为数字",
            )
        )
    problems += _illegal_chars(text[6:], field, charset=_ALNUM, offset=6, kind_label="组织机构代码")
    if problems:
        return _malformed(raw, text, UsccKind.LEGACY15, problems)
    org = text[6:]
    checksum_ok = _org_check_char(org[:8]) == org[8]
    warnings: tuple[Problem, ...] = ()
    message = "15 位纳税人识别号（旧税号）格式正确"
    if not checksum_ok:
        message = "15 位税号中组织机构代码的校验位不符，请核对"
        warnings = (Problem(ProblemCode.LEGACY15_CHECKSUM, field, message),)
    return UsccCheck(
        raw,
        text,
        UsccKind.LEGACY15,
        True,
        checksum_ok,
        region_from_division(text[:6]),
        warnings,
        message,
    )


def _malformed(raw: str, text: str, kind: UsccKind, problems: list[Problem]) -> UsccCheck:
    message = "；".join(p.message for p in problems)
    return UsccCheck(raw, text, kind, False, None, None, tuple(problems), message)


def _illegal_chars(
    text: str,
    field: str | None,
    *,
    charset: str | frozenset[str] = CHARSET,
    offset: int = 0,
    kind_label: str = "统一社会信用代码",
) -> list[Problem]:
    problems = []
    for i, c in enumerate(text):
        if c in charset:
            continue
        why = "I/O/S/V/Z 不是合法字符" if c in "IOSVZ" and charset is CHARSET else "不是合法字符"
        problems.append(
            Problem(
                ProblemCode.USCC_CHAR,
                field,
                f"{kind_label}第 {i + 1 + offset} 位是“{c}”，{why}",
            )
        )
    return problems


def _uscc_check_char(body17: str) -> str:
    total = sum(_VALUES[c] * w for c, w in zip(body17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def _org_check_char(body8: str) -> str:
    # 组织机构代码 (GB 11714): digits are their value, letters A=10 … Z=35.
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def _id_card_ok(text: str) -> bool:
    """居民身份证号: ISO 7064 MOD 11-2 check and a real birth date not in the future."""
    total = sum(int(c) * w for c, w in zip(text[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != text[17]:
        return False
    born = _date_or_none(int(text[6:10]), text[10:12], text[12:14])
    return born is not None


def _date_or_none(year: int, month: str, day: str) -> dt.date | None:
    """A birth date from 1900 to today, or None."""
    try:
        born = dt.date(year, int(month), int(day))
    except ValueError:
        return None
    return born if dt.date(1900, 1, 1) <= born <= dt.date.today() else None
