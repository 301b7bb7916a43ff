"""Drop the single-column indexes Django made for three foreign keys: each column already leads
a composite index (the per-side list, sort and statistics indexes; the lines' unique
(invoice, position)), which serves the same lookups. Fewer indexes: faster bulk imports.

Only the indexes are dropped (`DROP INDEX`), in place: an AlterField would make SQLite copy the
whole invoice table, twice."""

import django.db.models.deletion
from django.db import migrations, models

FOREIGN_KEYS = [
    ("invoice", "seller_org_id"),
    ("invoice", "buyer_org_id"),
    ("invoiceline", "invoice_id"),
]


def _names(apps, schema_editor):
    for model_name, column in FOREIGN_KEYS:
        table = apps.get_model("invoices", model_name)._meta.db_table
        yield table, column, schema_editor._create_index_name(table, [column], suffix="")


def drop(apps, schema_editor):
    for _table, _column, name in _names(apps, schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create(apps, schema_editor):
    for table, column, name in _names(apps, schema_editor):
        schema_editor.execute(
            f"CREATE INDEX {schema_editor.quote_name(name)} ON {schema_editor.quote_name(table)} "
            f"({schema_editor.quote_name(column)})"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_issuance"),
        ("invoices", "0005_stats_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, create)],
            state_operations=[
                migrations.AlterField(
                    model_name="invoice",
                    name="buyer_org",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="purchases",
                        to="accounts.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="invoice",
                    name="seller_org",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="sales",
                        to="accounts.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="invoiceline",
                    name="invoice",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="invoices.invoice",
                    ),
                ),
            ],
        )
    ]
