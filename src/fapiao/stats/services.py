from django.db import transaction

from fapiao.accounts.models import Organization
from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record
from fapiao.stats.export import csv_bytes, workbook_bytes
from fapiao.stats.report import Selection, stats_report


@transaction.atomic
def stats_export(
    *,
    organization: Organization,
    actor,
    selection: Selection,
    file_format: str,
    view: str | None = None,
    actor_label: str | None = None,
) -> bytes:
    """The statistics as an .xlsx workbook (every view) or one view as CSV; the export is
    recorded in the operation log."""
    if file_format == "csv":
        if view is None:
            raise ValueError("a CSV file holds one view: name it")
        report = stats_report(organization=organization, selection=selection, views={view})
        content = csv_bytes(report.table(view))
    else:
        report = stats_report(organization=organization, selection=selection)
        content = workbook_bytes(report)
        view = None
    event_record(
        code=EventCode.STATS_EXPORTED,
        actor=actor,
        organization=organization,
        details={"format": file_format, "view": view, "filter": selection.summary()},
        actor_label=actor_label,
    )
    return content
