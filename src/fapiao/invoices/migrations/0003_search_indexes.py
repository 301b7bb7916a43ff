"""Trigram indexes for name-substring search (see fapiao/invoices/search.py).

SQLite: an FTS5 table with the trigram tokenizer over seller name, buyer name and the invoice's
line item names, filled from the existing rows and kept in sync by triggers.
PostgreSQL: pg_trgm GIN indexes on UPPER(name::text), the expression Django's icontains uses.

The SQL is written out here, not imported, so that this migration stays what it was when later
ones change the search; `search.sqlite_triggers_ensure` recreates these same triggers when a later
migration rebuilds a table (and a test checks the two agree).
"""

from django.db import migrations

SQLITE_UP = [
    "CREATE VIRTUAL TABLE invoices_invoice_search USING fts5("
    "seller_name, buyer_name, items, tokenize = 'trigram')",
    """
        CREATE TRIGGER IF NOT EXISTS invoices_invoice_search_ai
        AFTER INSERT ON invoices_invoice BEGIN
            INSERT INTO invoices_invoice_search(rowid, seller_name, buyer_name, items)
            VALUES (new.id, new.seller_name, new.buyer_name, '');
        END""",
    """
        CREATE TRIGGER IF NOT EXISTS invoices_invoice_search_au
        AFTER UPDATE OF seller_name, buyer_name ON invoices_invoice
        WHEN old.seller_name IS NOT new.seller_name OR old.buyer_name IS NOT new.buyer_name BEGIN
            UPDATE invoices_invoice_search
            SET seller_name = new.seller_name, buyer_name = new.buyer_name
            WHERE rowid = new.id;
        END""",
    """
        CREATE TRIGGER IF NOT EXISTS invoices_invoice_search_ad
        AFTER DELETE ON invoices_invoice BEGIN
            DELETE FROM invoices_invoice_search WHERE rowid = old.id;
        END""",
    """
        CREATE TRIGGER IF NOT EXISTS invoices_invoiceline_search_ai
        AFTER INSERT ON invoices_invoiceline BEGIN
            UPDATE invoices_invoice_search SET items = COALESCE((
                SELECT group_concat(name, ' ') FROM invoices_invoiceline
                WHERE invoice_id = new.invoice_id), '')
            WHERE rowid = new.invoice_id;
        END""",
    """
        CREATE TRIGGER IF NOT EXISTS invoices_invoiceline_search_au
        AFTER UPDATE OF name, invoice_id ON invoices_invoiceline
        WHEN old.name IS NOT new.name OR old.invoice_id IS NOT new.invoice_id BEGIN
            UPDATE invoices_invoice_search SET items = COALESCE((
                SELECT group_concat(name, ' ') FROM invoices_invoiceline
                WHERE invoice_id = old.invoice_id), '')
            WHERE rowid = old.invoice_id;
            UPDATE invoices_invoice_search SET items = COALESCE((
                SELECT group_concat(name, ' ') FROM invoices_invoiceline
                WHERE invoice_id = new.invoice_id), '')
            WHERE rowid = new.invoice_id;
        END""",
    """
        CREATE TRIGGER IF NOT EXISTS invoices_invoiceline_search_ad
        AFTER DELETE ON invoices_invoiceline BEGIN
            UPDATE invoices_invoice_search SET items = COALESCE((
                SELECT group_concat(name, ' ') FROM invoices_invoiceline
                WHERE invoice_id = old.invoice_id), '')
            WHERE rowid = old.invoice_id;
        END""",
    """INSERT INTO invoices_invoice_search(rowid, seller_name, buyer_name, items)
       SELECT id, seller_name, buyer_name, COALESCE((
           SELECT group_concat(name, ' ') FROM invoices_invoiceline
           WHERE invoice_id = invoices_invoice.id), '')
       FROM invoices_invoice""",
]
SQLITE_DOWN = [
    *(
        f"DROP TRIGGER IF EXISTS {name}"
        for name in (
            "invoices_invoice_search_ai",
            "invoices_invoice_search_au",
            "invoices_invoice_search_ad",
            "invoices_invoiceline_search_ai",
            "invoices_invoiceline_search_au",
            "invoices_invoiceline_search_ad",
        )
    ),
    "DROP TABLE IF EXISTS invoices_invoice_search",
]

POSTGRES_UP = [
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS invoice_seller_name_trgm ON invoices_invoice "
    "USING gin (UPPER(seller_name::text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS invoice_buyer_name_trgm ON invoices_invoice "
    "USING gin (UPPER(buyer_name::text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS invoice_line_name_trgm ON invoices_invoiceline "
    "USING gin (UPPER(name::text) gin_trgm_ops)",
]
# The extension stays: other tables may come to use it.
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS invoice_seller_name_trgm",
    "DROP INDEX IF EXISTS invoice_buyer_name_trgm",
    "DROP INDEX IF EXISTS invoice_line_name_trgm",
]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_UP)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_UP)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_DOWN)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_DOWN)


class Migration(migrations.Migration):
    dependencies = [("invoices", "0002_issuance")]
    operations = [migrations.RunPython(forwards, backwards)]
