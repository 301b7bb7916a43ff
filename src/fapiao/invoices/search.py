"""Name-substring search (名称模糊查询) over invoices, through a dictionary of names.

Chinese has no spaces between words, so a word index is useless: "华为" must find
"深圳市华为技术有限公司". A trigram index (every three consecutive characters) answers that, but
one over every invoice was the most expensive thing a bulk import maintained (a 1,000,000-row
import spent more on it than on all the invoice's other indexes). Names repeat: an organization
has thousands of counterparties over a million invoices, and a handful of item names. So:

- `SearchName` holds every distinct party and item name once, with the trigram index: an FTS5
  table (`trigram` tokenizer) on SQLite, a pg_trgm GIN index on UPPER(name) on PostgreSQL;
- the invoices are found by the exact names matched, through plain B-tree indexes on
  `seller_name`, `buyer_name` and the lines' `name`.

Database triggers keep the dictionary complete whatever writes an invoice or a line (the ORM,
an `update()`, raw SQL, COPY): row triggers on SQLite, statement triggers with transition tables
on PostgreSQL (one INSERT ... ON CONFLICT per statement, not per row). Migration 0007 installs
them; on SQLite `sqlite_triggers_ensure` recreates them after a migration that rebuilt a table.

Terms of one or two characters, too short for trigrams, scan the dictionary, which is small.
"""

from typing import Literal

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from fapiao.invoices.models import Invoice, InvoiceLine, SearchName, SearchNameKind

Field = Literal["party", "seller", "buyer", "item"]

FTS_TABLE = "invoices_searchname_fts"
TRIGRAM = 3
# Matched names passed to the invoice query as a list (index lookups); more than this, and the
# query takes the dictionary's matches as a subquery instead.
NAMES_INLINE = 500

