"""Writing a plan's invoices in chunks: each chunk in one transaction with the import's checkpoint
and counters, so a killed run resumes after the last committed chunk and no invoice is ever stored
without its lines.

Idempotent by identity (发票代码 + 发票号码, unique in the database): an invoice already stored is
not written again but compared with what the file says, and counted as a duplicate (identical) or
rejected as a conflicting duplicate (naming the fields that differ).

Two writers, one per supported database, both set-based:
- SQLite: the transaction holds the database's write lock from its start (transaction_mode
  IMMEDIATE), so the identities found stored are all there are; new invoices get ids above the
  largest one, and the name-search dictionary gets the chunk's new names in one statement per
  table rather than a trigger run per row.
- PostgreSQL: COPY straight into the invoice table, ids taken from its sequence first, in a
  savepoint. When an identity is stored already, the unique constraint refuses the COPY and the
  chunk goes the staged way: COPY into a temporary table, then INSERT ... ON CONFLICT DO NOTHING
  RETURNING; the identities not returned were stored already (before, or by another session
  meanwhile), and only those are read back and classified. Lines go in by COPY. The plan's names
  are in the search dictionary before the chunks (`_names_ahead`).

Measured on a 1,000,000-row file (bench/bench_import.py prints the steps): nearly all the time
is the databases writing the rows and maintaining the invoice's and the lines' indexes.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from fapiao.imports.errors import ImportErrorCode as E
from fapiao.imports.models import ImportProblem, InvoiceImport
from fapiao.imports.validation import CENTS, Plan
from fapiao.invoices import search
from fapiao.invoices.models import Invoice, InvoiceLine, InvoiceSource
from fapiao.rules.text import nfkc

# Invoices per transaction. Larger chunks write each index page back fewer times (a 1,000,000-row
# import on SQLite: 10,000 → 50,000 took the commits from 31 s to 14 s); a chunk holds SQLite's
# write lock for a few seconds at most, well inside the 20 s other writers wait.
CHUNK = 50_000
# SQLite copies the write-ahead log into the database (a checkpoint) after a commit that leaves it
# above this many pages; while importing, every few chunks rather than after each.
SQLITE_WAL_AUTOCHECKPOINT = 100_000
_LOOKUP_BATCH = 2000  # identities per query (SQLite's bound-parameter limit is far above)
# Seconds spent per step of the writing, summed over chunks, when a caller (the benchmark) sets
# a dict here; None otherwise.
TIMINGS: dict[str, float] | None = None


@contextmanager
def _timed(step: str) -> Iterator[None]:
    if TIMINGS is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        TIMINGS[step] = TIMINGS.get(step, 0.0) + time.perf_counter() - started


# The invoice columns an import fills; every other column gets its field's default.
_INVOICE_VALUES = (
    "type_code",
    "code",
    "number",
    "issue_date",
    "seller_org_id",
    "seller_name",
    "seller_tax_id",
    "buyer_org_id",
    "buyer_name",
    "buyer_tax_id",
    "amount",
    "tax",
    "total",
    "check_code",
    "remarks",
    "drawer",
    "status",
    "is_red",
)
_LINE_VALUES = {
    "position": "position",
    "name": "name",
    "tax_code": "tax_code",
    "spec": "spec",
    "unit": "unit_of_measure",
    "quantity": "quantity",
    "unit_price": "unit_price",
    "amount": "amount",
    "rate": "rate",
    "tax": "tax",
    "exemption": "exemption",
}
# Stored fields compared with the file's, for 查重: (field, label, plan column).
_COMPARED = (
    ("type_code", "发票类型", "type_code"),
    ("issue_date", "开票日期", "issue_date"),
    ("seller_tax_id", "销售方纳税人识别号", "seller_tax_id"),
    ("seller_name", "销售方名称", "seller_name"),
    ("buyer_tax_id", "购买方纳税人识别号", "buyer_tax_id"),
    ("buyer_name", "购买方名称", "buyer_name"),
    ("amount", "金额", "amount"),
    ("tax", "税额", "tax"),
    ("total", "价税合计", "total"),
    ("status", "发票状态", "status"),
)


@dataclass
class ChunkResult:
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    invoices_imported: int = 0
    warnings: int = 0
    problems: list[ImportProblem] = field(default_factory=list)


def _money(cents: pl.Expr) -> pl.Expr:
    magnitude = cents.abs()
    return pl.concat_str(
        [
            pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
            (magnitude // CENTS).cast(pl.String),
            pl.lit("."),
            (magnitude % CENTS).cast(pl.String).str.pad_start(2, "0"),
        ]
    )


def _cents(value: Decimal) -> int:
    return int((Decimal(value) * CENTS).to_integral_value())


def _same_name(a: str, b: str) -> bool:
    return "".join(nfkc(a or "").split()) == "".join(nfkc(b or "").split())


def write_chunk(*, job_id: int, plan: Plan, compare_status: bool) -> InvoiceImport | None:
    """Write the next chunk after the job's checkpoint; None when there is none left."""
    if connection.vendor == "postgresql" and not plan.names_added:
        with _timed("name-search dictionary (ahead of the chunks)"):
            _names_ahead(plan)
    with _wal_checkpoints_spaced(), transaction.atomic():
        job = InvoiceImport.objects.select_for_update().get(pk=job_id)
        start = job.checkpoint
        if start >= plan.invoices:
            return None
        stop = min(start + CHUNK, plan.invoices)
        result = _write(job, plan, start, stop, compare_status=compare_status)
        with _timed("problems and checkpoint"):
            _checkpoint(job, result, stop)
        written = time.perf_counter()
    if TIMINGS is not None:
        TIMINGS["commit"] = TIMINGS.get("commit", 0.0) + time.perf_counter() - written
    return job


