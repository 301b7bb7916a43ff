"""The reconciliation pages: upload with period and side, column mapping, progress, the result by
category (filtered and paged from the stored result), the Excel export (built once, in the
background for a large result, then downloaded) and 补录 in bulk.

An organization's reconciliations are its members' only (another organization's are 404); any
member may read and export a result; uploading, mapping and starting 补录 need the issuing
permission.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fapiao.accounts.permissions import Perm, org_required, perms_of
from fapiao.reconcile import engine, ledger, results, selectors, services
from fapiao.reconcile.forms import MappingForm, UploadForm
from fapiao.reconcile.models import ExportStatus, Reconciliation, ReconciliationStatus

PER_PAGE = 100
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _job_for(request, pk: int) -> Reconciliation:
    return get_object_or_404(selectors.reconciliations_of(organization=request.organization), pk=pk)


def _may_write(request) -> bool:
    return Perm.ISSUE in perms_of(request.user, request.organization)


def _list_context(request, form: UploadForm) -> dict:
    return {
        "form": form,
        "jobs": selectors.reconciliations_of(organization=request.organization)[:20],
        "may_write": _may_write(request),
    }


@org_required(Perm.VIEW)
@require_GET
def reconcile_list(request):
    return render(request, "reconcile/reconcile_list.html", _list_context(request, UploadForm()))


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def reconcile_new(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.reconciliation_create(
                actor=request.user,
                organization=request.organization,
                data=upload.read(),
                name=upload.name,
                side=form.cleaned_data["side"],
                date_from=form.cleaned_data["date_from"],
                date_to=form.cleaned_data["date_to"],
            )
        except services.ReconcileRefused as refused:
            form.add_error("file", refused.message)
        else:
            if job.status == ReconciliationStatus.MAPPING:
                return redirect("reconcile_mapping", job.pk)
            return redirect("reconcile_detail", job.pk)
    return render(request, "reconcile/reconcile_list.html", _list_context(request, form))


def _detail_context(request, job: Reconciliation) -> dict:
    category = request.GET.get("category") or ""
    if category not in engine.CATEGORIES:
        category = engine.MISSING_ON_PLATFORM if job.count(engine.MISSING_ON_PLATFORM) else ""
        category = category or next(
            (c for c in engine.CATEGORIES[1:] if job.count(c)), engine.MATCHED
        )
    query = (request.GET.get("q") or "").strip()[:40]
    try:
        page_number = max(1, int(request.GET.get("page") or 1))
    except ValueError:
        page_number = 1
    rows, total = [], 0
    if job.status == ReconciliationStatus.DONE and job.result:
        rows, total = results.page(
            services.result_source(job),
            offset=(page_number - 1) * PER_PAGE,
            limit=PER_PAGE,
            category=category,
            query=query,
        )
    for row in rows:
        row["recovery"] = job.recoveries.get(str(row.get("row")))
    pages = max(1, -(-total // PER_PAGE))

    def link(**changes) -> str:
        params = {"category": category, "q": query, "page": page_number, **changes}
        return "?" + urlencode({k: v for k, v in params.items() if v not in ("", None, 1)})

    cards = [
        {
            "key": c,
            "label": results.CATEGORY_LABELS[c],
            "hint": results.CATEGORY_HINTS[c],
            "count": job.count(c),
            "amount": results.grouped(job.summary.get(c, {}).get("cents", 0)),
            "url": link(category=c, q="", page=1),
            "active": c == category,
        }
        for c in engine.CATEGORIES
    ]
    waiting = sum(1 for r in rows if r.get("recovery") is None)
    return {
        **_export_context(job),
        "cards": cards,
        "category": category,
        "category_label": results.CATEGORY_LABELS[category],
        "rows": rows,
        "total": total,
        "query": query,
        "page": page_number,
        "pages": pages,
        "previous_url": link(page=page_number - 1) if page_number > 1 else "",
        "next_url": link(page=page_number + 1) if page_number < pages else "",
        "may_write": _may_write(request),
        "recoverable": category == engine.MISSING_ON_PLATFORM and waiting > 0,
        "started": len(job.recoveries),
    }


@org_required(Perm.VIEW)
@require_GET
def reconcile_detail(request, pk: int):
    job = _job_for(request, pk)
    if job.status == ReconciliationStatus.MAPPING:
        return redirect("reconcile_mapping", job.pk)
    return render(request, "reconcile/reconcile_detail.html", _detail_context(request, job))


@org_required(Perm.VIEW)
@require_GET
def reconcile_progress(request, pk: int):
    """HTMX, polled while the comparison runs; once it is done the page reloads with results."""
    job = _job_for(request, pk)
    response = render(request, "reconcile/_progress.html", {"job": job})
    if job.finished and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def reconcile_mapping(request, pk: int):
    job = _job_for(request, pk)
    if job.status != ReconciliationStatus.MAPPING:
        return redirect("reconcile_detail", job.pk)
    detection = ledger.detect(job.columns)
    form = MappingForm(request.POST or None, columns=job.columns, initial_mapping=job.mapping or {})
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            services.reconciliation_map(actor=request.user, job=job, mapping=form.mapping())
        except services.ReconcileRefused as error:
            refused = error.message
        else:
            return redirect("reconcile_detail", job.pk)
    context = {
        "job": job,
        "form": form,
        "refused": refused,
        "missing": ledger.missing_required(job.mapping or {}),
        "ambiguous": detection.ambiguous,
        "unknown": detection.unknown,
    }
    return render(request, "reconcile/reconcile_mapping.html", context)


def _done_job_for(request, pk: int) -> Reconciliation:
    job = _job_for(request, pk)
    if job.status != ReconciliationStatus.DONE or not job.result:
        raise Http404("no result yet")
    return job


def _export_context(job: Reconciliation, *, fresh: bool = False) -> dict:
    """The export button: a plain download when the file is ready, or when the result is small
    enough to be built by the download itself; else a POST that has it built (or its progress,
    or its failure and a retry). `fresh`: the state follows the user's click or the polling."""
    small = job.result_rows <= services.INLINE_EXPORT_ROWS
    direct = job.export_ready or (small and job.export_status == ExportStatus.NONE)
    return {"job": job, "export_direct": direct, "fresh": fresh}


