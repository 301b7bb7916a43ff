"""统计 at 1,000,000 invoices: the statistics page through the whole Django stack (middleware,
session, organization, every view's aggregate query, template) in pages per second, against the
bare monthly GROUP BY that the page's main table rests on, run directly on the same database.

Called from bench/run.py as `bench_stats(report)`. It fills a scratch SQLite database of its own
(beside run.py's, migrated afresh and deleted afterwards), so that the other benchmarks' data and
search index are left as they were. Runnable alone too: `python bench/bench_stats.py [INVOICES]`
(a smaller count, e.g. 200000, for a quicker run while developing).
"""

import contextlib
import datetime
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

INVOICES = 1_000_000
RECEIVED_EVERY = 10  # one invoice in ten is bought, nine are sold
YEARS = 5
BUYERS = 2000
SUPPLIERS = 200
SEED = 20251128


def bench_stats(report, invoices: int = INVOICES) -> None:
    with _scratch_database():
        _bench(report, invoices)


@contextlib.contextmanager
def _scratch_database():
    """The default connection pointed at a new SQLite file for the duration, then back."""
    from django.core.management import call_command
    from django.db import DEFAULT_DB_ALIAS, connections

    connection = connections[DEFAULT_DB_ALIAS]
    assert connection.vendor == "sqlite", "the statistics benchmark runs on SQLite"
    folder = Path(tempfile.mkdtemp(prefix="fapiao-bench-stats-"))
    saved = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = str(folder / "stats.sqlite3")
    try:
        call_command("migrate", verbosity=0)
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = saved
        shutil.rmtree(folder, ignore_errors=True)


def _bench(report, invoices: int) -> None:
    from django.db import connection
    from django.test import Client

    from fapiao import testing
    from fapiao.accounts.models import Role

    today = datetime.date.today()
    organization = testing.organization("统计基准测试科技有限公司")
    user = testing.member(organization, Role.VIEWER)
    started = time.perf_counter()
    _fill(organization, today, invoices)
    print(f"  (loaded {invoices:,} invoices with lines in {time.perf_counter() - started:.0f} s)")

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    year = today.year - 1  # a full year: about a fifth of the invoices
    start, stop = datetime.date(year, 1, 1), datetime.date(year, 12, 31)

    def page(url: str) -> Callable[[], object]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert response.content.count(b"data-chart=") >= 8, url
        return lambda: client.get(url)

    def bare_monthly() -> list:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT strftime('%%Y-%%m', issue_date) AS month, "
                "COUNT(CASE WHEN NOT is_red THEN 1 END), SUM(amount), SUM(tax), SUM(total) "
                "FROM invoices_invoice WHERE seller_org_id = %s AND issue_date BETWEEN %s AND %s "
                "AND status <> 2 GROUP BY month",
                [organization.pk, start, stop],
            )
            return cursor.fetchall()

    assert len(bare_monthly()) == 12
    # The schema's covering indexes (invoices migration 0005) serve every aggregate of the page.
    anchor = 60 * _rate(bare_monthly)  # per minute: report()'s whole numbers need the finer unit
    report(
        f"统计 page, {year} by month",
        60 * _rate(page(f"/stats/?year={year}")),
        "bare monthly GROUP BY",
        anchor,
        "/min",
    )
    report(
        "统计 page, every year",
        60 * _rate(page(f"/stats/?year={year}&by=year")),
        "bare monthly GROUP BY",
        anchor,
        "/min",
    )


def _rate(fn: Callable[[], object], *, seconds: float = 3.0, rounds: int = 5) -> float:
    """Calls per second: the median of several rounds (as bench/run.py's `rate`)."""
    fn()
    results = []
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / rounds or n == 0:
            fn()
            n += 1
        results.append(n / elapsed)
    return statistics.median(results)


def _company_names(rng: random.Random, count: int) -> list[str]:
    def pairs(text: str) -> list[str]:
        return [text[i : i + 2] for i in range(0, len(text), 2)]

    cities = pairs("北京上海广州深圳杭州南京成都武汉西安苏州天津重庆长沙郑州青岛厦门")
    words = pairs(
        "华信天成恒达金桥东方远航博远瑞丰鼎盛新元云海中科龙腾汇通嘉禾星辰"
        "海纳启明安泰宏图锦程明德润泽卓越正大万象同创晨光蓝海智联永信和美"
    )
    trades = pairs("网络电商建筑医疗食品物流文化机械能源信息环保餐饮教育服装化工汽车")
    names: set[str] = set()
    while len(names) < count:
        names.add(
            f"{rng.choice(cities)}{rng.choice(words)}{rng.choice(words)}{rng.choice(trades)}科技有限公司"
        )
    return sorted(names)


