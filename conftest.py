import pytest


@pytest.fixture(autouse=True)
def _plain_static_storage(request):
    # The hashed-manifest storage needs `collectstatic`; the browser tests exercise that path.
    # (The rules tests also run without Django: `pytest -p no:django src/fapiao/rules`.)
    if not request.config.pluginmanager.hasplugin("django"):
        return
    settings = request.getfixturevalue("settings")
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