def _names_ahead(plan: Plan) -> None:
    """PostgreSQL: every name of the plan's valid invoices goes into the search dictionary
    first, committed on its own, and the chunks' transactions tell the dictionary's triggers to
    skip (`_NAMES_ADDED`). A chunk then holds no new dictionary row uncommitted while it writes,
    on which anyone issuing an invoice to that name would wait (and two writers adding new names
    in different orders could deadlock); and the names are added once, not per statement. A
    name of a row that then fails stays in the dictionary, where it finds nothing."""
    units = plan.units.filter(pl.col("ok"))
    search.names_add(
        [*units["seller_name"].unique().to_list(), *units["buyer_name"].unique().to_list()],
        plan.lines["name"].unique().to_list(),
    )
    plan.names_added = True


@contextmanager
def _wal_checkpoints_spaced() -> Iterator[None]:
    """SQLite: the chunk's commit checkpoints the log only once it is SQLITE_WAL_AUTOCHECKPOINT
    pages long (a connection's setting, put back after the commit). Durability is unchanged:
    a committed chunk is in the log, and the log is the database's until it is copied."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA wal_autocheckpoint = {max(before, SQLITE_WAL_AUTOCHECKPOINT)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {before}")


def _checkpoint(job: InvoiceImport, result: ChunkResult, stop: int) -> None:
    """The chunk's problems, counters and checkpoint, in the chunk's transaction."""
    ImportProblem.objects.bulk_create(result.problems, batch_size=2000)
    job.checkpoint = stop
    job.rows_done += result.rows
    job.imported += result.imported
    job.duplicates += result.duplicates
    job.rejected += result.rejected
    job.invoices_imported += result.invoices_imported
    job.warnings += result.warnings
    job.progress_at = timezone.now()
    job.save(
        update_fields=[
            "checkpoint",
            "rows_done",
            "imported",
            "duplicates",
            "rejected",
            "invoices_imported",
            "warnings",
            "progress_at",
        ]
    )


def _write(job: InvoiceImport, plan: Plan, start: int, stop: int, *, compare_status: bool):
    result = ChunkResult()
    units = plan.units.slice(start, stop - start)
    in_chunk = pl.col("inv").is_between(start, stop - 1)
    problems = plan.problems.filter(in_chunk)
    headers = plan.headers

    ok = units.filter(pl.col("ok"))
    bad = units.filter(~pl.col("ok"))
    result.rows = int(units["n_rows"].sum())
    result.rejected = int(bad["n_rows"].sum())

    # PostgreSQL's INSERT ... ON CONFLICT DO NOTHING RETURNING says which identities were stored
    # already (before or during the chunk): those alone are read back. SQLite looks first.
    with _timed("lookup of stored identities"):
        stored = _stored(ok) if connection.vendor != "postgresql" else {}
    keys = _keys(ok)
    new = ok.filter(pl.Series([k not in stored for k in keys], dtype=pl.Boolean))
    if new.height:
        lines = plan.lines.filter(pl.col("inv").is_in(new["inv"].implode()))
        raced = _insert(job, new, lines)
        if raced:  # PostgreSQL: stored already, or by another session meanwhile
            with _timed("lookup of stored identities"):
                stored.update(_stored(new.filter(pl.col("number").is_in(list(raced)))))
    inserted = ok.filter(pl.Series([k not in stored for k in keys], dtype=pl.Boolean))
    result.invoices_imported = inserted.height
    if inserted.height:
        result.duplicates += int(inserted["n_dup_rows"].sum())
        result.imported += int(inserted["n_rows"].sum()) - int(inserted["n_dup_rows"].sum())

    claims: list[int] = []
    if stored:
        for unit in ok.filter(pl.Series([k in stored for k in keys], dtype=pl.Boolean)).iter_rows(
            named=True
        ):
            existing = stored[f"{unit['code']}|{unit['number']}"]
            differences = _differences(unit, existing, compare_status=compare_status)
            if differences:
                result.rejected += unit["n_rows"]
                first_field = differences[0][0]
                column = headers.get(first_field, "")
                described = "；".join(
                    f"{label}（文件：{mine}，已存储：{theirs}）"
                    for _, label, mine, theirs in differences
                )
                result.problems.append(
                    ImportProblem(
                        invoice_import=job,
                        row=unit["first_row"],
                        column=column,
                        code=E.DUPLICATE_CONFLICT,
                        message=f"这张发票已存储，但以下内容不同：{described}"[:500],
                        invoice_number=unit["number"],
                        invoice_code=unit["code"] or "",
                    )
                )
                problems = problems.filter(~((pl.col("inv") == unit["inv"]) & pl.col("is_warning")))
            else:
                result.duplicates += unit["n_rows"]
                claims.append(existing["id"])
    if claims:
        _claim(job, claims)

    for row, column, code, message, is_warning, number, invoice_code in problems.select(
        "row", "column", "code", "message", "is_warning", "invoice_number", "invoice_code"
    ).iter_rows():
        result.problems.append(
            ImportProblem(
                invoice_import=job,
                row=row,
                column=column[:200],
                code=code,
                message=message[:500],
                is_warning=is_warning,
                invoice_number=number[:40],  # an unreadable number: what the row has, cut
                invoice_code=invoice_code,
            )
        )
        result.warnings += bool(is_warning)
    return result


def _keys(frame: pl.DataFrame) -> list[str]:
    return frame.select(pl.concat_str(["code", pl.lit("|"), "number"]).alias("k"))["k"].to_list()


def _stored(units: pl.DataFrame) -> dict[str, dict]:
    """The stored invoices with the units' identities, by 'code|number'.

    Which identities are stored is asked in plain SQL (cheap for a chunk of new invoices, the
    usual case); only the invoices found are then read through the ORM, for their comparison."""
    if units.height == 0:
        return {}
    wanted = set(_keys(units))
    numbers = units["number"].unique().to_list()
    present: set[str] = set()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT code, number FROM invoices_invoice WHERE number = ANY(%s)", [numbers]
            )
            present.update(f"{code}|{number}" for code, number in cursor.fetchall())
        else:
            for i in range(0, len(numbers), _LOOKUP_BATCH):
                batch = numbers[i : i + _LOOKUP_BATCH]
                cursor.execute(
                    "SELECT code, number FROM invoices_invoice "  # noqa: S608
                    f"WHERE number IN ({', '.join(['%s'] * len(batch))})",
                    batch,
                )
                present.update(f"{code}|{number}" for code, number in cursor.fetchall())
    hits = present & wanted
    if not hits:
        return {}
    found = {}
    numbers = sorted({key.split("|", 1)[1] for key in hits})
    for i in range(0, len(numbers), _LOOKUP_BATCH):
        rows = Invoice.objects.filter(number__in=numbers[i : i + _LOOKUP_BATCH]).values(
            "id", "code", "number", "seller_org_id", "buyer_org_id", *(c[0] for c in _COMPARED)
        )
        for row in rows:
            key = f"{row['code']}|{row['number']}"
            if key in wanted:
                found[key] = row
    return found


def _differences(unit: dict, stored: dict, *, compare_status: bool) -> list[tuple]:
    out = []
    for name, label, column in _COMPARED:
        mine, theirs = unit[column], stored[name]
        if name in ("amount", "tax", "total"):
            same = _cents(theirs) == mine
            mine_text = f"{Decimal(mine) / CENTS:.2f}"
            theirs_text = f"{Decimal(theirs):.2f}"
        elif name in ("seller_name", "buyer_name"):
            same = _same_name(mine, theirs)
            mine_text, theirs_text = mine, theirs
        elif name == "status":
            if not compare_status:
                continue
            same = int(mine) == int(theirs)
            mine_text, theirs_text = str(mine), str(theirs)
        else:
            same = str(mine or "") == str(theirs or "")
            mine_text, theirs_text = str(mine or "（空）"), str(theirs or "（空）")
        if not same:
            out.append((name, label, mine_text, theirs_text))
    return out


def _claim(job: InvoiceImport, invoice_ids: list[int]) -> None:
    """A stored invoice of this organization that nobody linked to it yet (imported by the other
    party before this organization joined) becomes visible to it."""
    org = job.organization
    for i in range(0, len(invoice_ids), _LOOKUP_BATCH):
        batch = invoice_ids[i : i + _LOOKUP_BATCH]
        Invoice.objects.filter(
            pk__in=batch, seller_org__isnull=True, seller_tax_id=org.tax_id
        ).update(seller_org=org)
        Invoice.objects.filter(
            pk__in=batch, buyer_org__isnull=True, buyer_tax_id=org.tax_id
        ).update(buyer_org=org)


# --- the two writers ---------------------------------------------------------------------------


def _invoice_columns() -> list[tuple[str, object]]:
    """(column, default) for every concrete invoice column but the id."""
    out = []
    for f in Invoice._meta.concrete_fields:
        if f.primary_key:
            continue
        out.append((f.column, None if f.null else f.get_default()))
    return out


def _invoice_frame(units: pl.DataFrame) -> pl.DataFrame:
    now = timezone.now()
    exprs = []
    for column, default in _invoice_columns():
        if column in ("amount", "tax", "total"):
            exprs.append(_money(pl.col(column)).alias(column))
        elif column == "issue_date":
            exprs.append(pl.col("issue_date").cast(pl.String).alias(column))
        elif column in _INVOICE_VALUES:
            exprs.append(pl.col(column).alias(column))
        elif column == "source":
            exprs.append(pl.lit(str(InvoiceSource.IMPORTED)).alias(column))
        elif column == "created_at":
            exprs.append(pl.lit(str(connection.ops.adapt_datetimefield_value(now))).alias(column))
        else:
            exprs.append(pl.lit(default).alias(column))
    return units.select(exprs)


def _line_columns() -> list[tuple[str, object]]:
    out = []
    for f in InvoiceLine._meta.concrete_fields:
        if f.primary_key or f.column == "invoice_id":
            continue
        out.append((f.column, None if f.null else f.get_default()))
    return out


def _line_frame(lines: pl.DataFrame) -> pl.DataFrame:
    exprs = [pl.col("invoice_id")]
    for column, default in _line_columns():
        source = _LINE_VALUES.get(column)
        if column in ("amount", "tax"):
            exprs.append(_money(pl.col(column)).alias(column))
        elif source is not None:
            exprs.append(pl.col(source).alias(column))
        else:
            exprs.append(pl.lit(default).alias(column))
    return lines.select(exprs)


def _insert(job: InvoiceImport, units: pl.DataFrame, lines: pl.DataFrame) -> set[str]:
    if connection.vendor == "postgresql":
        return _insert_postgresql(units, lines)
    _insert_sqlite(units, lines)
    return set()


# The name-search triggers that add names one row at a time; a chunk suspends them and adds its
# invoices' names in one statement per table instead (inside the chunk's transaction, so nobody
# ever sees the triggers missing: SQLite's DDL is transactional, and the chunk holds the write
# lock).
_ROW_TRIGGERS = ("invoices_invoice_names_ai", "invoices_invoiceline_names_ai")


SQLITE_CACHE_KIB = 256 * 1024  # page cache while importing: the indexes' pages stay in memory


@contextmanager
def sqlite_page_cache(cursor) -> Iterator[None]:
    """SQLite: the connection's page cache raised to SQLITE_CACHE_KIB for the block (an import's
    writes; an index build's sort), then put back as it was."""
    cursor.execute("PRAGMA cache_size")
    cache_size = int(cursor.fetchone()[0])
    cursor.execute(f"PRAGMA cache_size = -{max(SQLITE_CACHE_KIB, -cache_size)}")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size = {cache_size}")


