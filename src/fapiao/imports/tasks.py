"""Background work of imports (django.tasks: the database queue by default)."""

from django.tasks import task


@task()
def invoice_import_run(*, import_id: int) -> None:
    """Run an import from its checkpoint on; the page polls its progress."""
    from fapiao.imports.services import import_run

    import_run(import_id=import_id)


@task()
def deferred_indexes_restore() -> None:
    """Build the invoice tables' indexes a large import dropped, if it was killed before it built
    them itself; queued again while an import still runs."""
    from fapiao.imports.bulk import restore_or_later

    restore_or_later()
