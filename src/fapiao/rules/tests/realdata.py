"""The real-invoice corpus in shared/realdata, beside the repository (or FAPIAO_SHARED_DIR).

A missing corpus fails the tests that need it, with a message; it never skips them.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ENV = "FAPIAO_SHARED_DIR"
# easyofd/testxml@a6369ae8.ofd: its XML is one invoice, its QR image another (see README there).
MIXED_FILES = frozenset({"easyofd/testxml@a6369ae8.ofd"})

Entry = dict[str, Any]


def shared_dir() -> Path:
    configured = os.environ.get(ENV)
    if configured:
        return Path(configured)
    repo = Path(__file__).resolve().parents[4]
    return repo.parent / "shared"


def manifest_path() -> Path:
    return shared_dir() / "realdata" / "manifest.json"


@cache
def _load() -> tuple[Entry, ...] | str:
    path = manifest_path()
    if not path.is_file():
        return (
            f"real-invoice manifest not found at {path}: put shared/ beside the repository "
            f"(<repo>/../shared) or set {ENV} to the shared directory"
        )
    return tuple(json.loads(path.read_text(encoding="utf-8")))


def entries(where: Any = None) -> list[Any]:
    """pytest parameters, one per manifest entry matching `where`; a failing one if missing."""
    loaded = _load()
    if isinstance(loaded, str):
        return [pytest.param(None, id="manifest-missing")]
    chosen = [e for e in loaded if where is None or where(e)]
    return [pytest.param(e, id=e["path"]) for e in chosen]


def require(entry: Entry | None) -> Entry:
    if entry is None:
        loaded = _load()
        pytest.fail(loaded if isinstance(loaded, str) else "manifest entry missing")
    return entry


def truth(entry: Entry) -> dict[str, str]:
    return entry.get("truth") or {}


def money(value: str) -> Decimal:
    return Decimal(value)


def is_test_data(entry: Entry) -> bool:
    return bool(entry.get("test_data_flags"))