def _sqlite_literal(value) -> str | None:
    """A constant column's value written into the statement (bound once rather than per row), or
    None when it is not a plain constant."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


def _sqlite_insert(cursor, table: str, frame: pl.DataFrame) -> None:
    """executemany of the frame's rows, its constant columns written into the statement once."""
    varying, columns, values = [], [], []
    for i, name in enumerate(frame.columns):
        series = frame[name]
        literal = None
        if i and series.n_unique() == 1:  # the first column stays bound: one per row
            literal = _sqlite_literal(series[0])
        columns.append(name)
        if literal is None:
            varying.append(name)
            values.append("?")
        else:
            values.append(literal)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(values)})"  # noqa: S608
    cursor.executemany(sql, frame.select(varying).iter_rows())


def _insert_sqlite(units: pl.DataFrame, lines: pl.DataFrame) -> None:
    invoices = _invoice_frame(units)
    with connection.cursor() as wrapper, sqlite_page_cache(wrapper.cursor):
        cursor = wrapper.cursor  # the sqlite3 cursor itself: `?` parameters, no per-call checks
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM invoices_invoice")
        first_id = cursor.fetchone()[0] + 1
        ids = pl.Series("id", range(first_id, first_id + units.height), dtype=pl.Int64)
        invoices = invoices.with_columns(ids)
        placeholders = ", ".join(["?"] * len(_ROW_TRIGGERS))
        cursor.execute(
            f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN ({placeholders})",  # noqa: S608
            list(_ROW_TRIGGERS),
        )
        suspended = [name for (name,) in cursor.fetchall()]
        for name in suspended:
            cursor.execute(f"DROP TRIGGER {name}")
        with _timed("invoices (rows and indexes)"):
            _sqlite_insert(cursor, "invoices_invoice", invoices)
        if lines.height:
            with _timed("lines (rows and indexes)"):
                by_inv = pl.DataFrame({"inv": units["inv"], "invoice_id": ids})
                line_rows = _line_frame(lines.join(by_inv, on="inv", how="left"))
                _sqlite_insert(cursor, "invoices_invoiceline", line_rows)
        if suspended:
            with _timed("name-search dictionary"):
                for statement in search.SQLITE_NAMES_FROM:
                    cursor.execute(statement.replace("%s", "?"), [first_id] * statement.count("%s"))
            for name in suspended:
                cursor.execute(search.SQLITE_TRIGGERS[name])


