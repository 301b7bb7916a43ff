"""The real-invoice corpus for the extraction tests, located as the rules tests locate it.

`fapiao.rules.tests.realdata` finds shared/realdata beside the repository (or FAPIAO_SHARED_DIR);
a missing corpus fails the tests that need it, with a message, and never skips them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fapiao.rules.tests import realdata
from fapiao.verification.extraction import ocr


def realdata_dir() -> Path:
    return realdata.manifest_path().parent


@pytest.fixture
def corpus() -> Path:
    """The realdata folder; fails (never skips) with a clear message when it is missing."""
    if not realdata.manifest_path().is_file():
        pytest.fail(
            f"real-invoice manifest not found at {realdata.manifest_path()}: put shared/ beside "
            f"the repository (<repo>/../shared) or set {realdata.ENV} to the shared directory"
        )
    return realdata_dir()


@pytest.fixture(autouse=True)
def _no_ocr():
    """OCR off unless a test installs an engine: results must not depend on what is installed."""
    ocr.set_engine(None)
    yield
    ocr.reset()


@pytest.fixture(autouse=True)
def _media_in_tmp(request, tmp_path):
    """Uploaded and stored files go to a temporary directory, never the developer's var/."""
    if request.config.pluginmanager.hasplugin("django"):
        request.getfixturevalue("settings").MEDIA_ROOT = str(tmp_path / "media")
