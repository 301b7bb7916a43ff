"""Reads of reconciliation, always within one organization.

The platform's side of a reconciliation is read with one SQL query straight into a polars frame
(COPY on PostgreSQL, sqlite3's own cursor a block at a time on SQLite), money as integer cents
computed by the database: no ORM object per invoice.
"""

from __future__ import annotations

import datetime as dt
import io

import polars as pl
from django.db import connection
from django.db.models import QuerySet

from fapiao.invoices.models import Invoice
from fapiao.reconcile.engine import PLATFORM_COLUMNS
from fapiao.reconcile.models import Reconciliation, Side


def reconciliations_of(*, organization) -> QuerySet[Reconciliation]:
    return Reconciliation.objects.filter(organization=organization).select_related("created_by")


def _cents(column: str) -> str:
    return f"CAST(ROUND({column} * 100) AS BIGINT)"


def _select(org_id: int) -> str:
    # Only integers (the organization's id) and the model's table name are formatted in. The
    # date and flag are cast so that SQLite hands them over as they are stored, without the
    # per-value Python converters Django registers for declared date and bool columns.
    org = int(org_id)
    return (
        f"SELECT id, code, number, CAST(issue_date AS TEXT), {_cents('amount')}, "  # noqa: S608
        f"{_cents('tax')}, "
        f"{_cents('total')}, "
        f"CASE WHEN seller_org_id = {org} THEN buyer_name ELSE seller_name END, "
        f"CASE WHEN seller_org_id = {org} THEN buyer_tax_id ELSE seller_tax_id END, "
        f"CASE WHEN seller_org_id = {org} THEN 'seller' ELSE 'buyer' END, "
        f"status, CAST(is_red AS INTEGER), original_id FROM {Invoice._meta.db_table}"
    )


def _side_clause(org_id: int, side: str) -> str:
    org = int(org_id)
    if side == Side.SELLER:
        return f"seller_org_id = {org}"
    if side == Side.BUYER:
        return f"buyer_org_id = {org}"
    return f"(seller_org_id = {org} OR buyer_org_id = {org})"