def _copy(cursor, table: str, frame: pl.DataFrame, text_columns: list[str]) -> None:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False)
    force = f", FORCE_NOT_NULL ({', '.join(text_columns)})" if text_columns else ""
    sql = f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN WITH (FORMAT csv{force})"
    with cursor.copy(sql) as copy:
        copy.write(buffer.getbuffer())


def _copy_direct(cursor, invoices: pl.DataFrame, keys: list[str], text_columns: list[str]):
    """COPY the chunk's invoices straight into the table, their ids taken from its sequence
    first (the lines need them, and COPY returns nothing). In a savepoint: when an identity is
    stored already (a re-import, or another session meanwhile) the unique constraint refuses
    the COPY at that row, nothing of it stays, and None sends the chunk the staged way.
    'code|number' → id otherwise."""
    cursor.execute("SELECT pg_get_serial_sequence('invoices_invoice', 'id')")
    (sequence,) = cursor.fetchone()
    cursor.execute(  # the sequence a constant: looked up once, not per id (five times faster)
        "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, invoices.height]
    )
    ids = [pk for (pk,) in cursor.fetchall()]
    framed = invoices.with_columns(pl.Series("id", ids, dtype=pl.Int64))
    from psycopg import errors as psycopg_errors  # installed with PostgreSQL support only

    try:
        with transaction.atomic(), _timed("invoices: COPY (rows and indexes)"):
            _copy(cursor, "invoices_invoice", framed, text_columns)
    except psycopg_errors.UniqueViolation:
        return None
    return dict(zip(keys, ids, strict=True))


