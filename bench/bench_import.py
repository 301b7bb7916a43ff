"""批量导入 at 1,000,000 rows: a generated CSV (realistic Chinese names, mixed rates, valid
USCCs) imported end to end — read, full validation including the USCC checks, stored with every
index and the name-search index — against anchors measured in the same run:

- SQLite: `executemany` of the pre-parsed rows into a table with the same unique index;
- PostgreSQL (when BENCH_DATABASE_URL is set): plain `COPY` of the same file into a table with the
  same unique index, against the import into a fresh, migrated database beside that one;
- on each, the schema's own cost: the rows the import stored, written raw (`executemany` / binary
  `COPY`) into empty copies of the platform's invoice and line tables, with their indexes and keys.

Each measurement runs in a child process of its own, so that its peak memory (maxrss) is its own
and not the benchmark runner's. Called from bench/run.py as `bench_import(report)`; also runnable
alone: `python bench/bench_import.py [ROWS]`.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROWS = 1_000_000
COUNTERPARTIES = 20_000
SEED = 20251127
REPO = Path(__file__).resolve().parents[1]
ORG_NAME = "北京云帆信息技术有限公司"
HEADER = ["发票类型", "发票代码", "发票号码", "开票日期", "销售方名称", "销售方纳税人识别号",
          "购买方名称", "购买方纳税人识别号", "项目名称", "金额", "税率", "税额", "价税合计",
          "备注"]  # fmt: skip
GOAL_RATIO = 2.0
GOAL_MEMORY_MB = 1536


def bench_import(report, rows: int = ROWS) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="fapiao-bench-import-"))
    try:
        _bench(report, rows, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _bench(report, rows: int, scratch: Path) -> None:
    path = scratch / "invoices.csv"
    generated = _child("--generate", str(path), str(rows))
    size_mb = path.stat().st_size / 1e6
    print(f"  (generated {rows:,} rows, {size_mb:,.0f} MB, in {generated['seconds']:.1f} s)")
    org_tax_id = generated["org_tax_id"]

    sqlite_url = f"sqlite:///{scratch / 'import.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": sqlite_url, "FAPIAO_VAR_DIR": str(scratch / "var")}
    _fapiao(env, "migrate", "--no-input")
    imported = _child("--import", str(path), org_tax_id, env=env)
    anchor = _child("--anchor-sqlite", str(path), str(scratch / "anchor.sqlite3"))
    _report(report, "SQLite", imported, "executemany, unique index", anchor)
    # On a copy, so that the further import below meets the database as the first one left it.
    copy = scratch / "schema-anchor.sqlite3"
    _sqlite_copy(scratch / "import.sqlite3", copy)
    schema = _child("--anchor-schema-sqlite", str(copy))
    copy.unlink()
    _report_schema(report, "SQLite", imported, "executemany", schema)
    more = scratch / "more.csv"
    _child("--generate", str(more), str(rows // 2), "113")
    _report_more("SQLite", imported, _child("--import", str(more), org_tax_id, env=env))

    pg_url = os.environ.get("BENCH_DATABASE_URL", "")
    if not pg_url.startswith(("postgres://", "postgresql://")):
        print("  (PostgreSQL skipped: set BENCH_DATABASE_URL=postgresql://... to run it)")
        return
    parts = urlsplit(pg_url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_bench_import"
    bench_url = urlunsplit(parts._replace(path=f"/{name}"))
    _psql(pg_url, f'DROP DATABASE IF EXISTS "{name}"')
    _psql(pg_url, f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, "DATABASE_URL": bench_url, "FAPIAO_VAR_DIR": str(scratch / "var-pg")}
        _fapiao(env, "migrate", "--no-input")
        imported = _child("--import", str(path), org_tax_id, env=env)
        anchor = _child("--anchor-copy", str(path), bench_url)
        _report(report, "PostgreSQL", imported, "COPY, unique index", anchor)
        copy_name = f"{name}_schema"
        _psql(pg_url, f'CREATE DATABASE "{copy_name}" TEMPLATE "{name}"')
        try:
            copy_url = urlunsplit(parts._replace(path=f"/{copy_name}"))
            schema = _child("--anchor-schema-copy", copy_url)
        finally:
            _psql(pg_url, f'DROP DATABASE IF EXISTS "{copy_name}" WITH (FORCE)')
        _report_schema(report, "PostgreSQL", imported, "COPY", schema)
        imported_more = _child("--import", str(more), org_tax_id, env=env)
        _report_more("PostgreSQL", imported, imported_more)
    finally:
        _psql(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _report(report, database: str, imported: dict, anchor_name: str, anchor: dict) -> None:
    summary = imported["summary"]
    assert summary["imported"] == summary["rows"], summary
    report(
        f"import 1M-row CSV, {database} (s)",
        imported["seconds"],
        anchor_name,
        anchor["seconds"],
        "s",
    )
    ratio = imported["seconds"] / anchor["seconds"]
    memory = imported["maxrss_mb"]
    print(
        f"  {database}: import {imported['seconds']:.1f} s (read+validate "
        f"{imported['plan_seconds']:.1f} s, write {imported['write_seconds']:.1f} s) vs anchor "
        f"{anchor['seconds']:.1f} s: {ratio:.2f}× (goal ≤ {GOAL_RATIO:.0f}×); peak memory "
        f"{memory:,.0f} MB (goal < {GOAL_MEMORY_MB:,} MB); {summary['rows']:,} rows, "
        f"{imported['invoices']:,} invoices"
    )
    steps = imported.get("write_steps") or {}
    if steps:
        accounted = sum(steps.values())
        parts = [f"{name} {seconds:.1f} s" for name, seconds in steps.items()]
        rest = max(0.0, imported["write_seconds"] - accounted)
        parts.append(f"the rest (framing rows in polars, counting) {rest:.1f} s")
        print(f"    write: {'; '.join(parts)}")


def _report_schema(report, database: str, imported: dict, how: str, schema: dict) -> None:
    """The same import against the rows it stored written raw into the platform's own tables."""
    report(
        f"import 1M-row CSV, {database}, same schema (s)",
        imported["seconds"],
        f"{how} of the stored rows into the same tables",
        schema["seconds"],
        "s",
    )
    print(
        f"  {database}: the platform's tables with their {schema['indexes']} declared indexes "
        "and their keys, "
        f"written raw ({how} {schema['written']:.1f} s, then indexes and keys built, "
        f"{schema['seconds']:.1f} s in all): the import's writing "
        f"{imported['write_seconds']:.1f} s is "
        f"{imported['write_seconds'] / schema['seconds']:.2f}× that; with reading and validation "
        f"{imported['seconds'] / schema['seconds']:.2f}×"
    )


