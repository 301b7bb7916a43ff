"""PDF: the text layer (pypdfium2), read by label; the QR code on the rendered page; OCR last.

Only the first pages and the last are read for text (the totals of a multi-page invoice stand on
its last page) and only the first pages are rendered for the QR code, so a 100-page PDF costs
what a short one does.
"""

from __future__ import annotations

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from fapiao.verification.extraction import layout, limits, ocr, qrcode
from fapiao.verification.extraction.layout import Glyph
from fapiao.verification.extraction.limits import fail
from fapiao.verification.extraction.result import Candidate, Found

MAX_CHARS = 20_000  # per page
RENDER_SIDE = 1600  # pixels on the page's longer side when rendering for the QR code
OCR_SIDE = 2200


def extract(data: bytes, budget: limits.Budget) -> Found:
    pdf = _open(data)
    found = Found()
    try:
        count = len(pdf)
        if count == 0:
            raise fail("pdf_corrupt", detail="没有页面")
        found.pages = count
        read: set[int] = set()
        text_pages = sorted({*range(min(count, limits.MAX_TEXT_PAGES)), count - 1})
        page_glyphs: dict[int, list[Glyph]] = {}
        for index in text_pages:
            budget.check()
            page_glyphs[index] = _glyphs(pdf, index)
            read.add(index)
        found.has_text = any(page_glyphs.values())
        fields, evidence = layout.read_pages(page_glyphs[i] for i in text_pages)
        if fields:
            found.add(Candidate("pdf_text", fields, evidence=evidence))

        search = qrcode.QrSearch()
        first_render = None
        for index in range(min(count, limits.MAX_QR_PAGES)):
            budget.check()
            image = _render(pdf, index, RENDER_SIDE)
            read.add(index)
            if first_render is None:
                first_render = image
            thorough = not page_glyphs.get(index, True)
            result = qrcode.search(image, budget, thorough=thorough, where=f"第 {index + 1} 页")
            search.merge(result)
            if search.payload is not None:
                break
        if search.payload is not None:
            found.add(qrcode.candidate(search.payload, "qr", search.where))
        found.qr_refusals = search.refusals

        if search.payload is None and not found.has_text:
            if ocr.available():
                budget.check()
                image = _render(pdf, 0, OCR_SIDE)
                glyphs = ocr.glyphs(image)
                ocr_fields, ocr_evidence = layout.read_pages([glyphs])
                found.add(Candidate("ocr", ocr_fields, evidence=ocr_evidence))
            else:
                found.ocr_unavailable = True
        found.pages_read = len(read)
    finally:
        pdf.close()
    return found


def _open(data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if getattr(error, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise fail("pdf_encrypted") from error
        raise fail("pdf_corrupt", detail=_reason(error)) from error
    except (ValueError, OSError) as error:
        raise fail("pdf_corrupt", detail=str(error)) from error


def _reason(error: pdfium.PdfiumError) -> str:
    code = getattr(error, "err_code", None)
    return {
        pdfium_c.FPDF_ERR_FORMAT: "格式错误或文件不完整",
        pdfium_c.FPDF_ERR_FILE: "无法读取",
        pdfium_c.FPDF_ERR_SECURITY: "不支持的加密方式",
    }.get(code, str(error))


def _glyphs(pdf: pdfium.PdfDocument, index: int) -> list[Glyph]:
    """The page's characters with loose boxes (uniform heights keep rows together)."""
    page = pdf[index]
    try:
        _width, height = page.get_size()
        textpage = page.get_textpage()
        try:
            found: list[Glyph] = []
            count = min(textpage.count_chars(), MAX_CHARS)
            for i in range(count):
                code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
                if (
                    code in (0, 0xFFFE, 0xFFFF)
                    or pdfium_c.FPDFText_IsGenerated(textpage.raw, i) == 1
                ):
                    continue
                try:
                    char = chr(code)
                except ValueError:
                    continue
                if char.isspace():
                    continue
                left, bottom, right, top = textpage.get_charbox(i, loose=True)
                g = layout.glyph(char, left, height - top, right, height - bottom)
                if g is not None:
                    found.append(g)
            return found
        finally:
            textpage.close()
    finally:
        page.close()


def _render(pdf: pdfium.PdfDocument, index: int, side: int):
    page = pdf[index]
    try:
        width, height = page.get_size()
        scale = min(4.0, side / max(width, height, 1.0))  # huge pages render small, not huge
        bitmap = page.render(scale=scale, may_draw_forms=False)
        try:
            return bitmap.to_pil().convert("L")
        finally:
            bitmap.close()
    finally:
        page.close()
