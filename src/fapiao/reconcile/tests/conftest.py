import pytest

from fapiao import testing
from fapiao.accounts.models import Role


@pytest.fixture(autouse=True)
def _media_in_tmp(request, tmp_path):
    """Uploaded ledgers and results go to a temporary directory, never the developer's var/."""
    if request.config.pluginmanager.hasplugin("django"):
        request.getfixturevalue("settings").MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def org(db):
    return testing.organization("云帆信息技术有限公司")


@pytest.fixture
def admin(org):
    return testing.member(org, Role.ADMIN)
