"""Name search through a dictionary of names; fewer and partial indexes (see search.py and the
invoice's Meta.indexes for why each index is what it is).

- `SearchName`: every distinct party and item name once, filled here from the stored invoices.
  Its trigram index (FTS5 on SQLite, pg_trgm GIN on PostgreSQL) replaces migration 0003's,
  which covered every invoice: the FTS5 table and its triggers, or the three GIN indexes, go.
  Triggers on the invoice tables add new names: row triggers on SQLite, statement triggers with
  transition tables on PostgreSQL.
- Plain B-tree indexes on the seller's, the buyer's and the item's names find the invoices.
- Dropped: (organization, date), covered by the statistics indexes, which lead with the same
  two columns.
- The per-organization indexes become partial (organization not null).

The SQL is written out here, not imported, so that this migration stays what it was when the
search changes later; `search.SQLITE_TRIGGERS` is the same text (a test checks they agree), for
`sqlite_triggers_ensure` to recreate what a rebuilt table lost.
"""

import importlib

from django.db import migrations, models


SQLITE_TRIGGERS = {
    "invoices_searchname_fts_ai": """
        CREATE TRIGGER IF NOT EXISTS invoices_searchname_fts_ai
        AFTER INSERT ON invoices_searchname BEGIN
            INSERT INTO invoices_searchname_fts(rowid, name) VALUES (new.id, new.name);
        END""",
    "invoices_searchname_fts_ad": """
        CREATE TRIGGER IF NOT EXISTS invoices_searchname_fts_ad
        AFTER DELETE ON invoices_searchname BEGIN
            INSERT INTO invoices_searchname_fts(invoices_searchname_fts, rowid, name)
            VALUES ('delete', old.id, old.name);
        END""",
    "invoices_invoice_names_ai": """
        CREATE TRIGGER IF NOT EXISTS invoices_invoice_names_ai
        AFTER INSERT ON invoices_invoice BEGIN
            INSERT INTO invoices_searchname(kind, name)
            VALUES ('party', new.seller_name), ('party', new.buyer_name)
            ON CONFLICT DO NOTHING;
        END""",
    "invoices_invoice_names_au": """
        CREATE TRIGGER IF NOT EXISTS invoices_invoice_names_au
        AFTER UPDATE OF seller_name, buyer_name ON invoices_invoice BEGIN
            INSERT INTO invoices_searchname(kind, name)
            VALUES ('party', new.seller_name), ('party', new.buyer_name)
            ON CONFLICT DO NOTHING;
        END""",
    "invoices_invoiceline_names_ai": """
        CREATE TRIGGER IF NOT EXISTS invoices_invoiceline_names_ai
        AFTER INSERT ON invoices_invoiceline BEGIN
            INSERT INTO invoices_searchname(kind, name) VALUES ('item', new.name)
            ON CONFLICT DO NOTHING;
        END""",
    "invoices_invoiceline_names_au": """
        CREATE TRIGGER IF NOT EXISTS invoices_invoiceline_names_au
        AFTER UPDATE OF name ON invoices_invoiceline BEGIN
            INSERT INTO invoices_searchname(kind, name) VALUES ('item', new.name)
            ON CONFLICT DO NOTHING;
        END""",
}
OLD_SQLITE_TRIGGERS = [
    "invoices_invoice_search_ai",
    "invoices_invoice_search_au",
    "invoices_invoice_search_ad",
    "invoices_invoiceline_search_ai",
    "invoices_invoiceline_search_au",
    "invoices_invoiceline_search_ad",
]
FILL = [
    """INSERT INTO invoices_searchname (kind, name)
       SELECT 'party', seller_name FROM invoices_invoice
       UNION SELECT 'party', buyer_name FROM invoices_invoice
       UNION SELECT 'item', name FROM invoices_invoiceline""",
]
SQLITE_UP = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in OLD_SQLITE_TRIGGERS),
    "DROP TABLE IF EXISTS invoices_invoice_search",
    "CREATE VIRTUAL TABLE invoices_searchname_fts USING fts5("
    "name, content = 'invoices_searchname', content_rowid = 'id', tokenize = 'trigram')",
    *FILL,
    "INSERT INTO invoices_searchname_fts(invoices_searchname_fts) VALUES ('rebuild')",
    *SQLITE_TRIGGERS.values(),
]
SQLITE_DOWN = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS),
    "DROP TABLE IF EXISTS invoices_searchname_fts",
]

