"""A large import into a nearly empty platform builds the invoice tables' secondary indexes once,
after its rows, instead of inserting into each of them row by row.

Why: every secondary index whose key is not in file order (a counterparty's name or tax ID, an
amount) costs a random B-tree insert per row, and each chunk's commit writes most of those
indexes' pages again. Sorting all keys once is several times cheaper (measured at 1,000,000 rows
on SQLite: 29 s of inserts with every index, against 3 s without them plus 11 s to build them
afterwards). It is what a database restore does.

When: the import has at least BULK_MIN invoices to write and at least as many as the platform
already holds: the first history of a new deployment, typically. On a platform that holds more
than the file, rebuilding the indexes would cost more than maintaining them, and the import
writes through them as always.

What stays: the primary keys, the unique constraints (an invoice's identity is unique in the
database at every moment), the index on the invoice number, which the import's own duplicate
lookups use, and, on SQLite, the foreign keys. On PostgreSQL the keys are added back NOT VALID
and then validated in one pass (see DEFERRED_KEYS). While they are away, every query still
answers correctly, only more slowly.

What was dropped is recorded (DroppedIndex) with the database's own definition, in the dropping
transaction, and only that is built back, from that definition: the tables come back exactly as
the applied migrations made them, even when the code changed in between.

Who builds them back (`restore`), each in a transaction of its own, once no other import is
running:
- the import itself, after its last chunk, whether it succeeded or failed;
- a task queued in the dropping transaction, for an import killed half-way (it waits until that
  import is stale, see services.STALE_AFTER, and queues itself again while anything is left);
- a small import that finds them left by a dead one, before it writes;
- `migrate` (pre_migrate), even while an import runs: migrations find the tables as declared.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from fapiao.imports.models import DroppedIndex, ImportStatus, InvoiceImport
from fapiao.imports.writing import sqlite_page_cache
from fapiao.invoices.models import Invoice, InvoiceLine

logger = logging.getLogger(__name__)

BULK_MIN = 100_000  # invoices to write, at least, for the indexes to be built afterwards
# Kept while importing: the import's lookups of stored identities go by number.
KEPT = frozenset({"invoice_number"})
_LOCK_KEY = 7_320_110  # PostgreSQL advisory lock: one deferral or rebuild at a time


@dataclass(frozen=True)
class Deferred:
    """A secondary index, or on PostgreSQL a foreign key, that a large import drops and builds
    again after its rows."""

    name: str
    model: type[Model]
    key: str = ""  # the foreign key's field; "" for an index

    def drop_sql(self) -> str:
        name = connection.ops.quote_name(self.name)
        if not self.key:
            return f"DROP INDEX IF EXISTS {name}"
        return f"ALTER TABLE {self.model._meta.db_table} DROP CONSTRAINT IF EXISTS {name}"


FK_SUFFIX = "_fk_%(to_table)s_%(to_column)s"  # Django's own, so the name is the migration's
# PostgreSQL checks a foreign key row by row, at commit (Django makes them deferred): measured at
# 1,000,000 rows, 13 s for the lines' key to invoices written in the same transaction and 7 s
# for the invoices' keys to their organizations, against about a second to validate each key
# over all the rows at once afterwards. Nothing in the platform deletes invoices, and an
# organization with invoices cannot be deleted (PROTECT), so no row can lose its target meanwhile.
DEFERRED_KEYS = ((Invoice, "seller_org"), (Invoice, "buyer_org"), (Invoice, "original"),
                 (InvoiceLine, "invoice"))  # fmt: skip


def deferrable() -> list[Deferred]:
    """The secondary indexes an import may build afterwards; on PostgreSQL also the foreign keys
    of DEFERRED_KEYS (SQLite cannot drop one without copying the table)."""
    out = [
        Deferred(index.name, model)
        for model in (Invoice, InvoiceLine)
        for index in model._meta.indexes
        if index.name not in KEPT
    ]
    if connection.vendor == "postgresql":
        editor = connection.SchemaEditorClass(connection, collect_sql=True)
        for model, key in DEFERRED_KEYS:
            field = model._meta.get_field(key)
            name = str(editor._fk_constraint_name(model, field, FK_SUFFIX)).strip('"')
            out.append(Deferred(name, model, key=key))
    return out


def missing() -> list[DroppedIndex]:
    """What an import dropped and nobody has built again yet, each with the definition it had
    (the database's own text, taken when it was dropped): rebuilt from that, it is exactly what
    the applied migrations made, whatever the code declares by then."""
    with connection.cursor() as cursor:
        if DroppedIndex._meta.db_table not in connection.introspection.table_names(cursor):
            return []  # before the migration that makes the record
    return list(DroppedIndex.objects.order_by("id"))


def _present(table: str) -> set[str]:
    """The names of a table's indexes and constraints in the database now."""
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


def _definition(item: Deferred) -> str | None:
    """The database's own definition of an index or key (None when it does not exist)."""
    table = item.model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT sql FROM sqlite_master "
                "WHERE type = 'index' AND name = %s AND tbl_name = %s",
                [item.name, table],
            )
        elif not item.key:
            cursor.execute("SELECT pg_get_indexdef(to_regclass(%s))", [item.name])
        else:
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conname = %s AND conrelid = to_regclass(%s)",
                [item.name, table],
            )
        row = cursor.fetchone()
    return row[0] if row and row[0] else None