def _report_more(database: str, first: dict, more: dict) -> None:
    """A further file into the platform the first import filled: smaller than what is stored, so
    written through every index row by row (the first one built its indexes afterwards)."""
    summary = more["summary"]
    assert summary["imported"] == summary["rows"], summary
    assert first["indexes_deferred"] and not more["indexes_deferred"], (first, more)
    per_row = more["seconds"] / summary["rows"] * 1e6
    first_per_row = first["seconds"] / first["summary"]["rows"] * 1e6
    print(
        f"  {database}: a further {summary['rows']:,} rows into the {first['invoices']:,} "
        f"stored, every index maintained row by row: {more['seconds']:.1f} s "
        f"({per_row:.0f} µs per row; the first import {first_per_row:.0f} µs per row, its "
        f"indexes built afterwards); peak memory {more['maxrss_mb']:,.0f} MB"
    )
    steps = more.get("write_steps") or {}
    if steps:
        print("    write: " + "; ".join(f"{k} {v:.1f} s" for k, v in steps.items()))


def _fapiao(env: dict, *args: str) -> None:
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "fapiao", *args],
        env={**env, "PYTHONPATH": str(REPO / "src")},
        check=True,
        capture_output=True,
    )


def _child(*args: str, env: dict | None = None) -> dict:
    result = subprocess.run(  # noqa: S603
        [sys.executable, __file__, *args],
        env={**(env or os.environ), "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench_import {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _sqlite_copy(source: Path, target: Path) -> None:
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _psql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the children ------------------------------------------------------------------------------


def _company_names(rng, count: int) -> list[str]:
    cities = [
        "北京",
        "上海",
        "广州",
        "深圳",
        "杭州",
        "南京",
        "成都",
        "武汉",
        "西安",
        "苏州",
        "天津",
        "重庆",
        "长沙",
        "郑州",
        "青岛",
        "厦门",
    ]
    words = [
        "华信",
        "天成",
        "恒达",
        "金桥",
        "东方",
        "远航",
        "博远",
        "瑞丰",
        "鼎盛",
        "新元",
        "云海",
        "中科",
        "龙腾",
        "汇通",
        "嘉禾",
        "星辰",
        "海纳",
        "启明",
        "安泰",
        "宏图",
        "锦程",
        "明德",
        "润泽",
        "卓越",
        "正大",
        "万象",
        "同创",
        "晨光",
        "蓝海",
        "智联",
        "永信",
        "和美",
    ]
    trades = [
        "网络科技",
        "电子商务",
        "建筑工程",
        "医疗器械",
        "食品贸易",
        "物流",
        "文化传媒",
        "机械设备",
        "新能源",
        "信息技术",
        "环保科技",
        "餐饮管理",
        "教育咨询",
        "服装",
        "化工材料",
        "汽车销售",
    ]
    names: set[str] = set()
    while len(names) < count:
        names.add(
            f"{rng.choice(cities)}{rng.choice(words)}{rng.choice(words)}{rng.choice(trades)}"
            f"{rng.choice(['有限公司', '股份有限公司', '有限责任公司'])}"
        )
    return sorted(names)


def generate(path: str, rows: int, series: str = "112") -> dict:
    import datetime
    import random

    import polars as pl

    from fapiao.rules import uscc

    started = time.perf_counter()
    rng = random.Random(SEED)
    org_tax_id = uscc.make("91110108MA01YF8K3")
    names = _company_names(rng, COUNTERPARTIES)
    regions = ["110105", "310115", "440300", "330106", "320102", "510104", "420106", "610113"]
    tax_ids = [
        uscc.make(f"91{regions[k % len(regions)]}MA{k:07d}"[:17]) for k in range(COUNTERPARTIES)
    ]
    # rate (1/10000), its label as users write it, item names
    rates = [
        (1300, "13%", ["*计算机外部设备*扫描枪", "*电子计算机*笔记本电脑", "*办公设备*打印机"]),
        (900, "9%", ["*运输服务*货物运输服务", "*建筑服务*工程服务", "*农产品*大米"]),
        (600, "6%", ["*信息技术服务*软件开发服务", "*现代服务*技术咨询服务", "*餐饮服务*餐费"]),
        (300, "3%", ["*劳务*装卸搬运服务", "*日用品*洗涤用品"]),
        (100, "1%", ["*零售*日用百货", "*咨询服务*咨询费"]),
    ]
    n = pl.int_range(rows, dtype=pl.Int64)

    def uniform(salt: int, size: int) -> pl.Expr:
        """Deterministic pseudo-random integers in [0, size) (polars has no RNG of its own)."""
        return (n.hash(SEED + salt) % size).cast(pl.Int64)

    weights = [35, 15, 35, 5, 10]  # percent: 13%, 9%, 6%, 3%, 1%
    bounds = [sum(weights[: i + 1]) for i in range(len(weights))]
    roll = uniform(1, 100)
    pick = pl.lit(len(rates) - 1, dtype=pl.Int64)
    for i in reversed(range(len(rates) - 1)):
        pick = pl.when(roll < bounds[i]).then(pl.lit(i, dtype=pl.Int64)).otherwise(pick)
    rate_e4 = pick.replace_strict(list(range(len(rates))), [r[0] for r in rates])
    amount = uniform(2, 5_000_000 - 1_000) + 1_000  # cents
    first_day = datetime.date(2022, 1, 1)
    span = (datetime.date.today() - first_day).days
    frame = pl.select(
        pick=pick,
        item=uniform(3, 3),
        amount=amount,
        day=(n * span) // max(rows, 1),
        party=uniform(4, COUNTERPARTIES),
        bought=uniform(5, 100) < 10,
        special=uniform(6, 100) < 60,
        rate_e4=rate_e4,
    ).with_columns(
        tax=(pl.col("amount") * pl.col("rate_e4") * 2 + 10_000) // 20_000,
    )
    labels = pl.Series([r[1] for r in rates])
    items = pl.Series([r[2][i % len(r[2])] for r in rates for i in range(3)])
    date = pl.lit(first_day) + pl.duration(days=pl.col("day"))
    party_name = pl.col("party").replace_strict(list(range(COUNTERPARTIES)), names)
    party_tax = pl.col("party").replace_strict(list(range(COUNTERPARTIES)), tax_ids)

    def money(cents: pl.Expr) -> pl.Expr:
        return pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.pad_start(2, "0"))

    out = frame.select(
        pl.when(pl.col("special")).then(pl.lit("数电专票")).otherwise(pl.lit("数电普票"))
        .alias("发票类型"),
        pl.lit("").alias("发票代码"),
        pl.concat_str(
            [
                date.dt.strftime("%y"),
                pl.lit(series),
                (pl.int_range(pl.len()) + 1).cast(pl.String).str.pad_start(15, "0"),
            ]
        ).alias("发票号码"),
        date.dt.strftime("%Y-%m-%d").alias("开票日期"),
        pl.when(pl.col("bought")).then(party_name).otherwise(pl.lit(ORG_NAME)).alias("销售方名称"),
        pl.when(pl.col("bought")).then(party_tax).otherwise(pl.lit(org_tax_id))
        .alias("销售方纳税人识别号"),
        pl.when(pl.col("bought")).then(pl.lit(ORG_NAME)).otherwise(party_name).alias("购买方名称"),
        pl.when(pl.col("bought")).then(pl.lit(org_tax_id)).otherwise(party_tax)
        .alias("购买方纳税人识别号"),
        (pl.col("pick") * 3 + pl.col("item")).replace_strict(list(range(15)), items)
        .alias("项目名称"),
        money(pl.col("amount")).alias("金额"),
        pl.col("pick").replace_strict(list(range(len(rates))), labels).alias("税率"),
        money(pl.col("tax")).alias("税额"),
        money(pl.col("amount") + pl.col("tax")).alias("价税合计"),
        pl.lit("").alias("备注"),
    )  # fmt: skip
    assert out.columns == HEADER
    out.write_csv(path)
    return {"seconds": time.perf_counter() - started, "org_tax_id": org_tax_id}


def child_import(path: str, org_tax_id: str) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fapiao.settings")
    os.environ.setdefault("LOG_LEVEL", "warning")
    import django

    django.setup()
    from fapiao.accounts.models import Organization
    from fapiao.imports import bulk, services, writing
    from fapiao.imports.models import ImportStatus

    if os.environ.get("BENCH_IMPORT_CHUNK"):
        writing.CHUNK = int(os.environ["BENCH_IMPORT_CHUNK"])
    writing.TIMINGS = {}
    organization, _ = Organization.objects.get_or_create(
        tax_id=org_tax_id, defaults={"name": ORG_NAME, "region_code": org_tax_id[2:4]}
    )
    started = time.perf_counter()
    data = Path(path).read_bytes()
    job = services.import_create(
        actor=None, organization=organization, data=data, name="invoices.csv", background=False
    )
    del data
    plan_started = time.perf_counter()
    plan, _ = services.plan_for(job)
    plan_seconds = time.perf_counter() - plan_started
    type(job).objects.filter(pk=job.pk).update(rows=plan.rows, invoices_total=plan.invoices)
    # The same steps as services.import_run, timed apart: read and validate, then write (with
    # the secondary indexes built after the rows when the import is large against what is stored).
    write_started = time.perf_counter()
    deferred = bulk.defer(job_id=job.pk, invoices=plan.invoices)
    while writing.write_chunk(job_id=job.pk, plan=plan, compare_status=False):
        pass
    type(job).objects.filter(pk=job.pk).update(status=ImportStatus.DONE)
    built_started = time.perf_counter()
    built = bulk.restore()
    writing.TIMINGS["secondary indexes built after the rows"] = time.perf_counter() - built_started
    assert not bulk.missing()
    write_seconds = time.perf_counter() - write_started
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    return {
        "seconds": seconds,
        "plan_seconds": plan_seconds,
        "write_seconds": write_seconds,
        "maxrss_mb": _maxrss_mb(),
        "summary": job.summary(),
        "invoices": job.invoices_imported,
        "write_steps": writing.TIMINGS,
        "indexes_deferred": deferred,
        "indexes_built": len(built),
    }


def anchor_sqlite(path: str, database: str) -> dict:
    import csv
    import sqlite3

    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        rows = [tuple(r) for r in reader]
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    columns = ", ".join(f"c{i} TEXT" for i in range(len(HEADER)))
    conn.execute(f"CREATE TABLE anchor (id INTEGER PRIMARY KEY, {columns})")
    conn.execute("CREATE UNIQUE INDEX anchor_identity ON anchor (c1, c2)")
    placeholders = ", ".join("?" * len(HEADER))
    names = ", ".join(f"c{i}" for i in range(len(HEADER)))
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(f"INSERT INTO anchor ({names}) VALUES ({placeholders})", rows)  # noqa: S608
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return {"seconds": seconds, "maxrss_mb": _maxrss_mb()}


def anchor_copy(path: str, url: str) -> dict:
    import psycopg

    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_anchor")
        conn.execute(f"CREATE TABLE bench_anchor (id bigserial PRIMARY KEY, {columns})")
        conn.execute("CREATE UNIQUE INDEX bench_anchor_identity ON bench_anchor (c1, c2)")
        names = ", ".join(f"c{i}" for i in range(len(HEADER)))
        started = time.perf_counter()
        with conn.cursor() as cursor, open(path, "rb") as f:
            sql = f"COPY bench_anchor ({names}) FROM STDIN WITH (FORMAT csv, HEADER true)"
            with cursor.copy(sql) as copy:
                while block := f.read(1 << 20):
                    copy.write(block)
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_anchor")
    return {"seconds": seconds, "maxrss_mb": _maxrss_mb()}


# The platform's own tables, for the same-schema anchors: the rows the import stored, read back
# beforehand (not timed), then written raw into empty copies of the same tables — no reading of the
# file, no validation, no framework. The identity index and the primary keys are there during the
# write, as in the anchors, and so is the index the import keeps while it writes (the
# invoice number's); the other indexes and the keys are built after the rows, as the import's
# bulk mode does. What this costs is what the schema itself costs (two tables, typed rows, their
# indexes and keys), without the name-search dictionary the import also fills.
SCHEMA_TABLES = ("invoices_invoice", "invoices_invoiceline")
KEPT_DURING_WRITE = ("invoice_number",)  # as fapiao.imports.bulk.KEPT


def _copy_name(name: str) -> str:
    return f"bench_copy_{name}"


def anchor_schema_sqlite(database: str) -> dict:
    import re
    import sqlite3

    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA cache_size=-262144")
    rename = re.compile(r'"(' + "|".join(SCHEMA_TABLES) + r')"')

    def renamed(sql: str) -> str:
        return rename.sub(lambda m: f'"{_copy_name(m.group(1))}"', sql)

    data, later, during = {}, [], []
    for table in SCHEMA_TABLES:
        (ddl,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)
        ).fetchone()
        conn.execute(f'DROP TABLE IF EXISTS "{_copy_name(table)}"')
        conn.execute(renamed(ddl))
        data[table] = conn.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall()  # noqa: S608
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type='index' AND tbl_name=? AND sql IS NOT NULL",
            (table,),
        ):
            sql = renamed(sql).replace(f'"{name}"', f'"bench_copy_{name}"', 1)
            kept = sql.lstrip().upper().startswith("CREATE UNIQUE") or name in KEPT_DURING_WRITE
            (during if kept else later).append(sql)
    for sql in during:
        conn.execute(sql)
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    for table in SCHEMA_TABLES:
        rows = data[table]
        marks = ", ".join("?" * len(rows[0]))
        conn.executemany(f'INSERT INTO "{_copy_name(table)}" VALUES ({marks})', rows)  # noqa: S608
    conn.execute("COMMIT")
    written = time.perf_counter() - started
    for sql in later:
        conn.execute(sql)
    seconds = time.perf_counter() - started
    for table in reversed(SCHEMA_TABLES):
        conn.execute(f'DROP TABLE "{_copy_name(table)}"')
    conn.close()
    rows = {table: len(data[table]) for table in SCHEMA_TABLES}
    return {
        "seconds": seconds,
        "written": written,
        "indexes": len(during) + len(later),
        "rows": rows,
    }


