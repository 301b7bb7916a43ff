"""查询 at 1,000,000 invoices: pages per second through the whole Django stack (middleware,
session, organization, form, queries, template) against a bare Django view served the same way.

Called from bench/run.py as `bench_query(report)`, after `migrate` on the scratch SQLite database.
"""

import datetime
import html
import random
import re
import statistics
import time
import types
from collections.abc import Callable

INVOICES = 1_000_000
RECEIVED_EVERY = 10  # one invoice in ten is bought, nine are sold
LINES_EVERY = 10  # one invoice in ten gets a stored line (the rest are searchable by party only)
DAYS = 1826  # five years of invoices
FIRST_DAY = datetime.date(2021, 12, 1)
BUYERS = 2000
SUPPLIERS = 200
SEED = 20251127


def bench_query(report) -> None:
    from django.db import connection
    from django.http import HttpResponse
    from django.test import Client, override_settings
    from django.urls import path

    from fapiao import testing
    from fapiao import urls as root_urls
    from fapiao.accounts.models import Role
    from fapiao.invoices.models import Invoice

    assert connection.vendor == "sqlite", "the query benchmark fills the scratch SQLite database"
    organization = testing.organization("基准测试云科技有限公司")
    user = testing.member(organization, Role.VIEWER)
    started = time.perf_counter()
    buyer_names = _fill(organization)
    loaded = time.perf_counter() - started
    print(
        f"  (loaded {Invoice.objects.filter(seller_org=organization).count():,} sold and "
        f"{Invoice.objects.filter(buyer_org=organization).count():,} bought invoices "
        f"in {loaded:.0f} s)"
    )

    def bare(request):
        return HttpResponse("ok")

    urlconf = types.ModuleType("bench_query_urls")
    urlconf.urlpatterns = [path("bench/bare", bare), *root_urls.urlpatterns]
    with override_settings(ROOT_URLCONF=urlconf):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)

        def page(url: str, *, rows: int | None = None) -> Callable[[], object]:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            if rows is not None:
                found = response.content.count(b" data-invoice=")
                assert found == rows, (url, found)
            return lambda: client.get(url)

        anchor = _rate(page("/bench/bare"))

        number = (
            Invoice.objects.filter(seller_org=organization).order_by("id")[INVOICES // 2].number
        )
        by_number = page(f"/invoices/?number={number}", rows=1)
        report(
            "查询 by exact number (1M invoices)",
            _rate(by_number),
            "bare Django view",
            anchor,
            "pages/s",
        )

        party = buyer_names[7][2:6]  # a 4-character substring of a buyer's name
        filtered = page(
            f"/invoices/?date_from=2024-01-01&date_to=2024-06-30&party={party}", rows=50
        )
        report(
            "查询 date range + name substring, 1st page",
            _rate(filtered),
            "bare Django view",
            anchor,
            "pages/s",
        )

        by_total = page("/invoices/?sort=-total", rows=50)
        report(
            "查询 sorted by total, largest first",
            _rate(by_total),
            "bare Django view",
            anchor,
            "pages/s",
        )

        url = "/invoices/"
        for _ in range(200):
            body = client.get(url).content.decode()
            url = html.unescape(re.search(r'<a href="([^"]+)" rel="next">', body).group(1))
            url = "/invoices/" + url
        deep = page(url, rows=50)
        report(
            "查询 page 201 (keyset, newest first)",
            _rate(deep),
            "bare Django view",
            anchor,
            "pages/s",
        )


def _rate(fn: Callable[[], object], *, seconds: float = 2.0, rounds: int = 5) -> float:
    """Calls per second: the median of several rounds (as bench/run.py's `rate`)."""
    fn()
    results = []
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / rounds:
            fn()
            n += 1
        results.append(n / elapsed)
    return statistics.median(results)


def _company_names(rng: random.Random, count: int) -> list[str]:
    cities = ["北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "武汉", "西安", "苏州",
              "天津", "重庆", "长沙", "郑州", "青岛", "厦门"]  # fmt: skip
    words = ["华信", "天成", "恒达", "金桥", "东方", "远航", "博远", "瑞丰", "鼎盛", "新元",
             "云海", "中科", "龙腾", "汇通", "嘉禾", "星辰", "海纳", "启明", "安泰", "宏图",
             "锦程", "明德", "润泽", "卓越", "正大", "万象", "同创", "晨光", "蓝海", "智联",
             "永信", "和美"]  # fmt: skip
    trades = ["网络科技", "电子商务", "建筑工程", "医疗器械", "食品贸易", "物流", "文化传媒",
              "机械设备", "新能源", "信息技术", "环保科技", "餐饮管理", "教育咨询", "服装",
              "化工材料", "汽车销售"]  # fmt: skip
    names: set[str] = set()
    while len(names) < count:
        names.add(
            f"{rng.choice(cities)}{rng.choice(words)}{rng.choice(words)}{rng.choice(trades)}有限公司"
        )
    return sorted(names)


def _fill(organization) -> list[str]:
    """Insert the invoices (and some lines) with set-based SQL, then let the search module
    recreate its triggers and fill the name dictionary in one pass: row-by-row trigger upkeep
    is right for daily use, and wasteful for a million-row load."""
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
    now = timezone.now()

    received = f"n % {RECEIVED_EVERY} = 0"
    party = f"CASE WHEN {received} THEN {BUYERS} + n % {SUPPLIERS} ELSE (n * 7919) % {BUYERS} END"
    amount = "round(((n * 7477) % 2000000) / 100.0 + 1, 2)"
    rate = "(CASE WHEN n % 3 = 0 THEN 0.06 ELSE 0.13 END)"
    day = f"date(%s, '+' || (n * {DAYS} / {INVOICES}) || ' days')"
    explicit = {
        "type_code": ("CASE WHEN n % 8 < 5 THEN '31' ELSE '32' END", []),
        "code": ("''", []),
        "number": (
            f"substr({day}, 3, 2) || '119' || printf('%%015d', n)",
            [FIRST_DAY.isoformat()],
        ),
        "issue_date": (day, [FIRST_DAY.isoformat()]),
        "seller_org_id": (f"CASE WHEN {received} THEN NULL ELSE %s END", [organization.pk]),
        "seller_name": (f"CASE WHEN {received} THEN p.name ELSE %s END", [organization.name]),
        "seller_tax_id": (f"CASE WHEN {received} THEN p.tax_id ELSE %s END", [organization.tax_id]),
        "buyer_org_id": (f"CASE WHEN {received} THEN %s ELSE NULL END", [organization.pk]),
        "buyer_name": (f"CASE WHEN {received} THEN %s ELSE p.name END", [organization.name]),
        "buyer_tax_id": (f"CASE WHEN {received} THEN %s ELSE p.tax_id END", [organization.tax_id]),
        "amount": (amount, []),
        "tax": (f"round({amount} * {rate}, 2)", []),
        "total": (f"round({amount} + round({amount} * {rate}, 2), 2)", []),
        "status": ("CASE WHEN n % 97 = 0 THEN 2 ELSE 0 END", []),
        "source": (f"CASE WHEN {received} THEN 'imported' ELSE 'issued' END", []),
        "is_red": ("0", []),
        "created_at": ("%s", [now]),
    }
    columns, expressions, params = [], [], []
    for field in Invoice._meta.concrete_fields:
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

    triggers = list(search.SQLITE_TRIGGERS)
    with transaction.atomic(), connection.cursor() as cursor:
        for name in triggers:
            cursor.execute(f"DROP TRIGGER {name}")  # recreated by sqlite_triggers_ensure below
        cursor.execute(
            "CREATE TEMP TABLE bench_party (k INTEGER PRIMARY KEY, name TEXT, tax_id TEXT)"
        )
        cursor.executemany("INSERT INTO bench_party VALUES (%s, %s, %s)", parties)
        cursor.execute(
            f"INSERT INTO invoices_invoice ({', '.join(columns)}) "  # noqa: S608
            "WITH RECURSIVE seq(n) AS "
            f"(SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {INVOICES}) "
            f"SELECT {', '.join(expressions)} FROM seq JOIN bench_party p ON p.k = {party}",
            params,
        )
        cursor.execute("DROP TABLE bench_party")
        line_columns = {
            "invoice_id": "i.id",
            "position": "1",
            "name": "CASE i.id % 3 WHEN 0 THEN '*信息技术服务*软件开发服务' "
            "WHEN 1 THEN '*现代服务*技术咨询服务' ELSE '*计算机配套产品*固态硬盘' END",
            "amount": "i.amount",
            "rate": "round(i.tax / i.amount, 2)",
            "tax": "i.tax",
        }
        line_params = []
        for field in InvoiceLine._meta.concrete_fields:
            if field.primary_key or field.column in line_columns:
                continue
            line_columns[field.column] = (
                "NULL" if field.null else "%s"
            )  # defaults of the remaining fields
            if not field.null:
                line_params.append(field.get_db_prep_save(field.get_default(), connection))
        cursor.execute(
            f"INSERT INTO invoices_invoiceline ({', '.join(line_columns)}) "  # noqa: S608
            f"SELECT {', '.join(line_columns.values())} FROM invoices_invoice i "
            f"WHERE (i.seller_org_id = %s OR i.buyer_org_id = %s) AND i.id % {LINES_EVERY} = 0",
            [*line_params, organization.pk, organization.pk],
        )
    assert search.sqlite_triggers_ensure() is True  # triggers back, names added
    return buyers
