"""Writing a plan's invoices in chunks: each chunk in one transaction with the import's checkpoint
and counters, so a killed run resumes after the last committed chunk and no invoice is ever stored
without its lines.

Idempotent by identity (发票代码 + 发票号码, unique in the database): an invoice already stored is
not written again but compared with what the file says, and counted as a duplicate (identical) or
rejected as a conflicting duplicate (naming the fields that differ).

Two writers, one per supported database, both set-based:
- SQLite: the transaction holds the database's write lock from its start (transaction_mode
  IMMEDIATE), so the identities found stored are all there are; new invoices get ids above the
  largest one, and the name-search index gets the chunk's invoices, with their items, in one
  statement rather than a trigger run per row (three times faster).
- PostgreSQL: COPY into a temporary table, then INSERT ... ON CONFLICT DO NOTHING RETURNING: an
  invoice that another session stored in the meantime is classified like any stored one. Lines go
  in by COPY.
"""

from __future__ import annotations

import io
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

CHUNK = 10_000  # invoices per transaction

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
    with transaction.atomic():
        job = InvoiceImport.objects.select_for_update().get(pk=job_id)
        start = job.checkpoint
        if start >= plan.invoices:
            return None
        stop = min(start + CHUNK, plan.invoices)
        result = _write(job, plan, start, stop, compare_status=compare_status)
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
    return job


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

    stored = _stored(ok)
    keys = ok.select(pl.concat_str(["code", pl.lit("|"), "number"]).alias("k"))["k"].to_list()
    new_mask = [k not in stored for k in keys]
    new = ok.filter(pl.Series(new_mask, dtype=pl.Boolean))
    if new.height:
        lines = plan.lines.filter(pl.col("inv").is_in(new["inv"].implode()))
        raced = _insert(job, new, lines)
        if raced:  # PostgreSQL: stored by another session since we looked
            stored.update(_stored(new.filter(pl.col("number").is_in(list(raced)))))
    inserted_invs = set(new["inv"].to_list()) - {
        inv for inv, k in zip(new["inv"].to_list(), _keys(new), strict=True) if k in stored
    }

    claims: list[int] = []
    for unit in ok.iter_rows(named=True):
        key = f"{unit['code']}|{unit['number']}"
        if unit["inv"] in inserted_invs:
            result.imported += unit["n_rows"] - unit["n_dup_rows"]
            result.duplicates += unit["n_dup_rows"]
            result.invoices_imported += 1
            continue
        existing = stored[key]
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
                )
            )
            problems = problems.filter(~((pl.col("inv") == unit["inv"]) & pl.col("is_warning")))
        else:
            result.duplicates += unit["n_rows"]
            claims.append(existing["id"])
    if claims:
        _claim(job, claims)

    for row, column, code, message, is_warning in problems.select(
        "row", "column", "code", "message", "is_warning"
    ).iter_rows():
        result.problems.append(
            ImportProblem(
                invoice_import=job,
                row=row,
                column=column[:200],
                code=code,
                message=message[:500],
                is_warning=is_warning,
            )
        )
        result.warnings += bool(is_warning)
    return result


def _keys(frame: pl.DataFrame) -> list[str]:
    return frame.select(pl.concat_str(["code", pl.lit("|"), "number"]).alias("k"))["k"].to_list()


def _stored(units: pl.DataFrame) -> dict[str, dict]:
    """The stored invoices with the units' identities, by 'code|number'."""
    if units.height == 0:
        return {}
    wanted = set(_keys(units))
    found = {}
    numbers = units["number"].unique().to_list()
    for i in range(0, len(numbers), 5000):
        rows = Invoice.objects.filter(number__in=numbers[i : i + 5000]).values(
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
    Invoice.objects.filter(
        pk__in=invoice_ids, seller_org__isnull=True, seller_tax_id=org.tax_id
    ).update(seller_org=org)
    Invoice.objects.filter(
        pk__in=invoice_ids, buyer_org__isnull=True, buyer_tax_id=org.tax_id
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


# The name-search triggers that index one row at a time; a chunk suspends them and indexes its
# invoices in one statement instead (inside the chunk's transaction, so nobody ever sees the
# triggers missing: SQLite's DDL is transactional, and the chunk holds the write lock).
_ROW_TRIGGERS = ("invoices_invoice_search_ai", "invoices_invoiceline_search_ai")
# The search module's own statement that indexes every invoice; narrowed here to the chunk's.
_INDEX_ALL = next((s for s in search.SQLITE_REBUILD if s.lstrip().startswith("INSERT")), "")
_INDEX_CHUNK = (
    f"{_INDEX_ALL.rstrip()} WHERE id >= %s"
    if _INDEX_ALL.rstrip().endswith("FROM invoices_invoice")
    else ""
)


SQLITE_CACHE_KIB = 256 * 1024  # page cache while importing: the indexes' pages stay in memory


def _insert_sqlite(units: pl.DataFrame, lines: pl.DataFrame) -> None:
    invoices = _invoice_frame(units)
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM invoices_invoice")
        first_id = cursor.fetchone()[0] + 1
        ids = pl.Series("id", range(first_id, first_id + units.height), dtype=pl.Int64)
        invoices = invoices.with_columns(ids)
        placeholders = ", ".join(["%s"] * len(_ROW_TRIGGERS))
        cursor.execute(
            f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN ({placeholders})",  # noqa: S608
            list(_ROW_TRIGGERS),
        )
        suspended = [name for (name,) in cursor.fetchall()] if _INDEX_CHUNK else []
        for name in suspended:
            cursor.execute(f"DROP TRIGGER {name}")
        columns = invoices.columns
        cursor.executemany(
            f"INSERT INTO invoices_invoice ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(columns))})",
            invoices.rows(),
        )
        if lines.height:
            by_inv = pl.DataFrame({"inv": units["inv"], "invoice_id": ids})
            line_rows = _line_frame(lines.join(by_inv, on="inv", how="left"))
            columns = line_rows.columns
            cursor.executemany(
                f"INSERT INTO invoices_invoiceline ({', '.join(columns)}) "  # noqa: S608
                f"VALUES ({', '.join(['%s'] * len(columns))})",
                line_rows.rows(),
            )
        if suspended:
            cursor.execute(_INDEX_CHUNK, [first_id])
            for name in suspended:
                cursor.execute(search.SQLITE_TRIGGERS[name])
        cursor.execute("PRAGMA cache_size = -2000")  # SQLite's default again


def _copy(cursor, table: str, frame: pl.DataFrame, text_columns: list[str]) -> None:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False)
    force = f", FORCE_NOT_NULL ({', '.join(text_columns)})" if text_columns else ""
    sql = f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN WITH (FORMAT csv{force})"
    with cursor.copy(sql) as copy:
        copy.write(buffer.getbuffer())


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
        cursor.execute("DROP TABLE IF EXISTS imports_stage")
        cursor.execute(
            f"CREATE TEMP TABLE imports_stage ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {', '.join(columns)} FROM invoices_invoice WITH NO DATA"
        )
        _copy(cursor, "imports_stage", invoices, text_columns)
        cursor.execute(
            f"INSERT INTO invoices_invoice ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(columns)} FROM imports_stage "
            "ON CONFLICT (code, number) DO NOTHING RETURNING id, code, number"
        )
        returned = {f"{code}|{number}": pk for pk, code, number in cursor.fetchall()}
        keys = _keys(units)
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
            _copy(cursor, "invoices_invoiceline", line_rows, line_text)
    return raced
