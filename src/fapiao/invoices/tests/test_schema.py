"""The invoice tables' indexes: what a bulk import has to maintain is exactly what queries use."""

import pytest
from django.db import connection

from fapiao.invoices.models import Invoice, InvoiceLine

pytestmark = pytest.mark.django_db


def _indexes(model) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: c["columns"] for name, c in found.items() if c["index"] or c["unique"]}


def test_no_foreign_key_has_a_single_column_index_a_composite_already_leads_with():
    invoice, line = _indexes(Invoice), _indexes(InvoiceLine)
    for indexes, column in ((invoice, "seller_org_id"), (invoice, "buyer_org_id"),
                            (line, "invoice_id")):  # fmt: skip
        assert [column] not in indexes.values(), column
        assert any(cols[:1] == [column] and len(cols) > 1 for cols in indexes.values()), column
    # A red invoice's blue one is looked up by its own index: no composite leads with it.
    assert ["original_id"] in invoice.values()


def _definitions(table: str) -> dict[str, str]:
    """Each index's SQL definition, as the database keeps it."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL",
                [table],
            )
        else:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table]
            )
        return {name: " ".join(sql.split()) for name, sql in cursor.fetchall()}


def test_an_organization_index_leaves_out_the_invoices_of_no_organization_on_that_side():
    definitions = _definitions(Invoice._meta.db_table)
    organization_indexes = {
        name: sql
        for name, sql in definitions.items()
        if name.startswith(("invoice_seller_", "invoice_buyer_"))
        and name not in ("invoice_seller_tax_id", "invoice_buyer_tax_id")
        and name not in ("invoice_seller_name", "invoice_buyer_name")
    }
    assert set(organization_indexes) == {
        "invoice_seller_total",
        "invoice_buyer_total",
        "invoice_seller_number",
        "invoice_buyer_number",
        "invoice_seller_stats",
        "invoice_buyer_stats",
    }
    for name, sql in organization_indexes.items():
        side = name.split("_")[1]
        assert f"WHERE {side}_org_id IS NOT NULL" in sql.replace('"', "").replace("(", "").replace(
            ")", ""
        ), sql


def test_no_per_invoice_trigram_index_and_the_names_have_b_tree_indexes():
    invoice, line = _indexes(Invoice), _indexes(InvoiceLine)
    assert ["seller_name"] in invoice.values() and ["buyer_name"] in invoice.values()
    assert ["name"] in line.values()
    for table in (Invoice._meta.db_table, InvoiceLine._meta.db_table):
        for sql in _definitions(table).values():
            assert " gin " not in sql.lower() and "trgm" not in sql.lower(), sql
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert "invoices_invoice_search" not in tables
