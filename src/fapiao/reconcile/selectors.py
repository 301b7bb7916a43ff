"""Reads of reconciliation, always within one organization.

The platform's side of a reconciliation is read with one SQL query straight into a polars frame
(COPY on PostgreSQL, a plain cursor on SQLite), money as integer cents computed by the database:
no ORM object per invoice.
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
    return _frame(f"{_select(organization.pk)} WHERE {' AND '.join(where)}")


def red_invoices(*, organization) -> pl.DataFrame:
    """Every red invoice of the organization with its blue one, whatever its date: a blue invoice
    of the period may have been red-lettered later."""
    clause = _side_clause(organization.pk, Side.BOTH)
    return _frame(
        f"{_select(organization.pk)} WHERE {clause} AND is_red AND original_id IS NOT NULL"
    )


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


def _frame(sql: str, params: list | None = None) -> pl.DataFrame:
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
    frames = []
    schema = list(_READ_SCHEMA.items())
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        while rows := cursor.fetchmany(65536):  # a block at a time: no million Python tuples
            frames.append(pl.DataFrame(rows, schema=schema, orient="row"))
    if not frames:
        return pl.DataFrame(schema=PLATFORM_COLUMNS)
    frame = pl.concat(frames)
    return frame.with_columns(
        pl.col("issue_date").str.slice(0, 10).str.to_date("%Y-%m-%d"),
        pl.col("is_red").cast(pl.Boolean),
        pl.col("code").fill_null(""),
    ).cast(PLATFORM_COLUMNS)
