"""Name-substring search (名称模糊查询) over invoices, with an index on both databases.

Chinese has no spaces between words, so a word index is useless: "华为" must find
"深圳市华为技术有限公司". Both databases index trigrams (every three consecutive characters):

- SQLite: an FTS5 table with the `trigram` tokenizer over the seller's name, the buyer's name and
  the invoice's line item names, kept in sync by triggers (migration 0003); queried with MATCH.
- PostgreSQL: pg_trgm GIN indexes on UPPER(name), the expression Django's `icontains` compares,
  so the ORM's own lookup uses them.

A trigram index cannot answer a term shorter than three characters; such terms are rare and
selective enough in practice, and fall back to a plain LIKE scan.
"""

from typing import Literal

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from fapiao.invoices.models import Invoice, InvoiceLine

Field = Literal["party", "seller", "buyer", "item"]

FTS_TABLE = "invoices_invoice_search"
TRIGRAM = 3
# FTS5 column filters: "party" is either side of the invoice.
_FTS_COLUMNS: dict[str, str] = {
    "party": "{seller_name buyer_name}",
    "seller": "seller_name",
    "buyer": "buyer_name",
    "item": "items",
}
# What migration 0003 installs, recreated by `sqlite_triggers_ensure` after a migration rebuilt a
# table: SQLite alters a table by copying it into a new one, and the copy has no triggers. Each
# invoice's line names are kept as one text (group_concat) in the `items` column. A trigger names
# no table but its own and the index: SQLite checks every trigger when a rebuilt table is renamed
# into place, and one naming the table being rebuilt would stop the migration. (An invoice has
# no lines yet when it is inserted; they come after it.)
SQLITE_TRIGGERS: dict[str, str] = {
    "invoices_invoice_search_ai": """
        CREATE TRIGGER IF NOT EXISTS invoices_invoice_search_ai
        AFTER INSERT ON invoices_invoice BEGIN
            INSERT INTO invoices_invoice_search(rowid, seller_name, buyer_name, items)
            VALUES (new.id, new.seller_name, new.buyer_name, '');
        END""",
    "invoices_invoice_search_au": """
        CREATE TRIGGER IF NOT EXISTS invoices_invoice_search_au
        AFTER UPDATE OF seller_name, buyer_name ON invoices_invoice
        WHEN old.seller_name IS NOT new.seller_name OR old.buyer_name IS NOT new.buyer_name BEGIN
            UPDATE invoices_invoice_search
            SET seller_name = new.seller_name, buyer_name = new.buyer_name
            WHERE rowid = new.id;
        END""",
    "invoices_invoice_search_ad": """
        CREATE TRIGGER IF NOT EXISTS invoices_invoice_search_ad
        AFTER DELETE ON invoices_invoice BEGIN
            DELETE FROM invoices_invoice_search WHERE rowid = old.id;
        END""",
    "invoices_invoiceline_search_ai": """
        CREATE TRIGGER IF NOT EXISTS invoices_invoiceline_search_ai
        AFTER INSERT ON invoices_invoiceline BEGIN
            UPDATE invoices_invoice_search SET items = COALESCE((
                SELECT group_concat(name, ' ') FROM invoices_invoiceline
                WHERE invoice_id = new.invoice_id), '')
            WHERE rowid = new.invoice_id;
        END""",
    "invoices_invoiceline_search_au": """
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
    "invoices_invoiceline_search_ad": """
        CREATE TRIGGER IF NOT EXISTS invoices_invoiceline_search_ad
        AFTER DELETE ON invoices_invoiceline BEGIN
            UPDATE invoices_invoice_search SET items = COALESCE((
                SELECT group_concat(name, ' ') FROM invoices_invoiceline
                WHERE invoice_id = old.invoice_id), '')
            WHERE rowid = old.invoice_id;
        END""",
}
SQLITE_REBUILD = (
    "DELETE FROM invoices_invoice_search",
    """INSERT INTO invoices_invoice_search(rowid, seller_name, buyer_name, items)
       SELECT id, seller_name, buyer_name, COALESCE((
           SELECT group_concat(name, ' ') FROM invoices_invoiceline
           WHERE invoice_id = invoices_invoice.id), '')
       FROM invoices_invoice""",
    # Merge the index's segments after a bulk load, so that queries read one b-tree.
    "INSERT INTO invoices_invoice_search(invoices_invoice_search) VALUES ('optimize')",
)
_MATCH = "SELECT rowid FROM invoices_invoice_search WHERE invoices_invoice_search MATCH %s"


def name_filter(queryset: QuerySet[Invoice], text: str, *, field: Field) -> QuerySet[Invoice]:
    """Invoices of `queryset` whose name (`field`) contains `text`, case-insensitively.

    `party` is the seller's or the buyer's name, `item` any line's item name.
    """
    if field not in _FTS_COLUMNS:
        raise ValueError(f"unknown name field {field!r}")
    text = text.strip()
    if not text:
        return queryset
    vendor = connections[queryset.db].vendor
    if vendor == "sqlite" and len(text) >= TRIGRAM:
        phrase = '"' + text.replace('"', '""') + '"'
        # The term is a bound parameter, quoted as an FTS5 string: no query syntax gets through.
        match = RawSQL(_MATCH, [f"{_FTS_COLUMNS[field]} : {phrase}"])  # noqa: S611
        return queryset.filter(pk__in=match)
    # PostgreSQL: pg_trgm's GIN indexes on UPPER(name::text) serve icontains directly (for terms
    # of 1-2 characters too, though then by reading the whole index). SQLite, 1-2 characters: the
    # trigram table cannot match them, so LIKE scans the rows the other filters leave.
    if field == "item":
        return queryset.filter(
            pk__in=InvoiceLine.objects.filter(name__icontains=text).values("invoice_id")
        )
    names = {
        "party": Q(seller_name__icontains=text) | Q(buyer_name__icontains=text),
        "seller": Q(seller_name__icontains=text),
        "buyer": Q(buyer_name__icontains=text),
    }
    return queryset.filter(names[field])


def sqlite_triggers_ensure(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Recreate missing sync triggers and then rebuild the index; True when something was missing.

    Run after every `migrate` (post_migrate): a later migration that rebuilds invoices_invoice or
    invoices_invoiceline drops their triggers with the old table, silently.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = %s", [FTS_TABLE]
        )
        if cursor.fetchone() is None:
            return False  # migration 0003 not applied yet
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
        missing = [name for name in SQLITE_TRIGGERS if name not in present]
        if not missing:
            return False
        for name in missing:
            cursor.execute(SQLITE_TRIGGERS[name])
    search_index_rebuild(using)
    return True


def search_index_rebuild(using: str = DEFAULT_DB_ALIAS) -> None:
    """Refill the SQLite trigram table from the invoices (after bulk loads or a repair)."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for statement in SQLITE_REBUILD:
            cursor.execute(statement)
