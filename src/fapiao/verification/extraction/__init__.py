"""Extraction: invoice data from the files users have, in one shape, each field with its source.

    extract_file(path_or_bytes, *, name=None) -> list[Extraction]  # one, or one per ZIP member
    extract_many(paths) -> Iterator[Extraction]

Readers per kind: pdf (text layer and QR), ofd (attached XML, custom tags, GraphCode, page text,
QR), xml (数电 EInvoice and the legacy/XBRL variants), image (QR, OCR), archive (ZIP). merge.py
combines their findings best-first and reports conflicts; limits.py bounds hostile input.
"""

from fapiao.verification.extraction.limits import ExtractionError
from fapiao.verification.extraction.pipeline import extract_file, extract_many
from fapiao.verification.extraction.result import INVOICE_KEYS, Extraction

__all__ = ["INVOICE_KEYS", "Extraction", "ExtractionError", "extract_file", "extract_many"]
