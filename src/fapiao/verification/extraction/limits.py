"""Bounds for hostile input, and the errors that report a file we refuse or cannot read.

Every failure is an `ExtractionError(code, message)`: a stable snake_case code for clients and a
Chinese message for people. The pipeline turns it into `ok: false`; nothing escapes to the batch.

What is bounded: the file size; pages read for text and rendered for the QR code (a 100-page PDF
costs what a 4-page one does); ZIP members, their declared and actual sizes, the compression
ratio (zip bombs) and nesting depth; image dimensions before any pixel is decoded (decompression
bombs); XML size; and the wall time spent on one file, checked between steps.
"""

from __future__ import annotations

import io
import posixpath
import time
import zipfile
import zlib
from dataclasses import dataclass

from PIL import Image

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TEXT_PAGES = 3  # the first pages for the text layer; the last page too, for the totals
MAX_QR_PAGES = 3  # pages rendered in search of the QR code
MAX_ARCHIVE_MEMBERS = 500
MAX_ARCHIVE_TOTAL = 200 * 1024 * 1024  # uncompressed, all members of one archive together
MAX_MEMBER_BYTES = MAX_FILE_BYTES
MAX_COMPRESSION_RATIO = 200  # for members above RATIO_FLOOR: real invoices stay far below
RATIO_FLOOR = 1024 * 1024
MAX_ARCHIVE_DEPTH = 2  # a ZIP inside a ZIP is read; a third level is refused
MAX_IMAGE_PIXELS = 40_000_000  # 8000 × 5000; checked from the header, before decoding
MAX_OFD_IMAGES = 12
MAX_XML_BYTES = 5 * 1024 * 1024
MAX_OFD_PAGE_XML = 8 * 1024 * 1024
TIME_BUDGET_SECONDS = 20.0
ARCHIVE_TIME_BUDGET_SECONDS = 300.0

MESSAGES = {
    "empty_file": "文件为空（0 字节）",
    "file_too_large": "文件过大（{size}），上限为 {limit}",
    "file_unreadable": "无法读取文件：{detail}",
    "unsupported_format": (
        "无法识别的文件格式（{detail}）；支持 PDF、OFD、XML、JPG/PNG 图片和 ZIP 压缩包"
    ),
    "extension_mismatch": "文件扩展名为 {ext}，但内容是 {actual}；文件可能被改名或伪装，已拒绝",
    "pdf_encrypted": "PDF 已加密（需要密码才能打开），无法读取",
    "pdf_corrupt": "PDF 文件已损坏或不完整，无法打开（{detail}）",
    "ofd_corrupt": "OFD 文件已损坏或不是有效的 OFD（{detail}）",
    "xml_invalid": "XML 无法读取：{detail}",
    "image_corrupt": "图片已损坏或无法解码（{detail}）",
    "image_too_large": (
        "图片尺寸过大（{width}×{height} 像素，上限 {limit} 像素），可能是解压炸弹，已拒绝"
    ),
    "archive_corrupt": "压缩包已损坏，无法打开（{detail}）",
    "archive_encrypted": "压缩包内的文件已加密，无法读取",
    "archive_bomb": "压缩包解压后过大或压缩比异常（{detail}），可能是解压炸弹，已拒绝",
    "archive_too_many_members": "压缩包内文件过多（{count} 个，上限 {limit} 个）",
    "archive_too_deep": "压缩包嵌套过深（超过 {limit} 层），已拒绝",
    "timeout": "处理超时（超过 {seconds} 秒），已停止",
    "not_invoice": "未在文件中找到发票信息：{detail}",
    "ocr_unavailable": (
        "文件中没有文字层，也没有识别到发票二维码；"
        "未安装 OCR 组件（fapiao[ocr]），无法识别扫描件中的文字"
    ),
    "internal_error": "处理文件时发生内部错误（{detail}）",
}


class ExtractionError(Exception):
    """A file we refuse or cannot read: `code` is stable, `message` is Chinese."""

    def __init__(self, code: str, message: str | None = None, **details: object) -> None:
        if message is None:
            template = MESSAGES.get(code, code)
            try:
                message = template.format(**details)
            except (KeyError, IndexError):
                message = template
        super().__init__(message)
        self.code = code
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def fail(code: str, **details: object) -> ExtractionError:
    return ExtractionError(code, **details)


def human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} 字节"


@dataclass
class Budget:
    """Wall time for one file; `check()` between steps raises `timeout` once it is spent."""

    seconds: float | None = None  # default: TIME_BUDGET_SECONDS, read when the budget starts
    started: float = 0.0

    def __post_init__(self) -> None:
        if self.seconds is None:
            self.seconds = TIME_BUDGET_SECONDS
        self.started = self.started or time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def remaining(self) -> float:
        return float(self.seconds or 0) - self.elapsed

    def check(self) -> None:
        if self.remaining < 0:
            raise fail("timeout", seconds=f"{self.seconds:g}")


