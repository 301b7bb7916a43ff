"""对账 at 1,000,000 ledger rows against 1,000,000 platform invoices.

The tables: 1,000,000 sequential 数电 invoices of one organization; the ledger books them with 1 %
left out (missing from the ledger), 1 % extra rows (missing on the platform), 1 % with another
total (mismatched), 0.5 % with a typo in the number (one digit wrong, a digit missing or extra, a
lookalike letter, two digits swapped) and 0.1 % booked twice.

- figure: the engine's comparison (`fapiao.reconcile.engine.compare`: identity join, field
  comparison, red-letter and duplicate handling, typo pairing) of the two frames;
- anchor: a plain DuckDB full outer join of the same two tables on (code, number), materialised;
  the two alternate in one process, five rounds, and the best of each is reported (the machine is
  shared: its load changes from one second to the next); peak memory is the engine's alone, in a
  process of its own (with the tables);
- end to end, reported apart: the ledger written as a CSV file and the invoices stored in a
  scratch SQLite database (by one child), then `services.compare_ledger` (read the file, load the
  invoices with one SQL query, compare) in a child of its own, whose peak memory is reported.

Each measurement runs in a child process of its own, so that its peak memory (maxrss) is its own.
Called from bench/run.py as `bench_reconcile(report)`; runnable alone:
`python bench/bench_reconcile.py [ROWS]`. The anchor needs the `duckdb` package.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = 1_000_000
REPO = Path(__file__).resolve().parents[1]
ORG_NAME = "北京云帆对账基准科技有限公司"
ORG_TAX_ID = "91110108MA01YF8K3U"
FIRST_DAY = dt.date(2025, 1, 1)
GOAL_RATIO = 2.0
GOAL_MEMORY_MB = 1536


def bench_reconcile(report, rows: int = ROWS) -> None:
    engine = _child("--engine", str(rows))
    try:
        race = _child("--race", str(rows))
    except RuntimeError as missing:
        if "No module named 'duckdb'" not in str(missing):
            raise
        print("  (reconcile anchor skipped: pip install duckdb to measure the DuckDB join)")
        race = None
    counts = engine["counts"]
    if race:
        # Engine and anchor alternate in one process, best of each: on a shared machine the
        # load changes from one second to the next.
        report(
            f"reconcile {rows:,} vs {rows:,}, engine (ms)",
            race["engine"] * 1000,
            "DuckDB full outer join",
            race["anchor"] * 1000,
            "ms",
        )
        ratio = race["engine"] / race["anchor"]
        print(
            f"  engine {race['engine']:.2f} s vs anchor {race['anchor']:.2f} s: {ratio:.2f}× "
            f"(goal ≤ {GOAL_RATIO:.0f}×; rounds: engine "
            f"{', '.join(f'{t:.2f}' for t in race['engine_rounds'])}, anchor "
            f"{', '.join(f'{t:.2f}' for t in race['anchor_rounds'])}); engine alone: peak memory "
            f"{engine['maxrss_mb']:,.0f} MB (goal < {GOAL_MEMORY_MB:,} MB), "
            f"{engine['seconds']:.2f} s"
        )
    print(
        "  categories: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        + f" (expected typos {engine['expected_typos']:,})"
    )
    scratch = Path(tempfile.mkdtemp(prefix="fapiao-bench-reconcile-"))
    try:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{scratch / 'reconcile.sqlite3'}",
            "FAPIAO_VAR_DIR": str(scratch / "var"),
        }
        _fapiao(env, "migrate", "--no-input")
        stored = _child("--fill", str(rows), str(scratch), env=env)
        whole = _child("--end-to-end", str(rows), str(scratch), env=env)
        whole.update(stored)
        print(
            f"  end to end (SQLite): {whole['seconds']:.1f} s — read the "
            f"{whole['ledger_mb']:.0f} MB ledger CSV {whole['read_seconds']:.1f} s, "
            f"load {whole['invoices']:,} invoices "
            f"{whole['load_seconds']:.1f} s, compare {whole['compare_seconds']:.1f} s; "
            f"peak memory {whole['maxrss_mb']:,.0f} MB (storing the invoices took "
            f"{whole['fill_seconds']:.0f} s, not counted)"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


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
        raise RuntimeError(f"bench_reconcile {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the tables --------------------------------------------------------------------------------


def tables(rows: int):
    """(ledger, platform, expected typos) as the engine reads them, generated in polars."""
    import polars as pl

    from fapiao.reconcile import engine

    def number(seq: pl.Expr) -> pl.Expr:
        return pl.lit("25112") + seq.cast(pl.String).str.pad_start(15, "0")

    def uniform(salt: int, size: int) -> pl.Expr:
        return (pl.col("i").hash(salt) % size).cast(pl.Int64)

    base = pl.DataFrame({"i": pl.int_range(0, rows, eager=True)})
    platform = base.select(
        (pl.col("i") + 1).alias("id"),
        pl.lit("").alias("code"),
        number(pl.col("i") + 1).alias("number"),
        (pl.lit(FIRST_DAY) + pl.duration(days=uniform(1, 365))).alias("issue_date"),
        (uniform(2, 10_000_000) + 1000).alias("total"),
        pl.format("客户{}有限公司", uniform(3, 20_000)).alias("counterparty_name"),
        pl.format("91310115MA{}", uniform(3, 20_000).cast(pl.String).str.pad_start(8, "0"))
        .alias("counterparty_tax_id"),
        pl.lit("seller").alias("side"),
        pl.lit(0, dtype=pl.Int64).alias("status"),
        pl.lit(False).alias("is_red"),
        pl.lit(None, dtype=pl.Int64).alias("original_id"),
    ).with_columns(
        amount=pl.col("total") * 100 // 106,
        tax=pl.col("total") - pl.col("total") * 100 // 106,
    ).select(list(engine.PLATFORM_COLUMNS))  # fmt: skip
    bucket = pl.col("i") % 1000
    typo = number(pl.col("i") + 1)
    booked = (
        platform.with_columns(i=pl.col("id") - 1)
        .filter(bucket % 100 != 0)  # 1 % missing from the ledger
        .with_columns(
            total=pl.when(bucket % 100 == 1).then(pl.col("total") + 100).otherwise("total"),
            number=pl.when(bucket == 3)
            .then(typo.str.slice(0, 8) + pl.lit("7") + typo.str.slice(9))  # one digit wrong
            .when(bucket == 13)
            .then(typo.str.slice(0, 6) + typo.str.slice(7))  # a digit missing
            .when(bucket == 23)
            .then(typo.str.slice(0, 6) + pl.lit("0") + typo.str.slice(6))  # a digit extra
            .when(bucket == 33)
            .then(typo.str.slice(0, 7) + pl.lit("O") + typo.str.slice(8))  # O for 0
            .when(bucket == 43)
            .then(typo.str.slice(0, 4) + pl.lit("02") + typo.str.slice(6))  # 2 and 0 swapped
            .otherwise("number"),
        )
    )
    expected_typos = booked.filter(bucket.is_in([3, 13, 23, 33, 43])).height
    twice = booked.filter(bucket == 5)  # 0.1 % booked twice
    extra = base.head(rows // 100).select(
        pl.lit("").alias("code"),
        number(pl.col("i") + 10**9).alias("number"),
        (pl.lit(FIRST_DAY) + pl.duration(days=uniform(4, 365))).alias("issue_date"),
        (uniform(5, 1_000_000) + 100).alias("total"),
    )
    ledger = pl.concat(
        [booked.select("code", "number", "issue_date", "total", "counterparty_name",
                       "counterparty_tax_id", "amount", "tax"),
         twice.select("code", "number", "issue_date", "total", "counterparty_name",
                      "counterparty_tax_id", "amount", "tax"),
         extra],
        how="diagonal_relaxed",
    )  # fmt: skip
    ledger = ledger.with_row_index("row", offset=2).with_columns(pl.col("row").cast(pl.Int64))
    return ledger, platform, expected_typos


def child_engine(rows: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fapiao.settings")
    import django

    django.setup()
    from fapiao.reconcile import engine

    ledger, platform, expected = tables(rows)
    scope = engine.Scope(tax_id=ORG_TAX_ID, side="seller")
    times = []
    for _ in range(3):
        started = time.perf_counter()
        result = engine.compare(ledger, platform, scope=scope, reds=engine.empty_platform())
        times.append(time.perf_counter() - started)
        counts = {c: f.height for c, f in result.frames.items()}
        del result
    return {
        "seconds": min(times),
        "maxrss_mb": _maxrss_mb(),
        "counts": counts,
        "expected_typos": expected,
    }


def child_race(rows: int, rounds: int = 5) -> dict:
    """The engine and the DuckDB full outer join of the same two tables, alternately."""
    import duckdb

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fapiao.settings")
    import django

    django.setup()
    from fapiao.reconcile import engine

    ledger, platform, _ = tables(rows)
    folder = Path(tempfile.mkdtemp(prefix="fapiao-bench-anchor-"))
    try:
        ledger.write_parquet(folder / "l.parquet")
        platform.write_parquet(folder / "p.parquet")
        con = duckdb.connect()
        con.execute("CREATE TABLE l AS SELECT * FROM read_parquet(?)", [str(folder / "l.parquet")])
        con.execute("CREATE TABLE p AS SELECT * FROM read_parquet(?)", [str(folder / "p.parquet")])
        scope = engine.Scope(tax_id=ORG_TAX_ID, side="seller")
        anchor_rounds, engine_rounds = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            con.execute(
                "CREATE OR REPLACE TEMP TABLE j AS SELECT * FROM l "
                "FULL OUTER JOIN p ON l.code = p.code AND l.number = p.number"
            )
            anchor_rounds.append(time.perf_counter() - started)
            started = time.perf_counter()
            engine.compare(ledger, platform, scope=scope, reds=engine.empty_platform())
            engine_rounds.append(time.perf_counter() - started)
        joined = con.execute("SELECT count(*) FROM j").fetchone()[0]
        con.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "anchor": min(anchor_rounds),
        "engine": min(engine_rounds),
        "anchor_rounds": anchor_rounds,
        "engine_rounds": engine_rounds,
        "rows": joined,
    }


def _fill(platform, organization) -> None:
    """The invoices into the database with executemany, every column the table requires."""
    import polars as pl
    from django.db import connection, transaction
    from django.utils import timezone

    from fapiao.invoices.models import Invoice

    fields = [f for f in Invoice._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    defaults = {}
    for f in fields:
        if f.null:
            defaults[f.column] = None
        elif f.get_internal_type() in ("BooleanField",):
            defaults[f.column] = False
        elif f.get_internal_type() in ("DateTimeField",):
            defaults[f.column] = now.strftime("%Y-%m-%d %H:%M:%S.%f")
        else:
            defaults[f.column] = ""
    defaults.update(type_code="32", source="imported", status=0, seller_org_id=organization.pk,
                    seller_name=organization.name, seller_tax_id=organization.tax_id)  # fmt: skip
    columns = [f.column for f in fields]
    placeholders = ", ".join(["?"] * len(columns))
    sql = f"INSERT INTO {Invoice._meta.db_table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    varying = {"number": "number", "issue_date": "issue_date", "amount": "amount", "tax": "tax",
               "total": "total", "buyer_name": "counterparty_name",
               "buyer_tax_id": "counterparty_tax_id"}  # fmt: skip
    money = ("amount", "tax", "total")
    connection.ensure_connection()
    raw = connection.connection  # sqlite3's own connection: no wrapper per row
    for chunk in platform.iter_slices(100_000):
        chunk = chunk.with_columns(
            [pl.format("{}.{}", pl.col(m) // 100, (pl.col(m) % 100).cast(pl.String)
                       .str.pad_start(2, "0")).alias(m) for m in money]
            + [pl.col("issue_date").cast(pl.String)]
        )  # fmt: skip
        series = [
            chunk[varying[c]].to_list() if c in varying else [defaults[c]] * chunk.height
            for c in columns
        ]
        with transaction.atomic():
            raw.executemany(sql, zip(*series, strict=True))


def child_fill(rows: int, scratch: str) -> dict:
    """The invoices stored in the scratch database and the ledger written as CSV, in a process
    of its own: the measurement that follows holds neither table in memory."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fapiao.settings")
    os.environ.setdefault("LOG_LEVEL", "warning")
    import django

    django.setup()
    import polars as pl

    from fapiao.accounts.models import Organization

    ledger, platform, _ = tables(rows)
    organization = Organization.objects.create(
        name=ORG_NAME, tax_id=ORG_TAX_ID, region_code=ORG_TAX_ID[2:4]
    )
    started = time.perf_counter()
    _fill(platform, organization)
    fill_seconds = time.perf_counter() - started
    path = Path(scratch) / "ledger.csv"
    ledger.select(
        pl.col("code").alias("发票代码"),
        pl.col("number").alias("发票号码"),
        pl.col("issue_date").cast(pl.String).alias("开票日期"),
        pl.col("counterparty_name").alias("客户名称"),
        pl.col("counterparty_tax_id").alias("客户税号"),
        pl.format("{}.{}", pl.col("total") // 100,
                  (pl.col("total") % 100).cast(pl.String).str.pad_start(2, "0")).alias("价税合计"),
    ).write_csv(path)  # fmt: skip
    return {"fill_seconds": fill_seconds, "ledger_mb": path.stat().st_size / 1e6}