def platform_invoices(
    *,
    organization,
    side: str = Side.BOTH,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> pl.DataFrame:
    """The organization's invoices of the period and side, as the engine reads them."""
    where = [_side_clause(organization.pk, side)]
    if date_from is not None:
        where.append(f"issue_date >= '{date_from.isoformat()}'")
    if date_to is not None:
        where.append(f"issue_date <= '{date_to.isoformat()}'")
    return _frame(f"{_select(organization.pk)} WHERE {' AND '.join(where)}", scan_where=where[0])


def red_invoices(*, organization) -> pl.DataFrame:
    """Every red invoice of the organization with its blue one, whatever its date: a blue invoice
    of the period may have been red-lettered later."""
    # The red ones are picked on the statistics indexes, which hold the organization and the
    # red flag (an index-only scan), and only they are read from the table: filtering the
    # organization's rows one table lookup at a time took seconds at a million invoices.
    org, table = int(organization.pk), Invoice._meta.db_table
    reds = (
        f"SELECT id FROM {table} WHERE seller_org_id = {org} AND is_red "  # noqa: S608
        f"UNION ALL SELECT id FROM {table} WHERE buyer_org_id = {org} AND is_red"
    )
    return _frame(f"{_select(org)} WHERE id IN ({reds}) AND original_id IS NOT NULL")


def invoices_with_identities(*, organization, identities: list[tuple[str, str]]) -> pl.DataFrame:
    """The organization's invoices (any date, either side) with these (code, number) identities."""
    frames = []
    clause = _side_clause(organization.pk, Side.BOTH)
    numbers = sorted({n for _, n in identities if n})
    for i in range(0, len(numbers), 2000):
        chunk = numbers[i : i + 2000]
        placeholders = ", ".join(["%s"] * len(chunk))
        frames.append(
            _frame(
                f"{_select(organization.pk)} WHERE {clause} AND number IN ({placeholders})", chunk
            )
        )
    if not frames:
        return pl.DataFrame(schema=PLATFORM_COLUMNS)
    wanted = pl.DataFrame(
        {"code": [c for c, _ in identities], "number": [n for _, n in identities]},
        schema={"code": pl.String, "number": pl.String},
    ).unique()
    return pl.concat(frames).join(wanted, on=["code", "number"], how="semi")


_READ_SCHEMA = {**PLATFORM_COLUMNS, "issue_date": pl.String, "is_red": pl.Int64}


def _frame(sql: str, params: list | None = None, *, scan_where: str = "") -> pl.DataFrame:
    connection.ensure_connection()
    if connection.vendor == "postgresql" and not params:
        buffer = io.BytesIO()
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            with raw.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
                for block in copy:
                    buffer.write(block)
        frame = pl.read_csv(
            buffer.getvalue(), has_header=False, schema=_READ_SCHEMA, raise_if_empty=False
        )
        return frame.with_columns(
            pl.col("issue_date").str.to_date("%Y-%m-%d"),
            pl.col("is_red").cast(pl.Boolean),
            pl.col("code").fill_null(""),
        )
    if connection.vendor == "sqlite":
        return _sqlite_frame(_plan_hint(sql, scan_where) if scan_where else sql, params)
    frames = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        while rows := cursor.fetchmany(_BLOCK):
            frames.append(pl.DataFrame(rows, schema=list(_READ_SCHEMA.items()), orient="row"))
    return _finished(frames)


_BLOCK = 65536  # rows fetched and turned into a frame at a time


def _finished(frames: list[pl.DataFrame]) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=PLATFORM_COLUMNS)
    frame = pl.concat(frames, rechunk=True)
    frames.clear()
    return frame.with_columns(
        pl.col("issue_date").str.slice(0, 10).str.to_date("%Y-%m-%d"),
        pl.col("is_red").cast(pl.Boolean),
        pl.col("code").fill_null(""),
    ).cast(PLATFORM_COLUMNS)


def _sqlite_frame(sql: str, params: list | None) -> pl.DataFrame:
    """The query read with sqlite3's own cursor (no Django wrapper per block), a block of rows at
    a time into a frame, so that a million Python tuples never live at once; the blocks are made
    one contiguous frame (the joins that follow would each copy a chunked one)."""
    raw = connection.connection.cursor()
    raw.arraysize = _BLOCK
    frames = []
    schema = list(_READ_SCHEMA.items())
    # The settings map up to 256 MB of the database file into the process: a scan of a million
    # invoices would touch all of it, and the mapped pages count as the process's memory. Read
    # through the (bounded) page cache for this query instead.
    mapped = raw.execute("PRAGMA mmap_size").fetchone()[0]
    try:
        raw.execute("PRAGMA mmap_size=0")
        raw.execute(sql.replace("%s", "?"), params or [])
        while rows := raw.fetchmany():
            frames.append(pl.DataFrame(rows, schema=schema, orient="row"))
            del rows
    finally:
        raw.execute(f"PRAGMA mmap_size={int(mapped)}")
        raw.close()
    return _finished(frames)


def _plan_hint(sql: str, scan_where: str) -> str:
    """SQLite reads an organization's invoices through an (organization, ...) index, one table
    lookup per row in index order (two indexes and an OR for both sides): for an organization
    that holds most of the table, one scan in storage order is about twice as fast. Counting
    its invoices on the index first (an index-only count) says which."""
    table = Invoice._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE {scan_where}")  # noqa: S608
        wanted = cursor.fetchone()[0]
        cursor.execute(f"SELECT max(id) FROM {table}")  # noqa: S608
        rows = cursor.fetchone()[0] or 0
    if wanted * 3 > rows:
        return sql.replace(f"FROM {table} WHERE", f"FROM {table} NOT INDEXED WHERE", 1)
    return sql
