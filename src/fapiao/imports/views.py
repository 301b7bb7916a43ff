"""The import pages: upload, column mapping, progress and summary, the files to download.

An organization's imports are its members' only (another organization's are 404); uploading,
mapping and resuming need the issuing permission.
"""

from __future__ import annotations

import contextlib
from urllib.parse import quote

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fapiao.accounts.permissions import Perm, org_required, perms_of
from fapiao.imports import fields, selectors, services
from fapiao.imports.forms import MappingForm, UploadForm
from fapiao.imports.models import ImportFormat, ImportStatus, InvoiceImport

ERRORS_PER_PAGE = 50


def _job_for(request, pk: int) -> InvoiceImport:
    return get_object_or_404(selectors.imports_of(organization=request.organization), pk=pk)


def _list_context(request, form: UploadForm) -> dict:
    return {
        "form": form,
        "imports": selectors.imports_of(organization=request.organization)[:20],
        "may_import": Perm.ISSUE in perms_of(request.user, request.organization),
        "fields": fields.FIELDS,
    }


@org_required(Perm.VIEW)
@require_GET
def import_list(request):
    return render(request, "imports/import_list.html", _list_context(request, UploadForm()))


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def import_new(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.import_create(
                actor=request.user,
                organization=request.organization,
                data=upload.read(),
                name=upload.name,
            )
        except services.ImportRefused as refused:
            form.add_error("file", refused.message)
        else:
            if job.status == ImportStatus.MAPPING:
                return redirect("import_mapping", job.pk)
            return redirect("import_detail", job.pk)
    return render(request, "imports/import_list.html", _list_context(request, form))


def _download(download: services.Download) -> HttpResponse:
    response = HttpResponse(download.content, content_type=download.content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(download.filename)}"
    return response


@org_required(Perm.VIEW)
@require_GET
def import_template_xlsx(request):
    return _download(
        services.template(organization=request.organization, file_format=ImportFormat.XLSX)
    )


@org_required(Perm.VIEW)
@require_GET
def import_template_csv(request):
    return _download(
        services.template(organization=request.organization, file_format=ImportFormat.CSV)
    )


def _detail_context(request, job: InvoiceImport) -> dict:
    errors = Paginator(selectors.problems_of(job=job), ERRORS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return {
        "job": job,
        "errors": errors,
        "warnings": selectors.problems_of(job=job, warnings=True)[:ERRORS_PER_PAGE],
        "resumable": services.resumable(job),
        "may_import": Perm.ISSUE in perms_of(request.user, request.organization),
    }


@org_required(Perm.VIEW)
@require_GET
def import_detail(request, pk: int):
    job = _job_for(request, pk)
    if job.status == ImportStatus.MAPPING:
        return redirect("import_mapping", job.pk)
    return render(request, "imports/import_detail.html", _detail_context(request, job))


@org_required(Perm.VIEW)
@require_GET
def import_progress(request, pk: int):
    """HTMX, polled every second while the import runs: the bar, the counts, then the summary."""
    job = _job_for(request, pk)
    return render(request, "imports/_progress.html", _detail_context(request, job))


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def import_mapping(request, pk: int):
    job = _job_for(request, pk)
    if job.status != ImportStatus.MAPPING:
        return redirect("import_detail", job.pk)
    detection = fields.detect(job.columns)
    form = MappingForm(request.POST or None, columns=job.columns, initial_mapping=job.mapping or {})
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            services.import_map(
                actor=request.user,
                job=job,
                mapping=form.mapping(),
                default_type=form.cleaned_data["default_type"],
            )
        except services.ImportRefused as error:
            refused = error.message
        else:
            return redirect("import_detail", job.pk)
    context = {
        "job": job,
        "form": form,
        "refused": refused,
        "missing": fields.missing_required(job.mapping or {}),
        "ambiguous": detection.ambiguous,
        "unknown": detection.unknown,
    }
    return render(request, "imports/import_mapping.html", context)


@org_required(Perm.ISSUE)
@require_POST
def import_resume(request, pk: int):
    job = _job_for(request, pk)
    with contextlib.suppress(services.ImportRefused):
        services.import_resume(actor=request.user, job=job)
    return redirect("import_detail", job.pk)


@org_required(Perm.VIEW)
@require_GET
def import_rejected(request, pk: int):
    """The rejected rows, in the file's own format, with a 错误原因 column."""
    job = _job_for(request, pk)
    return _download(services.rejected_rows(job=job))
