"""`fapiao serve`: migrate, then run the web server and the task worker as one process group."""

import ctypes
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from fapiao.env import Env


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM it when `serve` dies, even by SIGKILL,
    so no orphaned server keeps the port."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Command(BaseCommand):
    help = "迁移数据库，然后启动 Web 服务（gunicorn）与后台任务进程，Ctrl-C 一并停止。"

    def add_arguments(self, parser):
        env = Env()
        parser.add_argument("--host", default=env.str("FAPIAO_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env.int("FAPIAO_PORT", 8000, minimum=1))
        parser.add_argument(
            "--workers",
            type=int,
            default=env.int("FAPIAO_WEB_WORKERS", 2, minimum=1),
            help="web worker processes (each with 4 threads)",
        )
        parser.add_argument(
            "--task-workers",
            type=int,
            default=env.int("FAPIAO_TASK_WORKERS", 1, minimum=0),
            help="background task worker processes (0: none)",
        )
        parser.add_argument("--no-migrate", action="store_true", help="skip `migrate`")

    def handle(self, *args, host, port, workers, task_workers, no_migrate, **options):
        if workers < 1 or task_workers < 0:
            raise CommandError("--workers 至少为 1，--task-workers 不能为负数。")
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        if "Manifest" in settings.STORAGES["staticfiles"]["BACKEND"]:
            call_command("collectstatic", interactive=False, verbosity=0)

        commands = [self.web_command(host, port, workers)]
        if settings.TASK_BACKEND != "immediate":
            commands += [self.worker_command()] * task_workers

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        # Handlers first: a Ctrl-C while the children start still stops all of them.
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        children = [subprocess.Popen(command, preexec_fn=_die_with_parent) for command in commands]
        self.stdout.write(f"发票平台已启动: http://{host}:{port}/  (Ctrl-C 停止)")
        exit_code = 0
        try:
            while not stopping:
                for child in children:
                    code = child.poll()
                    if code is not None:
                        self.stderr.write(
                            f"子进程 {child.args[2:4]} 已退出（{code}），正在停止其余进程。"
                        )
                        exit_code = code or 1
                        stopping = True
                        break
                time.sleep(0.2)
        finally:
            self.terminate(children)
        if exit_code:
            sys.exit(exit_code)

    @staticmethod
    def web_command(host: str, port: int, workers: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "fapiao.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--timeout",
            "120",
            "--graceful-timeout",
            "20",
            "--access-logfile",
            "-",
            "--forwarded-allow-ips",
            os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ]

    @staticmethod
    def worker_command() -> list[str]:
        if settings.TASK_BACKEND == "rq":
            return [
                sys.executable,
                "-m",
                "fapiao",
                "rqworker",
                "default",
                "--job-class",
                "django_tasks_rq.Job",
            ]
        return [sys.executable, "-m", "fapiao", "db_worker", "--no-reload", "--interval", "1"]

    @staticmethod
    def terminate(children: list[subprocess.Popen]) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 25
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
