"""Finding the invoice QR code in an image with zxing-cpp.

`search` tries, cheapest first: the whole image (downscaled when huge), an upscaled copy of a
small photo, the four corners at full resolution, other binarizers, a contrast-stretched and
sharpened copy, and the image turned 90°, 180° and 270°. It stops at the first payload the
rules accept as an invoice payload (`fapiao.rules.qr.parse`); codes that are no invoice payload
(a URL, a document-tracking number) are kept in `others` so the caller can say what was found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import zxingcpp
from PIL import Image, ImageFilter, ImageOps

from fapiao.rules import qr
from fapiao.verification.extraction import limits
from fapiao.verification.extraction.result import Candidate

FORMAT = zxingcpp.BarcodeFormat.QRCode
MAX_SIDE = 2400  # larger images are scanned downscaled first; the corners keep full detail
SMALL_SIDE = 1200  # smaller ones are also tried upscaled


@dataclass
class QrSearch:
    payload: qr.QrPayload | None = None
    others: list[str] = field(default_factory=list)  # decoded, but no invoice payload
    refusals: list[str] = field(default_factory=list)  # why the rules refused them (Chinese)
    attempts: int = 0
    where: str = ""

    def merge(self, other: QrSearch) -> None:
        self.attempts += other.attempts
        for text in other.others:
            if text not in self.others:
                self.others.append(text)
        for reason in other.refusals:
            if reason not in self.refusals:
                self.refusals.append(reason)
        if self.payload is None and other.payload is not None:
            self.payload, self.where = other.payload, other.where


def parse_payload(text: str) -> qr.QrPayload | None:
    try:
        return qr.parse(text)
    except qr.QrError:
        return None


def candidate(payload: qr.QrPayload, source: str = "qr", where: str = "") -> Candidate:
    """The QR payload's fields; its amount is 价税合计 for 数电 and 合计金额 for legacy."""
    fields: dict[str, Any] = {
        "type_code": payload.type_code,
        "code": payload.code,
        "number": payload.number,
        "issue_date": payload.issue_date,
        "check_code": payload.check_code,
    }
    if payload.amount is not None:
        fields["total" if payload.amount_includes_tax else "amount"] = payload.amount
    return Candidate(source, {k: v for k, v in fields.items() if v is not None}, where=where)


def decode(image: Image.Image, **options: Any) -> list[str]:
    """Texts of the QR codes zxing-cpp finds in `image` (any mode)."""
    if image.mode not in ("L", "RGB"):
        image = image.convert("L")
    try:
        found = zxingcpp.read_barcodes(image, formats=FORMAT, **options)
    except (ValueError, RuntimeError, TypeError):
        return []
    return [b.text for b in found if b.text]


def search(
    image: Image.Image,
    budget: limits.Budget | None = None,
    *,
    thorough: bool = True,
    where: str = "",
) -> QrSearch:
    """Try the variants of `image` until an invoice payload is found (see the module doc)."""
    result = QrSearch(where=where)
    for variant, options in variants(image, thorough=thorough):
        if budget is not None:
            budget.check()
        result.attempts += 1
        for text in decode(variant, **options):
            try:
                result.payload = qr.parse(text)
                return result
            except qr.QrError as error:
                if text not in result.others:
                    result.others.append(text)
                    result.refusals.append(error.problem.message)
    return result


def variants(image: Image.Image, *, thorough: bool = True) -> Iterator[tuple[Image.Image, dict]]:
    gray = image.convert("L") if image.mode != "L" else image
    width, height = gray.size
    if min(width, height) < 21:  # smaller than the smallest QR symbol
        return
    side = max(width, height)
    base = _fit(gray, MAX_SIDE)
    yield base, {}
    if side < SMALL_SIDE:
        yield _scale(gray, 2.0 if side >= 500 else 3.0), {}
    corners = list(_corners(gray))
    if thorough or side > 900:
        for corner in corners[:1] if not thorough else corners:
            yield corner, {}
    yield base, {"binarizer": zxingcpp.Binarizer.GlobalHistogram}
    if not thorough:
        return
    yield base, {"binarizer": zxingcpp.Binarizer.FixedThreshold}
    stretched = ImageOps.autocontrast(base, cutoff=2).filter(ImageFilter.SHARPEN)
    yield _scale(stretched, 1.5) if side < MAX_SIDE else stretched, {}
    rotate_base = _fit(gray, 1600)
    for angle in (90, 180, 270):
        yield rotate_base.rotate(angle, expand=True), {"try_rotate": False}
    yield _scale(base.filter(ImageFilter.MedianFilter(3)), 2.0 if side < SMALL_SIDE else 1.0), {}
    for corner in corners:
        yield corner, {"binarizer": zxingcpp.Binarizer.GlobalHistogram}


def _fit(image: Image.Image, side: int) -> Image.Image:
    width, height = image.size
    largest = max(width, height)
    if largest <= side:
        return image
    factor = side / largest
    return image.resize((max(1, round(width * factor)), max(1, round(height * factor))),
                        Image.Resampling.LANCZOS)  # fmt: skip


def _scale(image: Image.Image, factor: float) -> Image.Image:
    if factor == 1.0:
        return image
    width, height = image.size
    target = (round(width * factor), round(height * factor))
    if target[0] * target[1] > limits.MAX_IMAGE_PIXELS:
        return image
    return image.resize(target, Image.Resampling.BICUBIC)


def _corners(gray: Image.Image) -> Iterator[Image.Image]:
    """The four corners (55% of each side, so they overlap), top-left first: the QR's place."""
    width, height = gray.size
    w, h = int(width * 0.55), int(height * 0.55)
    boxes = ((0, 0), (width - w, 0), (0, height - h), (width - w, height - h))
    for left, top in boxes:
        crop = gray.crop((left, top, left + w, top + h))
        side = max(crop.size)
        if side > MAX_SIDE:
            crop = _fit(crop, MAX_SIDE)
        elif side < 700:
            crop = _scale(crop, 2.0)
        yield crop
