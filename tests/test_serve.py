"""`fapiao serve`: the web server and the task worker live and die as one process group."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _children(pid: int) -> set[int]:
    result = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
    )
    return {int(p) for p in result.stdout.split()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie is as good as dead
        return handle.read().split()[2] != "Z"


@pytest.fixture
def served(tmp_path):
    port = _free_port()
    env = {**os.environ, "FAPIAO_VAR_DIR": str(tmp_path), "LOG_LEVEL": "warning",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "fapiao", "serve", "--port", str(port), "--workers", "1",
         "--task-workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/healthz"
    deadline = time.monotonic() + 60
    while not _healthy(url):
        assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
        time.sleep(0.3)
    yield process, url
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _wait_until(condition, seconds=30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_serve_runs_web_and_worker_and_stops_both_on_sigterm(served):
    process, url = served
    children = _children(process.pid)
    assert len(children) == 2  # gunicorn's master and the task worker
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0
    assert _wait_until(lambda: not any(_alive(pid) for pid in children))
    assert not _healthy(url)


def test_children_do_not_outlive_a_killed_serve(served):
    process, url = served
    children = _children(process.pid)
    process.kill()  # SIGKILL: serve gets no chance to clean up
    process.wait()
    assert _wait_until(lambda: not any(_alive(pid) for pid in children))
    assert _wait_until(lambda: not _healthy(url))


def test_a_dying_child_stops_serve(served):
    process, _ = served
    worker = max(_children(process.pid))  # the task worker starts after gunicorn
    os.kill(worker, signal.SIGKILL)
    assert process.wait(timeout=40) != 0
