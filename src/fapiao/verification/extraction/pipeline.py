"""One file in, results out: size and type checks, the reader for its kind, the merge.

The kind comes from the bytes, never from the name; a name whose extension names another kind
of file (a PNG called .pdf) is refused. Every failure becomes `ok: false` with a code and a
Chinese message: nothing escapes to the batch.
"""

from __future__ import annotations

import io
import logging
import os
import posixpath
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from fapiao.verification.extraction import archive, image, limits, merge, ofd, pdf, xml
from fapiao.verification.extraction.limits import ExtractionError, fail
from fapiao.verification.extraction.result import Extraction

logger = logging.getLogger(__name__)

Source = str | os.PathLike[str] | bytes | bytearray | memoryview


def extract_file(source: Source, *, name: str | None = None) -> list[Extraction]:
    """Extract one file (a path, or bytes with their `name`): one result, or one per ZIP member."""
    if isinstance(source, bytes | bytearray | memoryview):
        return run(bytes(source), name=name or "<bytes>", depth=0)
    path = Path(os.fspath(source))
    label = name or os.fspath(source)
    try:
        size = path.stat().st_size
        if size > limits.MAX_FILE_BYTES:
            raise fail(
                "file_too_large",
                size=limits.human_size(size),
                limit=limits.human_size(limits.MAX_FILE_BYTES),
            )
        with path.open("rb") as stream:
            data = stream.read(limits.MAX_FILE_BYTES + 1)
    except ExtractionError as error:
        return [Extraction(label, False, error.as_dict())]
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return [Extraction(label, False, fail("file_unreadable", detail=reason).as_dict())]
    return run(data, name=label, depth=0)


def extract_many(paths: Iterable[Source]) -> Iterator[Extraction]:
    for path in paths:
        yield from extract_file(path)


def run(
    data: bytes, *, name: str, depth: int = 0, budget: limits.Budget | None = None
) -> list[Extraction]:
    """The pipeline for bytes already read; `depth` counts the archives around them."""
    budget = budget or limits.Budget()
    kind: str | None = None
    try:
        if not data:
            raise fail("empty_file")
        if len(data) > limits.MAX_FILE_BYTES:
            raise fail(
                "file_too_large",
                size=limits.human_size(len(data)),
                limit=limits.human_size(limits.MAX_FILE_BYTES),
            )
        kind = detect(data, name)
        if kind == "zip":
            if depth >= limits.MAX_ARCHIVE_DEPTH:
                raise fail("archive_too_deep", limit=limits.MAX_ARCHIVE_DEPTH)
            seconds = limits.ARCHIVE_TIME_BUDGET_SECONDS if depth == 0 else budget.remaining
            archive_budget = limits.Budget(max(seconds, 0.1))
            results = archive.extract(data, name=name, depth=depth, budget=archive_budget, run=run)
            if not results:
                raise fail("not_invoice", detail="压缩包中没有文件")
            return results
        reader = {"pdf": pdf.extract, "ofd": ofd.extract, "xml": xml.extract}.get(
            kind, image.extract
        )
        found = reader(data, budget)
        return [merge.merge(name, found, kind=kind)]
    except ExtractionError as error:
        return [Extraction(name, False, error.as_dict(), kind=kind)]
    except MemoryError:
        return [
            Extraction(name, False, fail("internal_error", detail="内存不足").as_dict(), kind=kind)
        ]
    except RecursionError:
        detail = "结构嵌套过深"
        return [Extraction(name, False, fail("internal_error", detail=detail).as_dict(), kind=kind)]
    except Exception as error:  # a reader's bug must not end the batch
        logger.exception("extraction failed for %s", name)
        detail = type(error).__name__
        return [Extraction(name, False, fail("internal_error", detail=detail).as_dict(), kind=kind)]


def detect(data: bytes, name: str) -> str:
    """The kind of file the bytes are: pdf, ofd, zip, xml or an image kind; refuses disguises."""
    kind = limits.sniff(data)
    expected = limits.kind_from_name(posixpath.basename(name.replace("\\", "/")))
    if kind is None:
        head = data[:8].hex(" ")
        raise fail("unsupported_format", detail=f"文件开头为 {head}")
    if kind == "zip":
        kind = "ofd" if expected == "ofd" or _has_ofd_root(data) else "zip"
    if expected and limits.family(expected) != limits.family(kind):
        raise fail(
            "extension_mismatch",
            ext=posixpath.splitext(name)[1] or "（无）",
            actual=limits.KIND_NAMES.get(kind, kind),
        )
    return kind


def _has_ofd_root(data: bytes) -> bool:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return False
    return any(n.lstrip("/").lower() == "ofd.xml" for n in names[: limits.MAX_ARCHIVE_MEMBERS])