def _export_action(request, job: Reconciliation):
    response = render(request, "reconcile/_export.html", _export_context(job, fresh=True))
    response["Cache-Control"] = "no-store"
    return response


@org_required(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def reconcile_export(request, pk: int):
    """GET: the result's workbook, built here first when the result is small; a large one not
    built yet sends back to the page, whose button builds it. POST (the button): have it built;
    HTMX receives the button's new state (the download link, or the progress it polls)."""
    job = _done_job_for(request, pk)
    detail = reverse("reconcile_detail", args=[job.pk])
    if request.method == "POST":
        job = services.reconciliation_export_request(job=job)
        if request.headers.get("HX-Request"):
            return _export_action(request, job)
        return redirect(reverse("reconcile_export", args=[job.pk]) if job.export_ready else detail)
    stream = services.reconciliation_export_open(actor=request.user, job=job)
    if stream is None and job.result_rows <= services.INLINE_EXPORT_ROWS:
        job = services.reconciliation_export_request(job=job)
        stream = services.reconciliation_export_open(actor=request.user, job=job)
    if stream is None:
        return redirect(detail + "#reconcile-export")
    response = FileResponse(
        stream, as_attachment=True, filename=f"对账结果_{job.pk}.xlsx", content_type=XLSX_TYPE
    )
    response["Cache-Control"] = "no-store"
    return response


@org_required(Perm.VIEW)
@require_GET
def reconcile_export_status(request, pk: int):
    """HTMX, polled while the export is built: the export button's state."""
    return _export_action(request, _done_job_for(request, pk))


@org_required(Perm.ISSUE)
@require_POST
def reconcile_recover(request, pk: int):
    """补录 drafts for the selected rows missing on the platform, or for all of them."""
    job = _job_for(request, pk)
    if request.POST.get("scope") == "all":
        rows = None
    else:
        rows = [int(r) for r in request.POST.getlist("row") if r.isdigit()]
    try:
        created = services.reconciliation_recover(actor=request.user, job=job, rows=rows)
    except services.ReconcileRefused as refused:
        messages.error(request, refused.message)
    else:
        if created:
            messages.success(
                request,
                _("已创建 %(n)d 份补录申请草稿：请在每份申请中上传发票文件等证明材料后提交。")
                % {"n": len(created)},
            )
        else:
            messages.info(request, _("所选的行已在平台上或已有补录申请，没有新建申请。"))
    url = reverse("reconcile_detail", args=[job.pk])
    return redirect(f"{url}?category={engine.MISSING_ON_PLATFORM}")
