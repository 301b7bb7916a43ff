"""Mainland mobile numbers as typed: 138 0013 8000, +86 13800138000, 8613800138000."""

import re

from fapiao.rules.text import normalize_code

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_mobile(value: str) -> str | None:
    """The 11-digit number, or None when the input is not a mainland mobile number."""
    text = normalize_code(value or "").replace("-", "").replace("(", "").replace(")", "")
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    return text if _MOBILE.match(text) else None
