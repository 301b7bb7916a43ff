"""Normalisation of what users type or OCR returns: full-width forms, stray spaces, ¥ signs."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

# Zero-width characters survive NFKC and str.split(); copy-paste from PDFs brings them in.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_AMOUNT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


def nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s).translate(_INVISIBLE)


def is_digits(s: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts '²' and other scripts' digits."""
    return s.isascii() and s.isdigit()


def normalize_code(s: str | None) -> str:
    """Full-width to half-width, all whitespace removed (inner too), upper case."""
    if s is None:
        return ""
    return "".join(nfkc(s).split()).upper()


def to_decimal(s: str | int | Decimal | None) -> Decimal | None:
    """Parse an amount as printed or typed: '¥1,234.50', '￥ 6.2', '１２３', '-0.5 元'.

    Returns None when the text is not a finite number. Floats are refused: money never
    passes through binary floating point.
    """
    if s is None:
        return None
    if isinstance(s, bool | float):
        raise TypeError("to_decimal() refuses float and bool; pass a str or Decimal")
    if isinstance(s, Decimal):
        return s if s.is_finite() else None
    if isinstance(s, int):
        return Decimal(s)
    text = "".join(nfkc(s).split())
    text = text.replace("\u2212", "-").replace(",", "").replace("¥", "").replace("￥", "")
    text = text.removesuffix("元").removesuffix("圆")
    if not _AMOUNT.fullmatch(text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