def _lock() -> None:
    """Serialise deferral and rebuilding (inside a transaction). SQLite's transactions already
    take the database's write lock when they begin (transaction_mode IMMEDIATE).

    PostgreSQL also checks the foreign keys of the transaction's writes so far (none, in a
    transaction of its own): an index cannot be made or dropped with checks pending. `_unlock`
    puts the keys back to deferred checking, their declared mode."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _unlock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _others_running(job_id: int | None) -> bool:
    from fapiao.imports.services import STALE_AFTER

    running = InvoiceImport.objects.filter(
        status=ImportStatus.RUNNING, progress_at__gt=timezone.now() - STALE_AFTER
    )
    if job_id is not None:
        running = running.exclude(pk=job_id)
    return running.exists()


def _stored_estimate() -> int:
    """How many invoices the platform holds, at most (ids are never reused): one index probe."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM invoices_invoice")
        return int(cursor.fetchone()[0])


def defer(*, job_id: int, invoices: int) -> bool:
    """Before an import writes `invoices` invoices: drop the secondary indexes when it is worth
    it (see the module's docstring). True when the import writes without them, whether dropped
    now or by an import before it that has not rebuilt them yet."""
    large = invoices >= BULK_MIN and invoices >= _stored_estimate()
    if not large and missing():
        restore(job_id=job_id)  # left by an interrupted import: one transaction per index
    with transaction.atomic():
        _lock()
        try:
            if missing():
                # Another import's: it is still writing (and builds them when it ends), or it
                # died and this import is large. The queued check stays the safety net.
                _restore_later()
                return True
            if not large or _others_running(job_id):
                return False
            try:
                # A savepoint: a lock not granted in time changes nothing.
                with transaction.atomic():
                    if connection.vendor == "postgresql":
                        with connection.cursor() as cursor:
                            cursor.execute("SET LOCAL lock_timeout = '3s'")
                    dropped = _drop(deferrable(), job_id=job_id)
            except DatabaseError:  # busy tables (lock_timeout): import with the indexes in place
                logger.warning("import %s: the indexes could not be dropped", job_id, exc_info=True)
                return False
            # Queued in the same transaction as the drop (the database queue): should the
            # import die at any point from here, the check is there.
            _restore_later()
        finally:
            _unlock()
    logger.info("import %s: %s indexes and keys dropped, built after it", job_id, dropped)
    return True


