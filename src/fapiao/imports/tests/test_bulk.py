"""A large import into a nearly empty platform writes its rows without the secondary indexes and
builds them afterwards: the same indexes come back whatever happens to the import, and nobody
builds them while another import still writes."""

import datetime as dt

import pytest
from django.apps import apps as global_apps
from django.core.management.sql import emit_pre_migrate_signal
from django.db import OperationalError, connection
from django.utils import timezone

from fapiao import testing
from fapiao.imports import bulk, services, writing
from fapiao.imports.models import DroppedIndex, ImportStatus, InvoiceImport
from fapiao.imports.tasks import deferred_indexes_restore
from fapiao.imports.tests.builders import CUSTOMER, csv_bytes, killed_at_chunk, row, run
from fapiao.invoices import search
from fapiao.invoices.models import Invoice, InvoiceLine

pytestmark = pytest.mark.django_db


def _definitions() -> dict[str, str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND tbl_name IN ('invoices_invoice', 'invoices_invoiceline')"
            )
        else:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename IN ('invoices_invoice', 'invoices_invoiceline')"
            )
        return {name: " ".join(sql.split()) for name, sql in cursor.fetchall()}


def _keys() -> dict[str, tuple]:
    """The invoice tables' foreign keys: name → (columns, referenced table and column)."""
    out = {}
    with connection.cursor() as cursor:
        for table in ("invoices_invoice", "invoices_invoiceline"):
            found = connection.introspection.get_constraints(cursor, table)
            out.update(
                (name, (c["columns"], c["foreign_key"]))
                for name, c in found.items()
                if c["foreign_key"]
            )
    return out


