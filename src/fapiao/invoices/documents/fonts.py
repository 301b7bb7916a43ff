"""The CJK font of invoice documents, registered with reportlab once, on first use.

reportlab embeds TrueType outlines only, so the OTF/CFF CJK fonts common on servers (Noto CJK,
Source Han) cannot be used; the repository ships WenQuanYi Micro Hei (TrueType collection, face 0)
with its licence in `fapiao/invoices/fonts/`. Every PDF embeds the subset of glyphs it uses, so
all viewers show the same glyphs whatever fonts the reader has installed.
"""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_PATH = Path(__file__).resolve().parent.parent / "fonts" / "wqy-microhei.ttc"
FONT_NAME = "WenQuanYiMicroHei"

_lock = threading.Lock()
_registered = False


def font_name() -> str:
    """The registered reportlab font name; parses the font file on the first call only."""
    global _registered
    if not _registered:
        with _lock:
            if not _registered:
                pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_PATH), subfontIndex=0))
                _registered = True
    return FONT_NAME


def text_width(text: str, size: float) -> float:
    """Width in points of `text` set in the invoice font at `size`."""
    return pdfmetrics.stringWidth(text, font_name(), size)
