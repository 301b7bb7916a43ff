"""ImportProblem.invoice_number and invoice_code: the invoice of the row, so that the finder finds
an import's rejected rows by number with one indexed query instead of reading the import's file.

The problems stored before get "": the finder does not diagnose those by number.

On SQLite the columns are added in place (ALTER TABLE ... ADD COLUMN ... DEFAULT ''): Django's
AddField would copy the whole problems table, once per column. PostgreSQL adds a column with a
constant default without rewriting the table either way."""

from django.db import migrations, models


class AddFieldInPlace(migrations.AddField):
    """AddField; on SQLite an ALTER TABLE ADD COLUMN that keeps the default in the table."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "sqlite":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.name)
        definition, params = schema_editor.column_sql(model, field, include_default=True)
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(model._meta.db_table)} ADD COLUMN {quote(field.column)} "
            f"{definition}",
            params,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0001_initial"),
    ]

    operations = [
        AddFieldInPlace(
            model_name="importproblem",
            name="invoice_code",
            field=models.CharField(blank=True, default="", max_length=12, verbose_name="发票代码"),
        ),
        AddFieldInPlace(
            model_name="importproblem",
            name="invoice_number",
            field=models.CharField(blank=True, default="", max_length=40, verbose_name="发票号码"),
        ),
        migrations.AddIndex(
            model_name="importproblem",
            index=models.Index(
                fields=["invoice_number", "invoice_import", "is_warning"],
                name="import_problem_number",
            ),
        ),
    ]
