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

Terms of one or two characters, too short for trigrams, scan the dictionary (a few hundred
milliseconds at a million names): a request looks a term up once (`matching_names`) and passes
the names to each query. A term matching more than NAMES_MAX names is too common to look up by
exact name: the invoices' own columns are then filtered with LIKE, which finds such a term's
rows among the first ones it reads.

SQLite: a migration that rebuilds an invoice table or the dictionary would stop on the triggers
that name the dictionary; `sqlite_triggers_drop` (pre_migrate, when there are migrations to
apply) takes them away, and `sqlite_triggers_ensure` (post_migrate) puts them back and adds the
names written meanwhile.
"""

from typing import Literal

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Q, QuerySet

from fapiao.invoices.models import Invoice, InvoiceLine, SearchName, SearchNameKind

Field = Literal["party", "seller", "buyer", "item"]

FTS_TABLE = "invoices_searchname_fts"
TRIGRAM = 3
# Matched names passed to the invoice query as a list (index lookups on each name); a term
# matching more is filtered with LIKE on the invoices' columns instead.
NAMES_MAX = 2000
_UNSET = object()
# PostgreSQL: a transaction that put its names into the dictionary itself (a bulk import, see
# `names_add`) sets this to 'on' (set_config(..., true): for the transaction), and the
# dictionary's triggers skip its statements.
PG_NAMES_ADDED = "fapiao.search_names_added"

# SQLite: what migration 0007 installs (a test checks the two agree). The dictionary's rows are
# added with an upsert clause (ON CONFLICT DO NOTHING), which, unlike INSERT OR IGNORE, an outer
# INSERT OR REPLACE / OR ABORT does not override.
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
# The names of the invoices from a given id on, and of their lines: what the triggers would have
# added one row at a time, in one statement each (a bulk import suspends the row triggers).
SQLITE_NAMES_FROM = (
    """INSERT OR IGNORE INTO invoices_searchname(kind, name)
       SELECT 'party', seller_name FROM invoices_invoice WHERE id >= %s
       UNION SELECT 'party', buyer_name FROM invoices_invoice WHERE id >= %s""",
    """INSERT OR IGNORE INTO invoices_searchname(kind, name)
       SELECT DISTINCT 'item', name FROM invoices_invoiceline WHERE invoice_id >= %s""",
)
# `+kind`: the FTS matches lead (then looked up by id); without the `+`, SQLite would walk every
# name of the kind through the unique (kind, name) index and check each against the matches.
_SQLITE_MATCH = (
    "SELECT name FROM invoices_searchname WHERE +kind = %s AND id IN "
    "(SELECT rowid FROM invoices_searchname_fts WHERE invoices_searchname_fts MATCH %s)"
)


def matching_names(text: str, kind: str, *, using: str = DEFAULT_DB_ALIAS) -> list[str] | None:
    """The dictionary's names of `kind` containing `text`, case-insensitively; None when more
    than NAMES_MAX do (the term is too common to be looked up by exact name)."""
    text = text.strip()
    vendor = connections[using].vendor
    if vendor == "sqlite" and len(text) >= TRIGRAM:
        # The term is a bound parameter, quoted as an FTS5 string: no query syntax gets through.
        phrase = '"' + text.replace('"', '""') + '"'
        with connections[using].cursor() as cursor:
            cursor.execute(f"{_SQLITE_MATCH} LIMIT {NAMES_MAX + 1}", [kind, phrase])
            found = [row[0] for row in cursor.fetchall()]
    else:
        # PostgreSQL: icontains compares UPPER(name::text), the expression the GIN index is on.
        # SQLite, one or two characters: LIKE over the dictionary.
        names = SearchName.objects.using(using).filter(kind=kind, name__icontains=text)
        found = list(names.values_list("name", flat=True)[: NAMES_MAX + 1])
    return found if len(found) <= NAMES_MAX else None


def field_kind(field: Field) -> str:
    if field not in ("party", "seller", "buyer", "item"):
        raise ValueError(f"unknown name field {field!r}")
    return SearchNameKind.ITEM if field == "item" else SearchNameKind.PARTY


def name_filter(
    queryset: QuerySet[Invoice], text: str, *, field: Field, names=_UNSET
) -> QuerySet[Invoice]:
    """Invoices of `queryset` whose name (`field`) contains `text`, case-insensitively.

    `party` is the seller's or the buyer's name, `item` any line's item name. `names`: what
    `matching_names` returned for the term, when the caller looked it up already.
    """
    kind = field_kind(field)
    text = text.strip()
    if not text:
        return queryset
    if names is _UNSET:
        names = matching_names(text, kind, using=queryset.db)
    if names is not None and not names:
        return queryset.none()
    if field == "item":
        lines = InvoiceLine.objects.using(queryset.db)
        lines = (
            lines.filter(name__icontains=text) if names is None else lines.filter(name__in=names)
        )
        return queryset.filter(pk__in=lines.values("invoice_id"))
    lookup = "icontains" if names is None else "in"
    value = text if names is None else names
    seller, buyer = Q(**{f"seller_name__{lookup}": value}), Q(**{f"buyer_name__{lookup}": value})
    conditions = {"party": seller | buyer, "seller": seller, "buyer": buyer}
    return queryset.filter(conditions[field])


def names_add(parties, items, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """PostgreSQL: add names to the dictionary ahead of the invoices that carry them, committed
    at once (outside a transaction): a bulk import's chunk then holds no new dictionary row
    uncommitted while it writes, on which another session adding the same name would wait."""
    with connections[using].cursor() as cursor:
        for kind, names in ((SearchNameKind.PARTY, parties), (SearchNameKind.ITEM, items)):
            names = sorted({name for name in names if name is not None})
            if names:
                cursor.execute(
                    "INSERT INTO invoices_searchname (kind, name) "
                    "SELECT %s, name FROM unnest(%s::text[]) AS name ORDER BY name "
                    "ON CONFLICT (kind, name) DO NOTHING",
                    [str(kind), names],
                )


def sqlite_triggers_drop(using: str = DEFAULT_DB_ALIAS) -> None:
    """Drop the triggers that name the dictionary, before migrations run (see the module's
    docstring); post_migrate's `sqlite_triggers_ensure` recreates them."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


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
    _sqlite_names_rebuild(using)
    return True


def _sqlite_names_rebuild(using: str) -> None:
    """Add every invoice's and line's names to the dictionary, and rebuild the trigram table
    from it (after triggers were missing)."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        for statement in SQLITE_NAMES_FROM:
            cursor.execute(statement, [0] * statement.count("%s"))
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")  # noqa: S608