def anchor_schema_copy(url: str) -> dict:
    import psycopg

    data, during, later = {}, [], []
    with psycopg.connect(url, autocommit=True) as conn:
        for table in SCHEMA_TABLES:
            copy_name = _copy_name(table)
            conn.execute(f"DROP TABLE IF EXISTS {copy_name} CASCADE")
            conn.execute(
                f"CREATE TABLE {copy_name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
            )
            with conn.cursor() as cursor:
                with cursor.copy(f"COPY {table} TO STDOUT (FORMAT binary)") as copy:
                    data[table] = b"".join(bytes(block) for block in copy)
                indexes = cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", (table,)
                ).fetchall()
                keys = cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                    " WHERE conrelid = %s::regclass AND contype = 'f'",
                    (table,),
                ).fetchall()
            for name, sql in indexes:
                sql = sql.replace(f" ON public.{table} ", f" ON public.{copy_name} ")
                sql = sql.replace(f"INDEX {name} ", f"INDEX bench_copy_{name} ", 1)
                kept = sql.startswith("CREATE UNIQUE") or name in KEPT_DURING_WRITE
                (during if kept else later).append(sql)
            for name, definition in keys:
                for other in SCHEMA_TABLES:
                    definition = definition.replace(
                        f"REFERENCES {other}(", f"REFERENCES {_copy_name(other)}("
                    )
                later.append(
                    f"ALTER TABLE {copy_name} ADD CONSTRAINT bench_copy_{name} {definition}"
                )
        for sql in during:
            conn.execute(sql)
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cursor:
            for table in SCHEMA_TABLES:
                with cursor.copy(f"COPY {_copy_name(table)} FROM STDIN (FORMAT binary)") as copy:
                    view = memoryview(data[table])
                    for offset in range(0, len(view), 1 << 20):
                        copy.write(view[offset : offset + (1 << 20)])
        written = time.perf_counter() - started
        with conn.transaction():
            for sql in later:
                conn.execute(sql)
        seconds = time.perf_counter() - started
        for table in reversed(SCHEMA_TABLES):
            conn.execute(f"DROP TABLE {_copy_name(table)} CASCADE")
    sizes = {table: len(data[table]) for table in SCHEMA_TABLES}
    return {
        "seconds": seconds,
        "written": written,
        "indexes": len(during) + len(later),
        "bytes": sizes,
    }


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "--generate":
        result = generate(argv[1], int(argv[2]), *argv[3:4])
    elif argv and argv[0] == "--import":
        result = child_import(argv[1], argv[2])
    elif argv and argv[0] == "--anchor-sqlite":
        result = anchor_sqlite(argv[1], argv[2])
    elif argv and argv[0] == "--anchor-copy":
        result = anchor_copy(argv[1], argv[2])
    elif argv and argv[0] == "--anchor-schema-sqlite":
        result = anchor_schema_sqlite(argv[1])
    elif argv and argv[0] == "--anchor-schema-copy":
        result = anchor_schema_copy(argv[1])
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from run import report

        bench_import(report, int(argv[0]) if argv else ROWS)
        return 0
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
