"""Background work of reconciliation (django.tasks: the database queue by default)."""

from django.tasks import task


@task()
def reconciliation_task(*, reconciliation_id: int) -> None:
    """Compare a large ledger with the platform; the page polls until it is done."""
    from fapiao.reconcile.services import reconciliation_run

    reconciliation_run(reconciliation_id=reconciliation_id)


@task()
def reconciliation_export_task(*, reconciliation_id: int) -> None:
    """Build a large result's Excel export; the page polls until it can be downloaded."""
    from fapiao.reconcile.services import reconciliation_export_build

    reconciliation_export_build(reconciliation_id=reconciliation_id)
