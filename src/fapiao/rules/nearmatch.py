"""Near matches of invoice numbers: the one-step typo by which an entered number differs.

Patterns (stable codes, shared by the finder and ledger reconciliation):
- one_digit_wrong: one digit substituted;
- adjacent_swap: two neighbouring digits swapped;
- digit_missing: the entered number lacks one digit of the stored one;
- digit_extra: the entered number has one character too many;
- lookalike: letters typed where digits belong (O/o for 0, I/l/| for 1, Z for 2, S for 5, B for 8);
- code_plus_number: a 20-digit 数电 number entered split as a 发票代码 and a 发票号码;
- code_number_swapped: code and number entered in each other's field.

`candidates(entered)` lists every stored number `entered` could be a one-step typo of (about 430
for a 20-digit number), so a caller looks them all up with one indexed `number IN (...)` query;
`classify(entered, stored)` names the pattern of one pair and agrees with `candidates`.
`normalize` only removes spaces and full-width forms: mapping lookalikes is a diagnosis, not a fix.
"""

from __future__ import annotations

from fapiao.rules.text import is_digits, nfkc

ONE_DIGIT = "one_digit_wrong"
ADJACENT_SWAP = "adjacent_swap"
DIGIT_MISSING = "digit_missing"
DIGIT_EXTRA = "digit_extra"
LOOKALIKE = "lookalike"
CODE_PLUS_NUMBER = "code_plus_number"
CODE_NUMBER_SWAPPED = "code_number_swapped"

PATTERNS = (
    ONE_DIGIT,
    ADJACENT_SWAP,
    DIGIT_MISSING,
    DIGIT_EXTRA,
    LOOKALIKE,
    CODE_PLUS_NUMBER,
    CODE_NUMBER_SWAPPED,
)

LABELS: dict[str, str] = {
    ONE_DIGIT: "有一位数字输错",
    ADJACENT_SWAP: "相邻两位数字颠倒",
    DIGIT_MISSING: "漏输了一位数字",
    DIGIT_EXTRA: "多输了一位",
    LOOKALIKE: "把字母当成了数字（如 O 与 0、I 或 l 与 1）",
    CODE_PLUS_NUMBER: "20 位数电发票号码被拆成了发票代码和发票号码",
    CODE_NUMBER_SWAPPED: "发票代码和发票号码填反了",
}

# Letters (and '|') typed or OCR-read where a digit belongs.
LOOKALIKES: dict[str, str] = {
    "O": "0",
    "o": "0",
    "D": "0",
    "Q": "0",
    "I": "1",
    "i": "1",
    "l": "1",
    "L": "1",
    "|": "1",
    "Z": "2",
    "z": "2",
    "S": "5",
    "s": "5",
    "B": "8",
}

_DIGITS = "0123456789"
_INVISIBLE_AND_SEPARATORS = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def normalize(text: str | None) -> str:
    """Full-width forms to ASCII, all whitespace removed; letters are kept as typed."""
    if not text:
        return ""
    return "".join(nfkc(text).translate(_INVISIBLE_AND_SEPARATORS).split())


def candidates(entered: str | None) -> dict[str, str]:
    """Every all-digit number that `entered` is a one-step typo of, mapped to the pattern.

    The entered number itself is not a candidate. Empty input has none.
    """
    e = normalize(entered)
    if not e:
        return {}
    found: dict[str, str] = {}
    n = len(e)
    non_digits = [i for i, ch in enumerate(e) if ch not in _DIGITS]

    # Every lookalike mapped at once.
    if non_digits and all(e[i] in LOOKALIKES for i in non_digits):
        found["".join(LOOKALIKES.get(ch, ch) for ch in e)] = LOOKALIKE
    if len(non_digits) <= 1:
        # One character substituted: the result is all digits only when at most that one wasn't.
        positions = non_digits or range(n)
        for i in positions:
            for d in _DIGITS:
                if d == e[i]:
                    continue
                pattern = LOOKALIKE if LOOKALIKES.get(e[i]) == d else ONE_DIGIT
                found.setdefault(e[:i] + d + e[i + 1 :], pattern)
        # One character too many.
        for i in positions:
            r = e[:i] + e[i + 1 :]
            if r:
                found.setdefault(r, DIGIT_EXTRA)
    if not non_digits:
        for i in range(n - 1):
            if e[i] != e[i + 1]:
                found.setdefault(e[:i] + e[i + 1] + e[i] + e[i + 2 :], ADJACENT_SWAP)
        for i in range(n + 1):
            for d in _DIGITS:
                found.setdefault(e[:i] + d + e[i:], DIGIT_MISSING)
    found.pop(e, None)
    return found