# One statement per INSERT or UPDATE, whatever its number of rows. Names in a fixed order: two
# statements adding the same new names wait for each other instead of deadlocking (across
# statements of two transactions the order is not fixed; a bulk import commits its chunk's names
# before the chunk, see search.names_add).
POSTGRES_FUNCTIONS = {
    "invoices_invoice_names": """
        INSERT INTO invoices_searchname (kind, name)
        SELECT 'party', name FROM (
            SELECT seller_name AS name FROM changed UNION SELECT buyer_name FROM changed
        ) AS names ORDER BY name
        ON CONFLICT (kind, name) DO NOTHING""",
    "invoices_invoiceline_names": """
        INSERT INTO invoices_searchname (kind, name)
        SELECT DISTINCT 'item', name FROM changed ORDER BY 2
        ON CONFLICT (kind, name) DO NOTHING""",
}
POSTGRES_TRIGGERS = [
    ("invoices_invoice_names_ai", "INSERT", "invoices_invoice", "invoices_invoice_names"),
    ("invoices_invoice_names_au", "UPDATE", "invoices_invoice", "invoices_invoice_names"),
    (
        "invoices_invoiceline_names_ai",
        "INSERT",
        "invoices_invoiceline",
        "invoices_invoiceline_names",
    ),
    (
        "invoices_invoiceline_names_au",
        "UPDATE",
        "invoices_invoiceline",
        "invoices_invoiceline_names",
    ),
]
POSTGRES_UP = [
    "DROP INDEX IF EXISTS invoice_seller_name_trgm",
    "DROP INDEX IF EXISTS invoice_buyer_name_trgm",
    "DROP INDEX IF EXISTS invoice_line_name_trgm",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # New names are few after the first imports: each goes straight into the index, and queries
    # never read a pending list of unmerged entries.
    "CREATE INDEX invoices_searchname_trgm ON invoices_searchname "
    "USING gin (UPPER(name::text) gin_trgm_ops) WITH (fastupdate = off)",
    *FILL,
    *(
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
        # The table is found in the schema the migration ran in, whatever the caller's path.
        "SET search_path FROM CURRENT AS $$ "
        # A bulk import adds its names itself, ahead of its rows (search.names_add).
        "BEGIN IF current_setting('fapiao.search_names_added', true) = 'on' THEN RETURN NULL; "
        f"END IF; {body}; RETURN NULL; END $$"
        for name, body in POSTGRES_FUNCTIONS.items()
    ),
    *(
        f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING NEW TABLE AS changed "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        for name, event, table, function in POSTGRES_TRIGGERS
    ),
]
POSTGRES_DOWN = [
    *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, _, table, _ in POSTGRES_TRIGGERS),
    *(f"DROP FUNCTION IF EXISTS {name}()" for name in POSTGRES_FUNCTIONS),
    "DROP INDEX IF EXISTS invoices_searchname_trgm",
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
    # Migration 0003's per-invoice trigram indexes, filled from the stored invoices.
    importlib.import_module("fapiao.invoices.migrations.0003_search_indexes").forwards(
        apps, schema_editor
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_issuance"),
        ("invoices", "0006_drop_redundant_fk_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchName",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("party", "交易方名称"), ("item", "项目名称")], max_length=5
                    ),
                ),
                ("name", models.CharField(max_length=200)),
            ],
        ),
        migrations.RemoveIndex(
            model_name="invoice",
            name="invoice_seller_date",
        ),
        migrations.RemoveIndex(
            model_name="invoice",
            name="invoice_buyer_date",
        ),
        migrations.RemoveIndex(
            model_name="invoice",
            name="invoice_seller_total",
        ),
        migrations.RemoveIndex(
            model_name="invoice",
            name="invoice_buyer_total",
        ),
        migrations.RemoveIndex(
            model_name="invoice",
            name="invoice_seller_number",
        ),
        migrations.RemoveIndex(
            model_name="invoice",
            name="invoice_buyer_number",
        ),
        migrations.RemoveIndex(
            model_name="invoice",
            name="invoice_seller_stats",
        ),
        migrations.RemoveIndex(
            model_name="invoice",
            name="invoice_buyer_stats",
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(fields=["seller_name"], name="invoice_seller_name"),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(fields=["buyer_name"], name="invoice_buyer_name"),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                condition=models.Q(("seller_org__isnull", False)),
                fields=["seller_org", "total"],
                name="invoice_seller_total",
            ),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                condition=models.Q(("buyer_org__isnull", False)),
                fields=["buyer_org", "total"],
                name="invoice_buyer_total",
            ),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                condition=models.Q(("seller_org__isnull", False)),
                fields=["seller_org", "number"],
                name="invoice_seller_number",
            ),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                condition=models.Q(("buyer_org__isnull", False)),
                fields=["buyer_org", "number"],
                name="invoice_buyer_number",
            ),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                condition=models.Q(("seller_org__isnull", False)),
                fields=[
                    "seller_org",
                    "issue_date",
                    "status",
                    "is_red",
                    "type_code",
                    "amount",
                    "tax",
                    "total",
                    "buyer_tax_id",
                ],
                name="invoice_seller_stats",
            ),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                condition=models.Q(("buyer_org__isnull", False)),
                fields=[
                    "buyer_org",
                    "issue_date",
                    "status",
                    "is_red",
                    "type_code",
                    "amount",
                    "tax",
                    "total",
                    "seller_tax_id",
                    "seller_org",
                ],
                name="invoice_buyer_stats",
            ),
        ),
        migrations.AddIndex(
            model_name="invoiceline",
            index=models.Index(fields=["name"], name="invoice_line_name"),
        ),
        migrations.AddConstraint(
            model_name="searchname",
            constraint=models.UniqueConstraint(fields=("kind", "name"), name="search_name_unique"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