def child_end_to_end(rows: int, scratch: str) -> dict:
    """`services.compare_ledger` on the stored ledger and invoices: its peak memory is the
    process's (Django, the file's bytes, the frames)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fapiao.settings")
    os.environ.setdefault("LOG_LEVEL", "warning")
    import django

    django.setup()
    from fapiao.accounts.models import Organization
    from fapiao.reconcile import services

    organization = Organization.objects.get(tax_id=ORG_TAX_ID)
    path = Path(scratch) / "ledger.csv"
    data = path.read_bytes()
    timings: dict = {}
    started = time.perf_counter()
    _parsed, result, _ = services.compare_ledger(
        organization=organization, data=data, name=path.name, side="seller", timings=timings
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "read_seconds": timings["read"],
        "load_seconds": timings["load"],
        "compare_seconds": timings["compare"],
        "invoices": result.invoices,
        "counts": {c: f.height for c, f in result.frames.items()},
        "maxrss_mb": _maxrss_mb(),
    }


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "--engine":
        result = child_engine(int(argv[1]))
    elif argv and argv[0] == "--race":
        result = child_race(int(argv[1]))
    elif argv and argv[0] == "--fill":
        result = child_fill(int(argv[1]), argv[2])
    elif argv and argv[0] == "--end-to-end":
        result = child_end_to_end(int(argv[1]), argv[2])
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from run import report

        bench_reconcile(report, int(argv[0]) if argv else ROWS)
        return 0
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
