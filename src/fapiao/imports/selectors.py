"""Reads of imports, always within one organization."""

from django.db.models import QuerySet

from fapiao.imports.models import ImportProblem, InvoiceImport


def imports_of(*, organization) -> QuerySet[InvoiceImport]:
    return InvoiceImport.objects.filter(organization=organization).select_related("created_by")


def problems_of(*, job: InvoiceImport, warnings: bool = False) -> QuerySet[ImportProblem]:
    return ImportProblem.objects.filter(invoice_import=job, is_warning=warnings).order_by(
        "row", "id"
    )
