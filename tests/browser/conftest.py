"""Browser-test harness: the real server (`fapiao serve`) on a free port, driven by Playwright in
Debian's chromium. Screenshots go to test-artifacts/screenshots/."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("FAPIAO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fapiao(env: dict, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fapiao", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"fapiao {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


class _ServerDatabase:
    """A database of the server's own: a temporary SQLite file, or a fresh PostgreSQL database
    beside the one DATABASE_URL names (never the developer's own data)."""

    def __init__(self, var_dir: Path):
        self.url = os.environ.get("DATABASE_URL", "")
        self.admin_url = None
        if self.url.startswith(("postgres://", "postgresql://")):
            parts = urlsplit(self.url)
            name = f"{parts.path.lstrip('/')}_browser_{os.getpid()}"
            self.admin_url, self.name = self.url, name
            self.url = urlunsplit(parts._replace(path=f"/{name}"))
            self._psql(f'DROP DATABASE IF EXISTS "{name}"')
            self._psql(f'CREATE DATABASE "{name}"')
        else:
            self.url = f"sqlite:///{var_dir / 'browser.sqlite3'}"

    def _psql(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def drop(self) -> None:
        if self.admin_url:
            self._psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class _Server(str):
    """The base URL of the running platform (a str, so `server + "/path/"` works), which also
    knows the server's var dir (mail outbox, server.log) and the environment it runs with."""

    var_dir: Path
    env: dict

    def __new__(cls, url: str, *, var_dir: Path, env: dict):
        server = super().__new__(cls, url)
        server.var_dir, server.env = var_dir, env
        return server

    @property
    def url(self) -> str:
        return str(self)

    def command(self, *args: str) -> None:
        """Run `python -m fapiao ARGS` against the server's database and var dir."""
        _fapiao(self.env, *args)


def _kill_group(process: subprocess.Popen) -> None:
    """`serve` runs in a session of its own: end it and every child it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The platform served by `fapiao serve` with demo data; yields its base URL (a `_Server`:
    a str with `.url`, `.var_dir`, `.env` and `.command(...)`)."""
    var_dir = tmp_path_factory.mktemp("server-var")
    database = _ServerDatabase(var_dir)
    port = _free_port()
    env = {
        **os.environ,
        "FAPIAO_VAR_DIR": str(var_dir),
        "DATABASE_URL": database.url,
        "SITE_URL": f"http://127.0.0.1:{port}",
        "FAPIAO_EMAIL": "file",
        "LOG_LEVEL": "warning",
        # Every journey signs its people in from 127.0.0.1, dozens a minute: more than the
        # per-address limit a real office meets (30 a minute), which answered 429 mid-journey.
        "FAPIAO_LOGIN_RATE": "1000/m/ip",
    }
    env.pop("SECRET_KEY", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    _fapiao(env, "migrate", "--no-input")
    _fapiao(env, "demo", "--invoices", "300", "--quiet-logins")
    log = open(var_dir / "server.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fapiao",
            "serve",
            "--no-migrate",
            "--port",
            str(port),
            "--workers",
            "1",
            "--task-workers",
            "1",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            _kill_group(process)
            raise RuntimeError(
                "fapiao serve did not start:\n" + (var_dir / "server.log").read_text()
            )
        time.sleep(0.3)
    try:
        yield _Server(base, var_dir=var_dir, env=env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _kill_group(process)
        log.close()
        database.drop()


@pytest.fixture(scope="session")
def server_var_dir(server) -> Path:
    """The running server's FAPIAO_VAR_DIR: its mail outbox is `mail/`, its log `server.log`."""
    return server.var_dir


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(
            f"Debian's chromium is required for the browser tests ({CHROMIUM} is missing): "
            "apt-get install chromium"
        )
    from playwright.sync_api import expect, sync_playwright

    # One server on a two-core machine also runs its task worker (imports, reconciliations,
    # e-mails): a page may take a few seconds under that load. Assertions wait up to 15 s.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