def _insert_staged(cursor, invoices: pl.DataFrame, text_columns: list[str]) -> dict[str, int]:
    """COPY into a temporary table, then INSERT ... ON CONFLICT DO NOTHING RETURNING: the
    identities not returned are stored already. 'code|number' → id of those written."""
    columns = invoices.columns
    cursor.execute("DROP TABLE IF EXISTS imports_stage")
    cursor.execute(
        f"CREATE TEMP TABLE imports_stage ON COMMIT DROP AS "  # noqa: S608
        f"SELECT {', '.join(columns)} FROM invoices_invoice WITH NO DATA"
    )
    with _timed("invoices: COPY to the staging table"):
        _copy(cursor, "imports_stage", invoices, text_columns)
    with _timed("invoices: INSERT ... SELECT (rows and indexes)"):
        cursor.execute(
            f"INSERT INTO invoices_invoice ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(columns)} FROM imports_stage "
            "ON CONFLICT (code, number) DO NOTHING RETURNING id, code, number"
        )
    return {f"{code}|{number}": pk for pk, code, number in cursor.fetchall()}


def _insert_postgresql(units: pl.DataFrame, lines: pl.DataFrame) -> set[str]:
    invoices = _invoice_frame(units)
    columns = invoices.columns
    text_columns = [
        f.column
        for f in Invoice._meta.concrete_fields
        if f.column in columns and f.get_internal_type() in ("CharField", "TextField", "EmailField")
    ]
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        # The plan's names are in the dictionary (_names_ahead): its triggers skip the chunk.
        cursor.execute("SELECT set_config(%s, 'on', true)", [search.PG_NAMES_ADDED])
        keys = _keys(units)
        returned = _copy_direct(cursor, invoices, keys, text_columns)
        if returned is None:  # some identity is stored already
            returned = _insert_staged(cursor, invoices, text_columns)
        raced = {k.split("|", 1)[1] for k in keys if k not in returned}
        if lines.height:
            ids = pl.DataFrame(
                {"inv": units["inv"], "invoice_id": [returned.get(k) for k in keys]},
                schema={"inv": pl.Int64, "invoice_id": pl.Int64},
            )
            joined = lines.join(ids, on="inv", how="inner").filter(
                pl.col("invoice_id").is_not_null()
            )
            line_rows = _line_frame(joined)
            line_text = [
                f.column
                for f in InvoiceLine._meta.concrete_fields
                if f.column in line_rows.columns and f.get_internal_type() == "CharField"
            ]
            with _timed("lines: COPY (rows and indexes)"):
                _copy(cursor, "invoices_invoiceline", line_rows, line_text)
        # For whatever else the transaction does (when the chunk is not all of it, as in a test).
        cursor.execute("SELECT set_config(%s, '', true)", [search.PG_NAMES_ADDED])
    return raced
