"""Images (JPG, PNG, ...: photos and scans of invoices): the QR code, then OCR as last resort.

The image is turned upright by its EXIF orientation (phone photos), then searched for the QR code
with crops, rotations, binarized and upscaled variants (see `qrcode.search`).
"""

from __future__ import annotations

from PIL import Image, ImageOps

from fapiao.verification.extraction import layout, limits, ocr, qrcode
from fapiao.verification.extraction.result import Candidate, Found


def extract(data: bytes, budget: limits.Budget) -> Found:
    image = limits.open_image(data)
    found = Found(pages=1, pages_read=1)
    try:
        upright = ImageOps.exif_transpose(image) or image
    except (OSError, ValueError, SyntaxError):
        upright = image
    if upright.mode not in ("L", "RGB"):
        upright = _flatten(upright)
    search = qrcode.search(upright, budget, thorough=True)
    if search.payload is not None:
        found.add(qrcode.candidate(search.payload, "qr"))
    found.qr_refusals = search.refusals
    if search.payload is None:
        if ocr.available():
            budget.check()
            fields, evidence = layout.read_pages([ocr.glyphs(upright)])
            found.add(Candidate("ocr", fields, evidence=evidence))
        else:
            found.ocr_unavailable = True
    return found


def _flatten(image: Image.Image) -> Image.Image:
    """Transparent PNGs on white, palette and 16-bit images to 8-bit: what zxing reads."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, "white")
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB") if image.mode in ("P", "CMYK", "YCbCr") else image.convert("L")
