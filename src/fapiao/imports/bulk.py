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

Who builds them back (`restore`), each index in a transaction of its own, once no other import
is running:
- the import itself, after its last chunk, whether it succeeded or failed;
- a task queued when they were dropped, for an import killed half-way (it waits until that import
  is stale, see services.STALE_AFTER, and queues itself again while another import runs);
- `migrate` (pre_migrate), so that a migration always finds the tables as declared.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction
from django.db.models import Index, Model
from django.utils import timezone

from fapiao.imports.models import DroppedIndex, ImportStatus, InvoiceImport
from fapiao.invoices.models import Invoice, InvoiceLine

logger = logging.getLogger(__name__)

BULK_MIN = 100_000  # invoices to write, at least, for the indexes to be built afterwards
# Kept while importing: the import's lookups of stored identities go by number.
KEPT = frozenset({"invoice_number"})
_LOCK_KEY = 7_320_110  # PostgreSQL advisory lock: one deferral or rebuild at a time
SQLITE_CACHE_KIB = 256 * 1024  # page cache while SQLite sorts an index's keys


@dataclass(frozen=True)
class Deferred:
    """A secondary index, or on PostgreSQL a foreign key, that a large import drops and builds
    again after its rows."""

    name: str
    model: type[Model]
    index: Index | None = None
    key: str = ""  # the foreign key's field, when not an index

    def drop_sql(self) -> str:
        name = connection.ops.quote_name(self.name)
        if self.index is not None:
            return f"DROP INDEX IF EXISTS {name}"
        return f"ALTER TABLE {self.model._meta.db_table} DROP CONSTRAINT IF EXISTS {name}"

    def create_sql(self, editor) -> str:
        if self.index is not None:
            return str(self.index.create_sql(self.model, editor))
        # NOT VALID: added at once, new rows checked; the stored ones are checked apart (VALIDATE),
        # in one pass that does not block writers.
        field = self.model._meta.get_field(self.key)
        return f"{editor._create_fk_sql(self.model, field, FK_SUFFIX)} NOT VALID"


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
        Deferred(index.name, model, index)
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


def missing() -> list[Deferred]:
    """What an import dropped and nobody has built again yet (recorded in DroppedIndex)."""
    with connection.cursor() as cursor:
        if DroppedIndex._meta.db_table not in connection.introspection.table_names(cursor):
            return []  # before the migration that makes the record
    dropped = set(DroppedIndex.objects.values_list("name", flat=True))
    if not dropped:
        return []
    items = [item for item in deferrable() if item.name in dropped]
    stale = dropped - {item.name for item in items}
    if stale:  # no longer declared by the code (a later migration removed it): nothing to build
        DroppedIndex.objects.filter(name__in=stale).delete()
    return items


def _present() -> set[str]:
    """The names of the invoice tables' indexes and constraints in the database now."""
    present: set[str] = set()
    with connection.cursor() as cursor:
        for model in (Invoice, InvoiceLine):
            present.update(connection.introspection.get_constraints(cursor, model._meta.db_table))
    return present


