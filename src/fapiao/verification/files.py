"""Uploaded files: what we accept, ZIP archives opened into their files, stored copies, previews.

A batch and a single upload accept PDF, OFD, 数电 XML, JPG/PNG images and ZIP archives of these.
The kind comes from the bytes (the extraction pipeline's sniffing), never from the name alone.
Archives are opened here with the extraction package's bounds (member count, sizes, compression
ratio, nesting) so that each file inside becomes a row of its own, stored for its preview.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from django.core.files.base import ContentFile
from PIL import Image

from fapiao.verification.extraction import Extraction, archive, extract_file, limits, pipeline
from fapiao.verification.extraction.limits import ExtractionError, fail, human_size

MAX_UPLOAD_BYTES = limits.MAX_FILE_BYTES  # one file, as the extraction reads it
MAX_BATCH_BYTES = 200 * 1024 * 1024  # all the files of one batch together
MAX_BATCH_FILES = limits.MAX_ARCHIVE_MEMBERS  # files in one batch, archives opened
ACCEPTED_EXTENSIONS = (".pdf", ".ofd", ".xml", ".jpg", ".jpeg", ".png", ".zip")
ACCEPT_ATTRIBUTE = ",".join(ACCEPTED_EXTENSIONS)
ACCEPTED_KINDS = frozenset({"pdf", "ofd", "xml", "jpeg", "png", "zip"})
PREVIEW_PAGES = 3
PREVIEW_SIDE = 1400  # pixels on the longer side
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')

# PDFium is not thread-safe and the web workers run threads: every use of it here (extraction,
# previews, readability checks) holds this lock.
PDFIUM = threading.RLock()


@dataclass(frozen=True)
class Leaf:
    """One file to verify: a file as uploaded, or a file inside a ZIP (`ARCHIVE/MEMBER`)."""

    name: str
    data: bytes | None
    error: dict[str, str] | None = None


def upload_problem(name: str, size: int, head: bytes) -> str | None:
    """Why an upload is refused before anything is read (size, kind); None when acceptable."""
    if size == 0:
        return f"“{name}”是空文件（0 字节）"
    if size > MAX_UPLOAD_BYTES:
        return (
            f"“{name}”过大（{human_size(size)}），单个文件不能超过 {human_size(MAX_UPLOAD_BYTES)}；"
            "请压缩图片或拆分压缩包后再上传"
        )
    ext = posixpath.splitext(name.lower())[1]
    if ext not in ACCEPTED_EXTENSIONS:
        return f"“{name}”的类型不支持：只接受 PDF、OFD、XML、JPG、PNG 和 ZIP 文件"
    kind = limits.sniff(head)
    if kind is None or (kind not in ACCEPTED_KINDS and kind != "zip"):
        return f"“{name}”的内容不是 PDF、OFD、XML、JPG、PNG 或 ZIP 文件"
    return None


def read_upload(uploaded) -> bytes:
    """An UploadedFile's bytes (its size was checked first)."""
    uploaded.seek(0)
    return uploaded.read(MAX_UPLOAD_BYTES + 1)


def head_of(uploaded) -> bytes:
    uploaded.seek(0)
    head = uploaded.read(1024)
    uploaded.seek(0)
    return head


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_name(name: str) -> str:
    """A name fit for storage: the base name, no path separators or control characters."""
    base = posixpath.basename(name.replace("\\", "/")) or "file"
    base = _UNSAFE.sub("_", base).strip(". ") or "file"
    stem, ext = posixpath.splitext(base)
    return stem[:80] + ext[:10]


def content_file(data: bytes, name: str) -> ContentFile:
    return ContentFile(data, name=safe_name(name))


def extract(data: bytes, name: str) -> list[Extraction]:
    """The extraction of one upload or leaf, with PDFium to itself."""
    with PDFIUM:
        return extract_file(data, name=name)


def kind_of(data: bytes, name: str) -> str | None:
    try:
        return pipeline.detect(data, name)
    except ExtractionError:
        return None


# --- archives ----------------------------------------------------------------------------------