def classify(entered: str | None, stored: str | None) -> str | None:
    """The one-step pattern by which `entered` differs from `stored` (an all-digit number).

    None when they are equal, when `stored` is not all digits, or when they differ otherwise.
    """
    e, s = normalize(entered), normalize(stored)
    if not e or not s or e == s or not is_digits(s):
        return None
    if len(e) == len(s):
        diffs = [i for i in range(len(e)) if e[i] != s[i]]
        if all(LOOKALIKES.get(e[i]) == s[i] for i in diffs):
            return LOOKALIKE
        if len(diffs) == 1:
            return ONE_DIGIT
        if (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and e[diffs[0]] == s[diffs[1]]
            and e[diffs[1]] == s[diffs[0]]
        ):
            return ADJACENT_SWAP
        return None
    if len(e) == len(s) + 1 and _one_deletion(e, s):
        return DIGIT_EXTRA
    if len(e) + 1 == len(s) and _one_deletion(s, e):
        return DIGIT_MISSING
    return None


def identity_candidates(
    entered_code: str | None, entered_number: str | None
) -> dict[tuple[str, str], str]:
    """(code, number) identities the entry could mean by the code/number patterns.

    A 数电 identity has an empty code. Number typos are left to `candidates`.
    """
    c, n = normalize(entered_code), normalize(entered_number)
    found: dict[tuple[str, str], str] = {}
    if c and n and len(c + n) == 20 and is_digits(c + n):
        found[("", c + n)] = CODE_PLUS_NUMBER
    if c and n and c != n:
        found.setdefault((n, c), CODE_NUMBER_SWAPPED)
    if c and not n:
        found.setdefault(("", c), CODE_NUMBER_SWAPPED)
    return found


def classify_identity(
    entered_code: str | None,
    entered_number: str | None,
    stored_code: str | None,
    stored_number: str | None,
) -> str | None:
    """The pattern by which an entered (code, number) differs from a stored one, or None.

    Covers the code/number patterns, then a one-step typo in the number (codes equal, or no code
    entered) or in the code (numbers equal).
    """
    ec, en = normalize(entered_code), normalize(entered_number)
    sc, sn = normalize(stored_code), normalize(stored_number)
    if not sn or (ec, en) == (sc, sn) or (not ec and en == sn):
        return None
    pattern = identity_candidates(ec, en).get((sc, sn))
    if pattern:
        return pattern
    if ec == sc or not ec:
        return classify(en, sn)
    if en == sn and sc:
        return classify(ec, sc)
    return None


def _one_deletion(longer: str, shorter: str) -> bool:
    """True when deleting one character of `longer` gives `shorter`."""
    i = 0
    while i < len(shorter) and longer[i] == shorter[i]:
        i += 1
    return longer[i + 1 :] == shorter[i:]


def describe(entered: str | None, stored: str | None) -> str:
    """Which digit differs, in Chinese ("第 7 位：输入的是“3”，应为“8”"); "" when no pattern."""
    e, s = normalize(entered), normalize(stored)
    pattern = classify(e, s)
    if pattern is None:
        return ""
    first = next((i for i in range(min(len(e), len(s))) if e[i] != s[i]), min(len(e), len(s)))
    if pattern == LOOKALIKE:
        return "；".join(
            f"第 {i + 1} 位的字母“{e[i]}”应为数字“{s[i]}”" for i in range(len(e)) if e[i] != s[i]
        )
    if pattern == ONE_DIGIT:
        return f"第 {first + 1} 位：输入的是“{e[first]}”，应为“{s[first]}”"
    if pattern == ADJACENT_SWAP:
        return (
            f"第 {first + 1}、{first + 2} 位颠倒：输入的是“{e[first : first + 2]}”，"
            f"应为“{s[first : first + 2]}”"
        )
    if pattern == DIGIT_MISSING:
        return f"漏了第 {first + 1} 位的“{s[first]}”：输入了 {len(e)} 位，应为 {len(s)} 位"
    return f"第 {first + 1} 位的“{e[first]}”多余：输入了 {len(e)} 位，应为 {len(s)} 位"