def _drop(items: list[Deferred], *, job_id: int) -> int:
    """Record each one's definition, then drop it (in the caller's transaction)."""
    present = [(item, definition) for item in items if (definition := _definition(item))]
    # An item not there (a pending migration makes it) is not this code's to build.
    DroppedIndex.objects.bulk_create(
        DroppedIndex(
            name=item.name,
            table=item.model._meta.db_table,
            is_key=bool(item.key),
            definition=definition,
            dropped_by_id=job_id,
        )
        for item, definition in present
    )
    with connection.cursor() as cursor:
        for item, _ in present:
            cursor.execute(item.drop_sql())
    return len(present)


def restore(*, job_id: int | None = None, force: bool = False) -> list[str]:
    """Build back what imports dropped, one transaction each, unless an import other than
    `job_id` is running (that one builds them when it ends) or `force` (migrate: its migrations
    must find the tables as the earlier ones left them). The names built."""
    built = []
    for record in missing():
        with transaction.atomic():
            _lock()
            try:
                if not force and _others_running(job_id):
                    return built
                if not DroppedIndex.objects.filter(pk=record.pk).exists():
                    continue  # built meanwhile by someone else
                _build(record)
            finally:
                _unlock()
        if record.is_key:
            _validate(record)
        built.append(record.name)
    if built:  # the planner's statistics follow by autovacuum's analyze
        logger.info("dropped indexes and keys built again: %s", ", ".join(built))
    return built


def _build(record: DroppedIndex) -> None:
    """Build one from its recorded definition (unless the database has it again), in the
    caller's transaction. An index is struck off the record at once; a key once validated
    (`_validate`), so that a process killed in between leaves it to the next rebuild."""
    if not record.is_key:
        record.delete()
    if record.name in _present(record.table):
        return
    if record.is_key:  # NOT VALID: new rows checked at once, the stored ones by _validate
        name = connection.ops.quote_name(record.name)
        sql = f"ALTER TABLE {record.table} ADD CONSTRAINT {name} {record.definition} NOT VALID"
    else:
        sql = record.definition
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Put back after, not in a `finally`: after an error the transaction takes no more
            # statements (its rollback ends the setting anyway).
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cursor.execute(sql)
            cursor.execute("SET LOCAL maintenance_work_mem TO DEFAULT")
            return
        with sqlite_page_cache(cursor):  # SQLite sorts the keys in its page cache
            cursor.execute(sql)


def _validate(record: DroppedIndex) -> None:
    """PostgreSQL: check the stored rows against the key added NOT VALID, in one pass, then
    strike it off the record. Should a row have lost its target (see DEFERRED_KEYS), the key
    stays NOT VALID, still checking every new row, and the error is logged for the operator
    (not retried: the same rows would fail again)."""
    name = connection.ops.quote_name(record.name)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {record.table} VALIDATE CONSTRAINT {name}")
    except DatabaseError:
        logger.exception(
            "%s: rows without their target; the key %s stays NOT VALID", record.table, name
        )
    DroppedIndex.objects.filter(pk=record.pk).delete()


def pending() -> bool:
    """Whether something is still to be built (for the queued task: queue again)."""
    return bool(missing())


RESTORE_CHECK_AFTER = dt.timedelta(minutes=11)  # an import silent 10 minutes is stale


def _restore_later() -> None:
    """Queue a rebuild for when an import that writes without the indexes would be stale, in
    case it is killed before it builds them itself. Enqueued at once, in the caller's
    transaction: with the database queue it commits (or not) with the drop; with another queue a
    check that finds nothing to build costs nothing."""
    from django.tasks import default_task_backend

    from fapiao.imports.tasks import deferred_indexes_restore

    if default_task_backend.supports_defer:
        task = deferred_indexes_restore.using(run_after=timezone.now() + RESTORE_CHECK_AFTER)
        task.enqueue()


def restore_or_later() -> list[str]:
    """The queued task's work: build them; whatever happens, look again later while something
    is still to be built (an import still writing, or a failure here)."""
    try:
        return restore()
    finally:
        if pending():
            _restore_later()


def on_pre_migrate(**kwargs) -> None:
    if kwargs.get("using", "default") != connection.alias:
        return
    restore(force=True)
