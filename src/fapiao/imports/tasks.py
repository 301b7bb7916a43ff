"""Background work of imports (django.tasks: the database queue by default)."""

from django.tasks import task


@task()
def invoice_import_run(*, import_id: int) -> None:
    """Run an import from its checkpoint on; the page polls its progress."""
    from fapiao.imports.services import import_run

    import_run(import_id=import_id)
