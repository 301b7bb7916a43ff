"""Background work of reconciliation (django.tasks: the database queue by default)."""

from django.tasks import task


@task()
def reconciliation_task(*, reconciliation_id: int) -> None:
    """Compare a large ledger with the platform; the page polls until it is done."""
    from fapiao.reconcile.services import reconciliation_run

    reconciliation_run(reconciliation_id=reconciliation_id)