# Sniffing ---------------------------------------------------------------------------------------

KIND_NAMES = {
    "pdf": "PDF",
    "zip": "ZIP 压缩包",
    "ofd": "OFD",
    "xml": "XML",
    "png": "PNG 图片",
    "jpeg": "JPEG 图片",
    "gif": "GIF 图片",
    "bmp": "BMP 图片",
    "tiff": "TIFF 图片",
    "webp": "WebP 图片",
}
IMAGE_KINDS = frozenset({"png", "jpeg", "gif", "bmp", "tiff", "webp"})
_EXTENSIONS = {
    ".pdf": "pdf",
    ".ofd": "ofd",
    ".zip": "zip",
    ".xml": "xml",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".jpe": "jpeg",
    ".gif": "gif",
    ".bmp": "bmp",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".webp": "webp",
}


def sniff(data: bytes) -> str | None:
    """The file's kind from its first bytes; None when unknown. `zip` covers OFD too."""
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"BM") and len(head) > 26:
        return "bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return "xml"
    if head.startswith((b"\xff\xfe<", b"\xfe\xff\x00<")):
        return "xml"  # UTF-16 with BOM
    return None


def kind_from_name(name: str) -> str | None:
    ext = posixpath.splitext(name.lower())[1]
    return _EXTENSIONS.get(ext)


def family(kind: str | None) -> str | None:
    """Kinds that may stand for one another: an image saved as .jpg that is a PNG still reads."""
    if kind in IMAGE_KINDS:
        return "image"
    if kind in ("zip", "ofd"):
        return "zip"
    return kind


# Archives ---------------------------------------------------------------------------------------


def open_zip(data: bytes, *, what: str = "archive") -> zipfile.ZipFile:
    """A ZipFile whose member count and total size passed the bounds; each member's own size
    and compression ratio are checked when it is read (read_member), so one bad member fails
    alone."""
    corrupt = "ofd_corrupt" if what == "ofd" else "archive_corrupt"
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
    ) as error:
        raise fail(corrupt, detail=str(error) or type(error).__name__) from error
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        raise fail("archive_too_many_members", count=len(infos), limit=MAX_ARCHIVE_MEMBERS)
    total = sum(info.file_size for info in infos if not info.is_dir())
    if total > MAX_ARCHIVE_TOTAL:
        raise fail(
            "archive_bomb",
            detail=f"解压后共 {human_size(total)}，上限 {human_size(MAX_ARCHIVE_TOTAL)}",
        )
    return archive


def check_member_size(info: zipfile.ZipInfo) -> None:
    if info.file_size > MAX_MEMBER_BYTES:
        raise fail(
            "archive_bomb",
            detail=f"{info.filename} 解压后 {human_size(info.file_size)}，"
            f"上限 {human_size(MAX_MEMBER_BYTES)}",
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_FLOOR and ratio > MAX_COMPRESSION_RATIO:
        raise fail("archive_bomb", detail=f"{info.filename} 压缩比 {ratio:.0f}:1")


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int | None = None) -> bytes:
    """A member's bytes, never more than `limit` (default MAX_MEMBER_BYTES), whatever it claims."""
    limit = MAX_MEMBER_BYTES if limit is None else limit
    if info.flag_bits & 0x1:
        raise fail("archive_encrypted")
    check_member_size(info)
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while True:
                chunk = stream.read(256 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit or size > max(info.file_size, 0) + 1024 * 1024:
                    raise fail(
                        "archive_bomb",
                        detail=f"{info.filename} 实际解压大小超出声明或上限 {human_size(limit)}",
                    )
                chunks.append(chunk)
    except ExtractionError:
        raise
    except RuntimeError as error:  # zipfile: "File is encrypted, password required"
        raise fail("archive_encrypted") from error
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
    ) as error:
        if info.compress_size > info.file_size + 1024:  # inflates past the size it declares
            raise fail(
                "archive_bomb",
                detail=f"{info.filename} 声明解压后 {human_size(info.file_size)}，"
                f"压缩数据却有 {human_size(info.compress_size)}",
            ) from error
        raise fail("archive_corrupt", detail=f"{info.filename}: {error}") from error
    return b"".join(chunks)


# Images -----------------------------------------------------------------------------------------


def open_image(data: bytes) -> Image.Image:
    """A decoded image, its dimensions checked from the header before any pixel is decoded."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise fail("image_too_large", width="?", height="?", limit=MAX_IMAGE_PIXELS) from error
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise fail("image_corrupt", detail=str(error) or type(error).__name__) from error
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS or width > 30000 or height > 30000:
        image.close()
        raise fail("image_too_large", width=width, height=height, limit=f"{MAX_IMAGE_PIXELS:,}")
    try:
        image.load()
    except Image.DecompressionBombError as error:
        raise fail("image_too_large", width=width, height=height, limit=MAX_IMAGE_PIXELS) from error
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise fail("image_corrupt", detail=str(error) or type(error).__name__) from error
    return image
