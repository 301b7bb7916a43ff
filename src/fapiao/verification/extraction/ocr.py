"""OCR, the last resort for scans without a text layer or a readable QR code: optional.

One small interface: `engine()` returns a callable that turns a PIL image into positioned text
boxes `[(text, (x0, y0, x1, y1)), ...]`, or None when OCR is not installed. The default engine is
rapidocr (`pip install fapiao[ocr]`); tests and deployments may `set_engine()` another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from PIL import Image

from fapiao.verification.extraction.layout import Glyph, spread

Box = tuple[float, float, float, float]
Engine = Callable[[Image.Image], Sequence[tuple[str, Box]]]

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_engine: Engine | None = None
_probed = False


def set_engine(new: Engine | None) -> None:
    """Install an engine (or None to disable OCR); the next `engine()` call returns it."""
    global _engine, _probed
    with _lock:
        _engine, _probed = new, True


def reset() -> None:
    """Forget the installed engine; the next `engine()` probes rapidocr again."""
    global _engine, _probed
    with _lock:
        _engine, _probed = None, False


def engine() -> Engine | None:
    global _engine, _probed
    with _lock:
        if not _probed:
            _probed = True
            _engine = _rapidocr()
        return _engine


def available() -> bool:
    return engine() is not None


def glyphs(image: Image.Image) -> list[Glyph]:
    """The image's text as glyphs for the layout reader; [] when OCR is unavailable or fails."""
    run = engine()
    if run is None:
        return []
    try:
        boxes = run(image)
    except Exception:  # a broken model must not fail the batch
        logger.exception("OCR failed")
        return []
    found: list[Glyph] = []
    for text, (x0, y0, x1, y1) in boxes:
        found.extend(spread(text, x0, y0, x1, y1))
    return found


def _rapidocr() -> Engine | None:
    try:
        from rapidocr import RapidOCR  # optional dependency: fapiao[ocr]
    except Exception:  # ImportError, or a broken onnxruntime install
        return None
    try:
        reader = RapidOCR()
    except Exception:
        logger.exception("rapidocr is installed but could not start")
        return None

    def run(image: Image.Image) -> list[tuple[str, Box]]:
        result = reader(image.convert("RGB"))
        boxes = getattr(result, "boxes", None)
        texts = getattr(result, "txts", None)
        if boxes is None or texts is None:
            return []
        out = []
        for quad, text in zip(boxes, texts, strict=False):
            xs = [float(p[0]) for p in quad]
            ys = [float(p[1]) for p in quad]
            out.append((str(text), (min(xs), min(ys), max(xs), max(ys))))
        return out

    return run
