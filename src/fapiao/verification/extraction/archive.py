"""ZIP archives: one result per member, named `ARCHIVE/MEMBER`; a ZIP inside a ZIP is read too.

Bounds (limits.py): member count, declared and actual uncompressed sizes, compression ratio, and
depth (a third level of nesting is refused). A member that fails gives its own `ok: false` line;
the other members are still read.
"""

from __future__ import annotations

import contextlib
import posixpath
import zipfile
from collections.abc import Callable

from fapiao.verification.extraction import limits
from fapiao.verification.extraction.limits import ExtractionError
from fapiao.verification.extraction.result import Extraction

SKIPPED = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")

Extract = Callable[..., list[Extraction]]


def extract(
    data: bytes, *, name: str, depth: int, budget: limits.Budget, run: Extract
) -> list[Extraction]:
    """`run(data, name=..., depth=..., budget=...)` extracts one member (the pipeline's entry)."""
    archive = limits.open_zip(data)
    results: list[Extraction] = []
    for info in archive.infolist():
        if info.is_dir():
            continue
        member = member_name(info)
        base = posixpath.basename(member)
        if member.startswith(SKIPPED[0]) or base in SKIPPED or base.startswith("._"):
            continue
        file = f"{name}/{member}"
        try:
            budget.check()
            payload = limits.read_member(archive, info)
        except ExtractionError as error:
            results.append(Extraction(file, False, error.as_dict()))
            continue
        member_budget = limits.Budget(min(limits.TIME_BUDGET_SECONDS, max(budget.remaining, 0.1)))
        results.extend(run(payload, name=file, depth=depth + 1, budget=member_budget))
    return results


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name: Chinese Windows tools write GBK, not the CP437 zipfile assumes."""
    name = info.filename
    if not info.flag_bits & 0x800:
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("gb18030")
    return name.replace("\\", "/").lstrip("/")