def leaves(data: bytes, name: str, *, depth: int = 0) -> Iterator[Leaf]:
    """The files to verify in an upload: itself, or each file of a ZIP (one level of nested ZIPs
    is opened too). A member that cannot be read is a leaf with its error."""
    try:
        if not data:
            raise fail("empty_file")
        kind = pipeline.detect(data, name)
    except ExtractionError as error:
        yield Leaf(name, None, error.as_dict())
        return
    if kind != "zip":
        yield Leaf(name, data)
        return
    if depth >= limits.MAX_ARCHIVE_DEPTH:
        yield Leaf(name, None, fail("archive_too_deep", limit=limits.MAX_ARCHIVE_DEPTH).as_dict())
        return
    try:
        opened = limits.open_zip(data)
    except ExtractionError as error:
        yield Leaf(name, None, error.as_dict())
        return
    members = 0
    for info in opened.infolist():
        if info.is_dir():
            continue
        member = archive.member_name(info)
        base = posixpath.basename(member)
        if (
            member.startswith(archive.SKIPPED[0])
            or base in archive.SKIPPED
            or base.startswith("._")
        ):
            continue
        members += 1
        file = f"{name}/{member}"
        try:
            payload = limits.read_member(opened, info)
        except ExtractionError as error:
            yield Leaf(file, None, error.as_dict())
            continue
        yield from leaves(payload, file, depth=depth + 1)
    if not members:
        yield Leaf(name, None, fail("not_invoice", detail="压缩包中没有文件").as_dict())


def count_leaves(data: bytes, name: str) -> int:
    """How many rows an upload gives, counted from the archive directory without reading
    members (a nested ZIP counts as one; the batch corrects its total as it goes)."""
    if kind_of(data, name) != "zip":
        return 1
    try:
        opened = limits.open_zip(data)
    except ExtractionError:
        return 1
    count = 0
    for info in opened.infolist():
        member = archive.member_name(info)
        base = posixpath.basename(member)
        if info.is_dir() or member.startswith(archive.SKIPPED[0]) or base in archive.SKIPPED:
            continue
        if not base.startswith("._"):
            count += 1
    return max(count, 1)


# --- previews ----------------------------------------------------------------------------------


def preview_pages(data: bytes, kind: str) -> int:
    """How many preview images a stored file has (0: no preview, e.g. OFD or XML)."""
    if kind == "pdf":
        with PDFIUM:
            try:
                pdf = pdfium.PdfDocument(data)
            except (pdfium.PdfiumError, ValueError, OSError):
                return 0
            try:
                return min(len(pdf), PREVIEW_PAGES)
            finally:
                pdf.close()
    if kind in limits.IMAGE_KINDS:
        return 1
    return 0


def preview_png(data: bytes, kind: str, page: int = 1) -> bytes | None:
    """Page `page` (from 1) of a PDF, or an image, as PNG at most PREVIEW_SIDE pixels wide."""
    if kind == "pdf":
        with PDFIUM:
            image = _render_pdf(data, page - 1)
    elif kind in limits.IMAGE_KINDS and page == 1:
        try:
            image = limits.open_image(data)
        except ExtractionError:
            return None
        image = image.convert("RGB")
        image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    else:
        return None
    if image is None:
        return None
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _render_pdf(data: bytes, index: int) -> Image.Image | None:
    try:
        pdf = pdfium.PdfDocument(data)
    except (pdfium.PdfiumError, ValueError, OSError):
        return None
    try:
        if not 0 <= index < min(len(pdf), PREVIEW_PAGES):
            return None
        page = pdf[index]
        try:
            width, height = page.get_size()
            scale = min(3.0, PREVIEW_SIDE / max(width, height, 1.0))
            bitmap = page.render(scale=scale, may_draw_forms=True)
            try:
                return bitmap.to_pil().convert("RGB")
            finally:
                bitmap.close()
        finally:
            page.close()
    finally:
        pdf.close()


def readable_problem(data: bytes, name: str) -> str | None:
    """Why a supporting document cannot be opened (corrupt, encrypted, disguised); None if fine."""
    try:
        kind = pipeline.detect(data, name)
    except ExtractionError as error:
        return f"“{name}”：{error.message}"
    try:
        if kind == "pdf":
            with PDFIUM:
                _open_pdf(data)
        elif kind in limits.IMAGE_KINDS:
            limits.open_image(data).close()
        elif kind in ("zip", "ofd"):
            limits.open_zip(data, what=kind)
    except ExtractionError as error:
        return f"“{name}”：{error.message}"
    return None


def _open_pdf(data: bytes) -> None:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if getattr(error, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise fail("pdf_encrypted") from error
        raise fail("pdf_corrupt", detail=str(error)) from error
    except (ValueError, OSError) as error:
        raise fail("pdf_corrupt", detail=str(error)) from error
    try:
        if len(pdf) == 0:
            raise fail("pdf_corrupt", detail="没有页面")
    finally:
        pdf.close()
