import pytest


@pytest.fixture(autouse=True)
def _fast_test_settings(request):
    # The hashed-manifest storage needs `collectstatic`; the browser tests exercise that path.
    # (The rules tests also run without Django: `pytest -p no:django src/fapiao/rules`.)
    if not request.config.pluginmanager.hasplugin("django"):
        return
    settings = request.getfixturevalue("settings")
    from django.core.cache import cache

    cache.clear()  # rate limits and lockouts must not leak from one test into the next
    # Argon2 is deliberately slow; tests hash many passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Background tasks run inline (once the transaction commits), so tests see their effects.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
