"""Fapiao benchmarks: each figure is printed beside its anchor, measured in the same run.

Run with `make bench`. Uses a temporary SQLite database, removed afterwards.
"""

import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def rate(fn: Callable[[], object], *, seconds: float = 1.5, rounds: int = 5) -> float:
    """Calls per second: the median over several rounds of about `seconds / rounds` each."""
    fn()
    results = []
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / rounds:
            fn()
            n += 1
        results.append(n / elapsed)
    return statistics.median(results)


def report(name: str, figure: float, anchor_name: str, anchor: float, unit: str) -> None:
    print(
        f"{name:<44} {figure:>12,.0f} {unit}   anchor {anchor_name}: {anchor:,.0f} {unit}"
        f"   ratio {figure / anchor:.2f}"
    )


def bench_rules() -> None:
    from fapiao.rules import qr, uscc

    codes = [
        "91110108MA01YF8K3U",
        "914400007556190127",
        "91350100M0001TGQXM",
        "9151 0000 7650 55994p",
    ]
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

    def bare_checksum():
        for code in codes:
            text = code.replace(" ", "").upper()
            total = sum(charset.index(c) * w for c, w in zip(text[:17], weights, strict=True))
            _ = charset[(31 - total % 31) % 31] == text[17]

    report(
        "uscc.check (4 codes, full diagnosis)",
        rate(lambda: [uscc.check(c) for c in codes]),
        "bare checksum loop",
        rate(bare_checksum),
        "batches/s",
    )

    payloads = [
        "01,32,,24312000000136634917,0.01,20240514,,1DD6",
        "01,10,050001700111,99999951,300.00,20201010,14754822929856772523,E400,",
    ]
    report(
        "qr.parse (2 payloads)",
        rate(lambda: [qr.parse(p) for p in payloads]),
        "str.split of the same payloads",
        rate(lambda: [p.split(",") for p in payloads]),
        "batches/s",
    )


def bench_pages() -> None:
    from django.test import Client

    from fapiao.accounts.models import User

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(email="admin@yunfan.demo"))
    assert client.get("/").status_code == 200
    report(
        "dashboard / (1,000 invoices, full stack)",
        rate(lambda: client.get("/"), seconds=3),
        "/healthz (bare view, SELECT 1)",
        rate(lambda: client.get("/healthz"), seconds=3),
        "pages/s",
    )


def main() -> int:
    # Always a scratch database: a benchmark must never migrate or fill someone's real data.
    scratch = tempfile.mkdtemp(prefix="fapiao-bench-")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    os.environ["FAPIAO_VAR_DIR"] = scratch
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("FAPIAO_STATIC_MANIFEST", "0")
    os.environ.setdefault("LOG_LEVEL", "warning")
    os.environ["DJANGO_SETTINGS_MODULE"] = "fapiao.settings"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("demo", quiet_logins=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    print(f"Fapiao benchmarks ({os.cpu_count()} cores, database: {django.db.connection.vendor})\n")
    bench_rules()
    bench_pages()
    from bench_pdf import bench_pdf

    bench_pdf(report)
    from bench_verify import bench_verify

    bench_verify(report)
    from bench_stats import bench_stats

    bench_stats(report)
    from bench_import import bench_import

    bench_import(report)
    from bench_query import bench_query

    bench_query(report)
    from bench_finder import bench_finder

    bench_finder(report)  # reuses bench_query's 1,000,000 invoices
    from bench_reconcile import bench_reconcile

    bench_reconcile(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