def _fill(organization, today: datetime.date, invoices: int) -> None:
    """Insert the invoices, each with one line, in two set-based statements (a recursive CTE).
    The name-search triggers are dropped first and not put back: this database is the
    benchmark's own, and the statistics do not search names."""
    from django.db import connection, transaction
    from django.utils import timezone

    from fapiao.invoices import search
    from fapiao.invoices.models import Invoice, InvoiceLine
    from fapiao.rules import uscc

    rng = random.Random(SEED)
    buyers = _company_names(rng, BUYERS)
    suppliers = _company_names(rng, SUPPLIERS + 50)[-SUPPLIERS:]
    parties = [(k, name, uscc.make(f"91330106MB{k:07d}")) for k, name in enumerate(buyers)]
    parties += [
        (BUYERS + k, name, uscc.make(f"91440300MC{k:07d}")) for k, name in enumerate(suppliers)
    ]
    first_day = today.replace(year=today.year - YEARS, day=1)
    days = (today - first_day).days

    received = f"n % {RECEIVED_EVERY} = 0"
    party = f"CASE WHEN {received} THEN {BUYERS} + n % {SUPPLIERS} ELSE (n * 7919) % {BUYERS} END"
    red = "n % 113 = 0"  # about 0.9% are red invoices (负数), stored with negative amounts
    sign = f"(CASE WHEN {red} THEN -1 ELSE 1 END)"
    amount = f"{sign} * round(((n * 7477) % 2000000) / 100.0 + 1, 2)"
    rate = "(CASE n % 4 WHEN 0 THEN 0.06 WHEN 1 THEN 0.09 ELSE 0.13 END)"
    day = f"date(%s, '+' || (n * {days} / {invoices}) || ' days')"
    explicit = {
        "type_code": (
            "CASE WHEN n % 10 < 5 THEN '31' WHEN n % 10 < 8 THEN '32' "
            "WHEN n % 10 = 8 THEN '01' ELSE '04' END",
            [],
        ),
        "code": ("CASE WHEN n % 10 >= 8 THEN '0110019001' || (n % 10) ELSE '' END", []),
        "number": ("printf('%%08d', n)", []),
        "issue_date": (day, [first_day.isoformat()]),
        "seller_org_id": (f"CASE WHEN {received} THEN NULL ELSE %s END", [organization.pk]),
        "seller_name": (f"CASE WHEN {received} THEN p.name ELSE %s END", [organization.name]),
        "seller_tax_id": (f"CASE WHEN {received} THEN p.tax_id ELSE %s END", [organization.tax_id]),
        "buyer_org_id": (f"CASE WHEN {received} THEN %s ELSE NULL END", [organization.pk]),
        "buyer_name": (f"CASE WHEN {received} THEN %s ELSE p.name END", [organization.name]),
        "buyer_tax_id": (f"CASE WHEN {received} THEN %s ELSE p.tax_id END", [organization.tax_id]),
        "amount": (amount, []),
        "tax": (f"round({amount} * {rate}, 2)", []),
        "total": (f"round({amount} + round({amount} * {rate}, 2), 2)", []),
        "status": ("CASE WHEN n % 97 = 0 THEN 2 WHEN n % 89 = 0 THEN 8 ELSE 0 END", []),
        "source": ("'imported'", []),  # a red invoice without its blue one must be imported
        "is_red": (f"CASE WHEN {red} THEN 1 ELSE 0 END", []),
        "created_at": ("%s", [timezone.now()]),
    }
    columns, expressions, params = _columns(Invoice, explicit, connection)
    line_columns, line_expressions, line_params = _columns(
        InvoiceLine,
        {
            "invoice_id": ("i.id", []),
            "position": ("1", []),
            "name": (
                "CASE i.id % 3 WHEN 0 THEN '*信息技术服务*软件开发服务' "
                "WHEN 1 THEN '*现代服务*技术咨询服务' ELSE '*计算机配套产品*固态硬盘' END",
                [],
            ),
            "amount": ("i.amount", []),
            "rate": ("round(CAST(i.tax AS REAL) / i.amount, 2)", []),
            "tax": ("i.tax", []),
        },
        connection,
    )
    with connection.cursor() as cursor:
        # A scratch file, filled once: no crash safety needed, and a cache that holds the
        # indexes being built spares most of the reads and writes.
        cursor.execute("PRAGMA journal_mode = MEMORY")
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("PRAGMA cache_size = -1000000")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM invoices_invoice")
        (last_id,) = cursor.fetchone()
        for name in search.SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(
            "CREATE TEMP TABLE bench_party (k INTEGER PRIMARY KEY, name TEXT, tax_id TEXT)"
        )
        cursor.executemany("INSERT INTO bench_party VALUES (%s, %s, %s)", parties)
        cursor.execute(
            f"INSERT INTO invoices_invoice ({', '.join(columns)}) "  # noqa: S608
            "WITH RECURSIVE seq(n) AS "
            f"(SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {invoices}) "
            f"SELECT {', '.join(expressions)} FROM seq JOIN bench_party p ON p.k = {party}",
            params,
        )
        cursor.execute("DROP TABLE bench_party")
        cursor.execute(
            f"INSERT INTO invoices_invoiceline ({', '.join(line_columns)}) "  # noqa: S608
            f"SELECT {', '.join(line_expressions)} FROM invoices_invoice i WHERE i.id > %s",
            [*line_params, last_id],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()  # the next connection starts with the settings' PRAGMAs again


def _columns(model, explicit: dict, connection) -> tuple[list[str], list[str], list]:
    """Every column of `model` but the id: the expression given, or the field's default."""
    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.column in explicit:
            sql, values = explicit[field.column]
        elif field.null:
            sql, values = "NULL", []
        else:  # any field added later: its default
            sql, values = "%s", [field.get_db_prep_save(field.get_default(), connection)]
        columns.append(field.column)
        expressions.append(sql)
        params.extend(values)
    return columns, expressions, params


def _standalone() -> None:
    """As bench/run.py sets up: a scratch var dir and SQLite database, removed afterwards."""
    import atexit
    import os
    import sys

    scratch = tempfile.mkdtemp(prefix="fapiao-bench-stats-")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    os.environ["FAPIAO_VAR_DIR"] = scratch
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("FAPIAO_STATIC_MANIFEST", "0")
    os.environ.setdefault("LOG_LEVEL", "warning")
    os.environ["DJANGO_SETTINGS_MODULE"] = "fapiao.settings"
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here.parent / "src"), str(here)]
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from run import report

    bench_stats(report, int(sys.argv[1]) if len(sys.argv) > 1 else INVOICES)


if __name__ == "__main__":
    _standalone()
