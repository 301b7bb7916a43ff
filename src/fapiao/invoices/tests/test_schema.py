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
