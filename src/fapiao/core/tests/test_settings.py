import os
import stat
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from fapiao.env import Env, secret_key_from_file


def run_fapiao(tmp_path, *args, **env):
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    environ.update({"FAPIAO_VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run(
        [sys.executable, "-m", "fapiao", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_env_bool_accepts_true_spellings(value):
    assert Env({"DEBUG": value}).bool("DEBUG", False) is True


def test_env_bool_refuses_anything_else_naming_the_variable():
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG='maybe' is not a boolean"):
        Env({"DEBUG": "maybe"}).bool("DEBUG", False)


def test_env_int_and_choice_are_strict():
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT='25a' is not a whole number"):
        Env({"EMAIL_PORT": "25a"}).int("EMAIL_PORT", 25)
    with pytest.raises(ImproperlyConfigured, match="is not one of: database, rq"):
        Env({"X": "celery"}).choice("X", "database", ("database", "rq"))


def test_env_reads_secrets_from_file(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    assert Env({"EMAIL_HOST_PASSWORD_FILE": str(secret)}).str("EMAIL_HOST_PASSWORD") == "s3cret"
    with pytest.raises(ImproperlyConfigured, match="both set"):
        Env({"A": "x", "A_FILE": str(secret)}).str("A")


def test_secret_key_is_generated_once_private_and_stable(tmp_path):
    path = tmp_path / "var" / "secret_key"
    first = secret_key_from_file(path)
    assert len(first) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key_from_file(path) == first
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]


def test_bad_setting_stops_the_start_with_a_clear_message(tmp_path):
    result = run_fapiao(tmp_path, "check", DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG='perhaps' is not a boolean" in result.stderr


def test_unsupported_database_url_is_refused(tmp_path):
    result = run_fapiao(tmp_path, "check", DATABASE_URL="mysql://root@localhost/x")
    assert result.returncode != 0
    assert "DATABASE_URL scheme 'mysql' is not supported" in result.stderr


def test_default_database_is_sqlite_in_wal_mode_under_var(tmp_path):
    result = run_fapiao(
        tmp_path,
        "shell",
        "-c",
        "from django.db import connection; c = connection.cursor(); "
        "c.execute('PRAGMA journal_mode'); print(c.fetchone()[0]); "
        "print(connection.settings_dict['NAME'])",
    )
    assert result.returncode == 0, result.stderr
    mode, name = result.stdout.split()[-2:]
    assert mode == "wal"
    assert name == str(tmp_path / "var" / "fapiao.sqlite3")
    assert (tmp_path / "var" / "secret_key").exists()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is empty"),
        ({"SITE_URL": "https://"}, "must be an address like https"),
        ({"DATABASE_URL": "postgresql://"}, "DATABASE_URL must name the database"),
        ({"DATABASE_URL": "postgresql://u@h:54x2/db"}, "DATABASE_URL cannot be read"),
        ({"EMAIL_HOST": "smtp.example.com"}, "set FAPIAO_EMAIL=smtp"),
        ({"FAPIAO_EMAIL": "smtp", "EMAIL_PORT": "99999"}, "EMAIL_PORT=99999 is above the maximum"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL='http://x' must look like"),
        ({"FAPIAO_SMS": "carrier-pigeon"}, "FAPIAO_SMS='carrier-pigeon'"),
    ],
)
def test_settings_refuse_values_that_would_misbehave(tmp_path, env, message):
    result = run_fapiao(tmp_path, "check", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_serve_refuses_a_bad_port_from_the_environment(tmp_path):
    result = run_fapiao(tmp_path, "serve", "--no-migrate", FAPIAO_PORT="80a")
    assert result.returncode != 0
    assert "FAPIAO_PORT='80a' is not a whole number" in result.stderr


def test_the_sign_in_rate_per_address_is_allauths_unless_configured(tmp_path):
    show = "from allauth.account import app_settings as a; print(a.RATE_LIMITS['login'])"
    default = run_fapiao(tmp_path, "shell", "-c", show)
    assert default.stdout.strip().splitlines()[-1] == "30/m/ip", default.stderr
    raised = run_fapiao(tmp_path, "shell", "-c", show, FAPIAO_LOGIN_RATE="300/m/ip")
    assert raised.stdout.strip().splitlines()[-1] == "300/m/ip", raised.stderr