# SQLite: what migration 0007 installs (a test checks the two agree). A trigger names no table
# but its own and the dictionary: SQLite checks every trigger when a rebuilt table is renamed
# into place, and one naming the table being rebuilt would stop the migration.
SQLITE_TRIGGERS: dict[str, str] = {
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
            INSERT OR IGNORE INTO invoices_searchname(kind, name)
            VALUES ('party', new.seller_name), ('party', new.buyer_name);
        END""",
    "invoices_invoice_names_au": """
        CREATE TRIGGER IF NOT EXISTS invoices_invoice_names_au
        AFTER UPDATE OF seller_name, buyer_name ON invoices_invoice BEGIN
            INSERT OR IGNORE INTO invoices_searchname(kind, name)
            VALUES ('party', new.seller_name), ('party', new.buyer_name);
        END""",
    "invoices_invoiceline_names_ai": """
        CREATE TRIGGER IF NOT EXISTS invoices_invoiceline_names_ai
        AFTER INSERT ON invoices_invoiceline BEGIN
            INSERT OR IGNORE INTO invoices_searchname(kind, name) VALUES ('item', new.name);
        END""",
    "invoices_invoiceline_names_au": """
        CREATE TRIGGER IF NOT EXISTS invoices_invoiceline_names_au
        AFTER UPDATE OF name ON invoices_invoiceline BEGIN
            INSERT OR IGNORE INTO invoices_searchname(kind, name) VALUES ('item', new.name);
        END""",
}
# The names of the invoices from a given id on, and of their lines: what the triggers would have
# added one row at a time, in one statement each (a bulk import suspends the row triggers).
SQLITE_NAMES_FROM = (
    """INSERT OR IGNORE INTO invoices_searchname(kind, name)
       SELECT 'party', seller_name FROM invoices_invoice WHERE id >= %s
       UNION SELECT 'party', buyer_name FROM invoices_invoice WHERE id >= %s""",
    """INSERT OR IGNORE INTO invoices_searchname(kind, name)
       SELECT DISTINCT 'item', name FROM invoices_invoiceline WHERE invoice_id >= %s""",
)
_SQLITE_MATCH = (
    "SELECT name FROM invoices_searchname WHERE kind = %s AND id IN "
    "(SELECT rowid FROM invoices_searchname_fts WHERE invoices_searchname_fts MATCH %s)"
)


def matching_names(text: str, kind: str, *, using: str = DEFAULT_DB_ALIAS):
    """The dictionary's names of `kind` containing `text`, case-insensitively: a list when there
    are at most NAMES_INLINE, else a subquery (a queryset or RawSQL) yielding them."""
    text = text.strip()
    vendor = connections[using].vendor
    if vendor == "sqlite" and len(text) >= TRIGRAM:
        # The term is a bound parameter, quoted as an FTS5 string: no query syntax gets through.
        phrase = '"' + text.replace('"', '""') + '"'
        names = RawSQL(_SQLITE_MATCH, [kind, phrase])  # noqa: S611
        with connections[using].cursor() as cursor:
            cursor.execute(f"{_SQLITE_MATCH} LIMIT {NAMES_INLINE + 1}", [kind, phrase])
            found = [row[0] for row in cursor.fetchall()]
    else:
        # PostgreSQL: icontains compares UPPER(name::text), the expression the GIN index is on.
        # SQLite, one or two characters: LIKE over the dictionary.
        names = (
            SearchName.objects.using(using).filter(kind=kind, name__icontains=text).values("name")
        )
        found = list(names.values_list("name", flat=True)[: NAMES_INLINE + 1])
    return found if len(found) <= NAMES_INLINE else names


def name_filter(queryset: QuerySet[Invoice], text: str, *, field: Field) -> QuerySet[Invoice]:
    """Invoices of `queryset` whose name (`field`) contains `text`, case-insensitively.

    `party` is the seller's or the buyer's name, `item` any line's item name.
    """
    if field not in ("party", "seller", "buyer", "item"):
        raise ValueError(f"unknown name field {field!r}")
    text = text.strip()
    if not text:
        return queryset
    kind = SearchNameKind.ITEM if field == "item" else SearchNameKind.PARTY
    names = matching_names(text, kind, using=queryset.db)
    if isinstance(names, list) and not names:
        return queryset.none()
    if field == "item":
        lines = InvoiceLine.objects.using(queryset.db).filter(name__in=names)
        return queryset.filter(pk__in=lines.values("invoice_id"))
    conditions = {
        "party": Q(seller_name__in=names) | Q(buyer_name__in=names),
        "seller": Q(seller_name__in=names),
        "buyer": Q(buyer_name__in=names),
    }
    return queryset.filter(conditions[field])


def sqlite_triggers_ensure(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Recreate missing triggers, then add the names they missed; True when one was missing.

    Run after every `migrate` (post_migrate): a later migration that rebuilds invoices_invoice,
    invoices_invoiceline or the dictionary drops their triggers with the old table, silently.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = %s", [FTS_TABLE]
        )
        if cursor.fetchone() is None:
            return False  # migration 0007 not applied yet
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
        missing = [name for name in SQLITE_TRIGGERS if name not in present]
        if not missing:
            return False
        for name in missing:
            cursor.execute(SQLITE_TRIGGERS[name])
    search_names_rebuild(using)
    return True


def search_names_rebuild(using: str = DEFAULT_DB_ALIAS) -> None:
    """Add every invoice's and line's names to the dictionary, and rebuild SQLite's trigram
    table from it (after a bulk load without the triggers, or a repair)."""
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in SQLITE_NAMES_FROM:
                cursor.execute(statement, [0] * statement.count("%s"))
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")  # noqa: S608
            return
        cursor.execute(
            "INSERT INTO invoices_searchname (kind, name) "
            "SELECT 'party', seller_name FROM invoices_invoice "
            "UNION SELECT 'party', buyer_name FROM invoices_invoice "
            "UNION SELECT 'item', name FROM invoices_invoiceline "
            "ON CONFLICT (kind, name) DO NOTHING"
        )