def _validated(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT convalidated FROM pg_constraint WHERE conname = %s", [name])
        return cursor.fetchone()[0]


@pytest.fixture
def small_bulk(monkeypatch):
    """A few invoices count as a large import."""
    monkeypatch.setattr(bulk, "BULK_MIN", 3)


@pytest.fixture
def seen_while_writing(monkeypatch):
    """The deferrable indexes missing at each chunk's write."""
    seen: list[set[str]] = []
    real = writing._write

    def watching(*args, **kwargs):
        seen.append({item.name for item in bulk.missing()})
        return real(*args, **kwargs)

    monkeypatch.setattr(writing, "_write", watching)
    return seen


def _sold(org, count: int, **fields) -> bytes:
    return csv_bytes([row(org, **fields) for _ in range(count)])


def _running(org, *, silent_for=dt.timedelta(0)) -> InvoiceImport:
    """An import that is writing now (or was, `silent_for` ago)."""
    at = timezone.now() - silent_for
    return InvoiceImport.objects.create(
        organization=org, file_name="other.csv", file_format="csv",
        status=ImportStatus.RUNNING, started_at=at, progress_at=at,
    )  # fmt: skip


ALL = {item.name for item in bulk.deferrable()}


def test_the_deferrable_indexes_are_the_secondary_ones_and_the_number_stays():
    assert "invoice_number" not in ALL
    assert {"invoice_buyer_name", "invoice_seller_stats", "invoice_line_name"} <= ALL
    constraints = [c.name for m in (Invoice, InvoiceLine) for c in m._meta.constraints]
    assert not set(constraints) & ALL  # the identity stays unique throughout


def test_a_large_import_into_an_empty_platform_builds_the_indexes_after_its_rows(
    org, admin, small_bulk, seen_while_writing, monkeypatch
):
    monkeypatch.setattr(writing, "CHUNK", 2)
    before, keys = _definitions(), _keys()
    job = run(org, _sold(org, 5, 购买方名称="杭州启明信息技术有限公司"), actor=admin)
    assert job.status == ImportStatus.DONE and job.imported == 5
    assert seen_while_writing == [ALL, ALL, ALL]  # three chunks, all without the indexes
    assert not bulk.missing()
    assert _definitions() == before and _keys() == keys
    if connection.vendor == "postgresql":  # the keys, dropped too, are back and validated
        assert {item.name for item in bulk.deferrable() if item.key} == set(keys)
        assert all(_validated(name) for name in keys)
    # The rows are where the rebuilt indexes and the name search find them.
    assert Invoice.objects.filter(seller_org=org, buyer_tax_id=CUSTOMER).count() == 5
    found = search.name_filter(Invoice.objects.all(), "启明信息", field="party")
    assert found.count() == 5


def test_an_import_smaller_than_what_is_stored_writes_through_the_indexes(
    org, admin, small_bulk, seen_while_writing
):
    run(org, _sold(org, 4), actor=admin)  # large: the platform was empty
    seen_while_writing.clear()
    job = run(org, _sold(org, 3), actor=admin)  # 3 < the 4 stored
    assert job.imported == 3
    assert seen_while_writing == [set()]


def test_an_import_below_the_minimum_writes_through_the_indexes(org, admin, seen_while_writing):
    job = run(org, _sold(org, 3), actor=admin)
    assert job.imported == 3 and seen_while_writing == [set()]


def test_no_one_builds_them_while_another_import_writes_and_the_last_to_end_does(
    org, admin, small_bulk
):
    other = _running(org)
    assert bulk.defer(job_id=other.pk, invoices=10**6)
    assert {item.name for item in bulk.missing()} == ALL
    # An import that ends meanwhile leaves them: the other one still writes without them.
    job = run(org, _sold(org, 1), actor=admin)
    assert job.status == ImportStatus.DONE and len(bulk.missing()) == len(ALL)
    assert bulk.restore() == []
    # The other one ends: now they are built.
    InvoiceImport.objects.filter(pk=other.pk).update(status=ImportStatus.DONE)
    assert set(bulk.restore()) == ALL and not bulk.missing()


def test_a_second_import_during_a_large_one_writes_without_them_too(
    org, admin, seen_while_writing, small_bulk
):
    other = _running(org)
    bulk.defer(job_id=other.pk, invoices=10**6)
    run(org, _sold(org, 1), actor=admin)  # small, but the indexes are away already
    assert seen_while_writing == [ALL]


def test_a_failed_large_import_still_builds_them(org, admin, small_bulk, monkeypatch):
    monkeypatch.setattr(writing, "CHUNK", 2)
    killed_at_chunk(monkeypatch, 2)
    job = services.import_create(actor=admin, organization=org, data=_sold(org, 5),
                                 name="a.csv", background=False)  # fmt: skip
    with pytest.raises(ConnectionError):
        services.import_run(import_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and job.checkpoint == 2
    assert not bulk.missing()


def test_a_killed_large_import_resumes_without_them_and_builds_them_at_its_end(
    org, admin, small_bulk, seen_while_writing
):
    job = services.import_create(actor=admin, organization=org, data=_sold(org, 4),
                                 name="a.csv", background=False)  # fmt: skip
    # Killed right after dropping them: still "running", silent for longer than STALE_AFTER.
    stale = timezone.now() - services.STALE_AFTER - dt.timedelta(minutes=1)
    InvoiceImport.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, started_at=stale, progress_at=stale
    )
    assert bulk.defer(job_id=job.pk, invoices=4) and len(bulk.missing()) == len(ALL)
    job.refresh_from_db()
    services.import_resume(actor=admin, job=job)
    job = services.import_run(import_id=job.pk)
    assert job.status == ImportStatus.DONE and job.imported == 4
    assert seen_while_writing == [ALL]
    assert not bulk.missing()


def test_the_queued_task_builds_them_once_the_killed_import_is_stale(org, small_bulk):
    job = _running(org)
    bulk.defer(job_id=job.pk, invoices=10**6)
    deferred_indexes_restore.call()  # the import still writes: nothing built
    assert len(bulk.missing()) == len(ALL)
    stale = timezone.now() - services.STALE_AFTER - dt.timedelta(minutes=1)
    InvoiceImport.objects.filter(pk=job.pk).update(progress_at=stale)
    deferred_indexes_restore.call()
    assert not bulk.missing()


def test_migrate_builds_them_before_any_migration(org, small_bulk):
    before = _definitions()
    job = _running(org, silent_for=services.STALE_AFTER * 2)
    bulk.defer(job_id=job.pk, invoices=10**6)
    assert bulk.missing()
    emit_pre_migrate_signal(0, False, connection.alias, apps=global_apps, plan=[])
    assert not bulk.missing() and _definitions() == before


def test_only_what_an_import_dropped_is_built_again(org):
    # An index the code declares but the database lacks (its migration still pending, say) is
    # that migration's to make: neither a rebuild nor migrate's pre_migrate hook touches it.
    with connection.cursor() as cursor:
        cursor.execute('DROP INDEX "invoice_buyer_name"')
    assert bulk.missing() == [] and bulk.restore() == []
    emit_pre_migrate_signal(0, False, connection.alias, apps=global_apps, plan=[])
    assert "invoice_buyer_name" not in _definitions()
    # Nor does an import count it as dropped by an earlier one.
    job = _running(org)
    assert bulk.defer(job_id=job.pk, invoices=10**6)
    assert DroppedIndex.objects.filter(name="invoice_seller_name", dropped_by=job).exists()
    assert not DroppedIndex.objects.filter(name="invoice_buyer_name").exists()


def test_a_small_import_after_an_interrupted_large_one_builds_them_first(
    org, admin, small_bulk, seen_while_writing
):
    run(org, _sold(org, 5), actor=admin)
    job = _running(org)
    assert bulk.defer(job_id=job.pk, invoices=10**6)  # more than stored: dropped
    InvoiceImport.objects.filter(pk=job.pk).update(
        progress_at=timezone.now() - 2 * services.STALE_AFTER
    )  # then killed
    seen_while_writing.clear()
    run(org, _sold(org, 2), actor=admin)  # not large: builds them, then writes through them
    assert seen_while_writing == [set()]
    assert not bulk.missing()


def test_another_organizations_queries_answer_the_same_without_the_indexes(org, small_bulk):
    other = testing.organization("上海明德贸易有限公司")
    run(other, csv_bytes([row(other, 金额="10.00", 税额="0.60", 价税合计="10.60")]))
    answer = list(Invoice.objects.filter(seller_org=other, total=10.60).values_list("pk"))
    job = _running(org)
    bulk.defer(job_id=job.pk, invoices=10**6)
    assert bulk.missing()
    assert list(Invoice.objects.filter(seller_org=other, total=10.60).values_list("pk")) == answer


def test_a_line_without_its_invoice_leaves_the_key_not_valid_and_says_so(org, small_bulk, caplog):
    keys = [item.name for item in bulk.deferrable() if item.key]
    if connection.vendor == "sqlite":  # SQLite cannot drop a key without copying the table
        assert keys == []
        return
    (key,) = [item.name for item in bulk.deferrable() if item.key == "invoice"]
    job = _running(org)
    bulk.defer(job_id=job.pk, invoices=10**6)
    assert key not in _keys()
    with connection.cursor() as cursor:  # what nothing in the platform does
        cursor.execute(
            "INSERT INTO invoices_invoiceline (invoice_id, position, name, tax_code, spec, "
            "unit, amount, rate, tax, exemption) "
            "VALUES (987654321, 1, 'x', '', '', '', 1, 0.06, 0.06, '')"
        )
    InvoiceImport.objects.filter(pk=job.pk).update(status=ImportStatus.DONE)
    bulk.restore()
    assert key in _keys() and not _validated(key)
    assert "stays NOT VALID" in caplog.text
    assert not bulk.missing()


def test_what_was_dropped_comes_back_as_it_was_whatever_the_code_declares_by_then(
    org, small_bulk, monkeypatch
):
    # Dropped by one version of the code, built back by another (an upgrade between, its
    # migrations not applied yet): the database's own definitions are what come back.
    before, keys = _definitions(), _keys()
    job = _running(org, silent_for=2 * services.STALE_AFTER)
    assert bulk.defer(job_id=job.pk, invoices=10**6)
    monkeypatch.setattr(bulk, "deferrable", lambda: [])
    monkeypatch.setattr(bulk, "DEFERRED_KEYS", ())
    emit_pre_migrate_signal(0, False, connection.alias, apps=global_apps, plan=[])
    assert _definitions() == before and _keys() == keys and not bulk.missing()


def test_migrate_builds_them_even_while_an_import_runs(org, small_bulk):
    before = _definitions()
    job = _running(org)
    bulk.defer(job_id=job.pk, invoices=10**6)
    assert bulk.restore() == []  # the import builds them when it ends...
    emit_pre_migrate_signal(0, False, connection.alias, apps=global_apps, plan=[])
    assert _definitions() == before  # ...but migrations must find the tables as declared


def test_the_queued_check_queues_itself_again_when_a_rebuild_fails(org, small_bulk, monkeypatch):
    job = _running(org, silent_for=2 * services.STALE_AFTER)
    bulk.defer(job_id=job.pk, invoices=10**6)
    later = []
    monkeypatch.setattr(bulk, "_restore_later", lambda: later.append(1))

    def locked(record):
        raise OperationalError("database is locked")

    monkeypatch.setattr(bulk, "_build", locked)
    with pytest.raises(OperationalError):
        bulk.restore_or_later()
    assert later == [1] and bulk.pending()


def test_a_rebuild_inside_a_transaction_leaves_its_keys_checked_at_commit(org, small_bulk):
    job = _running(org, silent_for=2 * services.STALE_AFTER)
    bulk.defer(job_id=job.pk, invoices=10**6)
    bulk.restore()
    # Foreign keys are checked at commit (Django declares them deferred), not at the insert:
    # the rebuild did not leave the transaction checking them at once.
    orphan = InvoiceImport.objects.create(
        organization_id=987654321, file_name="x.csv", file_format="csv"
    )
    orphan.delete()  # before the test's own check at its end


def test_a_key_added_but_not_yet_validated_when_the_process_dies_is_validated_next_time(
    org, small_bulk, monkeypatch
):
    job = _running(org, silent_for=2 * services.STALE_AFTER)
    bulk.defer(job_id=job.pk, invoices=10**6)
    keys = [record.name for record in bulk.missing() if record.is_key]
    if connection.vendor == "sqlite":  # no keys are dropped on SQLite
        assert keys == []
        return
    real = bulk._validate

    def killed(record):
        raise SystemExit("killed between adding the key and validating it")

    monkeypatch.setattr(bulk, "_validate", killed)
    with pytest.raises(SystemExit):
        bulk.restore()
    (first,) = [r.name for r in bulk.missing() if r.is_key and r.name in _keys()]
    assert not _validated(first)  # added NOT VALID, still on the record
    monkeypatch.setattr(bulk, "_validate", real)
    bulk.restore()
    assert not bulk.missing() and all(_validated(name) for name in keys)