def _lock() -> None:
    """Serialise deferral and rebuilding (inside a transaction). SQLite's transactions already
    take the database's write lock when they begin (transaction_mode IMMEDIATE).

    PostgreSQL also checks the foreign keys of the transaction's writes so far (none, in a
    transaction of its own): an index cannot be made or dropped with checks pending."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


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
    with transaction.atomic():
        _lock()
        gone = missing()
        if gone and _others_running(job_id):
            return True  # another large import is writing; the last one to finish rebuilds
        large = invoices >= BULK_MIN and invoices >= _stored_estimate()
        if gone:  # left by an import that was interrupted
            if large:
                return True
            _build(gone)
            for item in gone:
                if item.index is None:
                    _validate(item)
            return False
        if not large or _others_running(job_id):
            return False
        try:
            with transaction.atomic():  # a savepoint: a lock not granted in time changes nothing
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL lock_timeout = '3s'")
                _drop(deferrable(), job_id=job_id)
        except DatabaseError:  # busy tables (lock_timeout): import with the indexes in place
            logger.warning("import %s: the indexes could not be dropped", job_id, exc_info=True)
            return False
    _restore_later()
    logger.info("import %s: %s indexes dropped, built after it", job_id, len(deferrable()))
    return True


def _drop(items: list[Deferred], *, job_id: int) -> None:
    """Drop them and record that they were (in the same transaction)."""
    present = _present()
    items = [item for item in items if item.name in present]
    with connection.cursor() as cursor:
        for item in items:
            cursor.execute(item.drop_sql())
    DroppedIndex.objects.bulk_create(
        [DroppedIndex(name=item.name, dropped_by_id=job_id) for item in items],
        ignore_conflicts=True,
    )


def restore(*, job_id: int | None = None) -> list[str]:
    """Build the missing deferrable indexes (and key), unless an import other than `job_id` is
    running (that one builds them when it ends). The names built; [] when none was missing or
    the rebuild was left to a running import."""
    built = []
    for item in missing():
        with transaction.atomic():
            _lock()
            if _others_running(job_id):
                return built
            if item.name not in {m.name for m in missing()}:
                continue  # built meanwhile by someone else
            _build([item])
        if item.index is None:
            _validate(item)
        built.append(item.name)
    if built:  # the planner's statistics follow by autovacuum's analyze
        logger.info("deferred indexes built: %s", ", ".join(built))
    return built


def _validate(item: Deferred) -> None:
    """PostgreSQL: check the stored rows against the key added NOT VALID, in one pass. Should a
    row have lost its target (see DEFERRED_KEYS), the key stays NOT VALID, still checking every
    new row, and the error is logged for the operator."""
    table = item.model._meta.db_table
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE {table} VALIDATE CONSTRAINT {connection.ops.quote_name(item.name)}"
            )
    except DatabaseError:
        logger.exception(
            "%s: rows without their target; the key %s stays NOT VALID", table, item.name
        )


def pending() -> bool:
    """Whether indexes are still to be built (for the queued task: queue again)."""
    return bool(missing())


def _build(items: list[Deferred]) -> None:
    """Build them (those the database does not have already) and strike them off the record,
    in the caller's transaction."""
    present = _present()
    DroppedIndex.objects.filter(name__in=[item.name for item in items]).delete()
    items = [item for item in items if item.name not in present]
    editor = connection.SchemaEditorClass(connection, collect_sql=True)  # SQL only, not entered
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        else:
            cursor.execute("PRAGMA cache_size")
            cache_size = int(cursor.fetchone()[0])
            cursor.execute(f"PRAGMA cache_size = -{max(SQLITE_CACHE_KIB, -cache_size)}")
        try:
            for item in items:
                cursor.execute(item.create_sql(editor))
        finally:
            if connection.vendor == "sqlite":
                cursor.execute(f"PRAGMA cache_size = {cache_size}")


RESTORE_CHECK_AFTER = dt.timedelta(minutes=11)  # an import silent 10 minutes is stale


def _restore_later() -> None:
    """Queue a rebuild for when the import that dropped the indexes would be stale, in case it is
    killed before it rebuilds them itself (the queue is in the database: it survives that)."""
    from django.tasks import default_task_backend

    from fapiao.imports.tasks import deferred_indexes_restore

    if default_task_backend.supports_defer:
        task = deferred_indexes_restore.using(run_after=timezone.now() + RESTORE_CHECK_AFTER)
        transaction.on_commit(task.enqueue)


def restore_or_later() -> list[str]:
    """The queued task's work: build them, or look again later while an import still runs."""
    built = restore()
    if pending():
        _restore_later()
    return built


def on_pre_migrate(**kwargs) -> None:
    if kwargs.get("using", "default") != connection.alias:
        return
    restore()
