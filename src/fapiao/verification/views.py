"""The verification pages (查验): by fields, by file, batches, the result page with its report and
file preview, claims (报销登记), authentication requests (认证申请) and their staff queue, and the
report's public page.

Lookups are scoped: an organization's verifications, batches, claims and requests to its members
(another organization's are 404); staff reach only the requests of their queue and the files
attached to them. The public page answers to the report's random ID alone, with a summary.
"""

from __future__ import annotations

import io
from decimal import Decimal

import xlsxwriter
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fapiao.accounts.permissions import Perm, StaffPerm, org_required, perms_of, staff_required
from fapiao.audit.models import Event
from fapiao.core.excel import neutralised
from fapiao.invoices.forms import plain
from fapiao.invoices.models import Invoice
from fapiao.rules import RulesError, rmb, tax, types
from fapiao.verification import compare, files, selectors, services
from fapiao.verification.forms import (
    AuthRequestForm,
    BatchForm,
    ClaimForm,
    DecisionForm,
    FieldsForm,
    FileForm,
    SupplementForm,
    type_inputs,
)
from fapiao.verification.models import (
    AttachmentKind,
    AuthAttachment,
    AuthRequest,
    AuthRequestStatus,
    Verification,
    VerificationBatch,
    VerificationResult,
)
from fapiao.verification.report import EXPLANATIONS, public_url, verification_report_pdf


def _verification_for(request, pk: int) -> Verification:
    found = selectors.verifications_of(organization=request.organization)
    return get_object_or_404(found.select_related("organization", "duplicate_of"), pk=pk)


def _batch_for(request, pk: int) -> VerificationBatch:
    return get_object_or_404(selectors.batches_of(organization=request.organization), pk=pk)


def _may(request, perm: Perm) -> bool:
    return perm in perms_of(request.user, request.organization)


def _fail(request, error: services.VerificationError) -> None:
    messages.error(request, error.message)


# --- by fields ---------------------------------------------------------------------------------


@org_required(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def verify_fields(request):
    form = FieldsForm(request.POST) if request.method == "POST" else FieldsForm()
    if request.method == "POST" and form.is_valid():
        verification = services.verification_by_fields(
            actor=request.user, organization=request.organization, data=form.typed()
        )
        return redirect("verification_detail", verification.pk)
    data = form.data if form.is_bound else {}
    context = {
        "form": form,
        "inputs": type_inputs(data.get("code", ""), data.get("number", "")),
        "tab": "fields",
    }
    return render(request, "verification/verify_fields.html", context)


@org_required(Perm.VIEW)
@require_GET
def verify_fields_inputs(request):
    """HTMX: the inputs the type needs, derived from the code and number typed so far."""
    form = FieldsForm(initial=request.GET.dict())  # unbound: no errors while still typing
    inputs = type_inputs(request.GET.get("code", ""), request.GET.get("number", ""))
    return render(request, "verification/_type_inputs.html", {"form": form, "inputs": inputs})


# --- by file, and batches ------------------------------------------------------------------------


@org_required(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def verify_file(request):
    form = FileForm(request.POST, request.FILES) if request.method == "POST" else FileForm()
    error = None
    if request.method == "POST" and form.is_valid():
        upload = form.upload
        if files.kind_of(upload.data, upload.name) == "zip":  # many invoices: a batch
            try:
                batch = services.batch_create(
                    actor=request.user, organization=request.organization, uploads=[upload]
                )
            except services.VerificationError as refused:
                form.add_error("file", refused.message)
            else:
                return redirect("verify_batch_detail", batch.pk)
        else:
            outcome = services.verification_by_file(
                actor=request.user,
                organization=request.organization,
                data=upload.data,
                name=upload.name,
            )
            if outcome.verification is not None:
                return redirect("verification_detail", outcome.verification.pk)
            error = outcome.error
    context = {"form": form, "error": error, "tab": "file", "accept": files.ACCEPT_ATTRIBUTE}
    return render(request, "verification/verify_file.html", context)


@org_required(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def verify_batch_new(request):
    form = BatchForm(request.POST, request.FILES) if request.method == "POST" else BatchForm()
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.batch_create(
                actor=request.user, organization=request.organization, uploads=form.uploads
            )
        except services.VerificationError as refused:
            form.add_error("files", refused.message)
        else:
            return redirect("verify_batch_detail", batch.pk)
    batches = selectors.batches_of(organization=request.organization)[:10]
    context = {"form": form, "batches": batches, "tab": "batch"}
    return render(request, "verification/batch_new.html", context)


def _batch_context(batch: VerificationBatch) -> dict:
    items = list(selectors.batch_items(batch=batch))
    counts: dict[str, int] = {}
    for item in items:
        key = item.verification.result if item.verification else "unreadable"
        counts[key] = counts.get(key, 0) + 1
    labels = dict(VerificationResult.choices)
    summary = [(labels.get(k, _("无法识别")), n, k) for k, n in sorted(counts.items())]
    duplicates = {
        item.pk
        for item in items
        if item.verification is not None and item.verification.duplicate_of_id is not None
    }
    return {"batch": batch, "items": items, "summary": summary, "duplicates": duplicates}


@org_required(Perm.VIEW)
@require_GET
def verify_batch_detail(request, pk: int):
    batch = _batch_for(request, pk)
    return render(
        request, "verification/batch_detail.html", {**_batch_context(batch), "tab": "batch"}
    )


@org_required(Perm.VIEW)
@require_GET
def verify_batch_progress(request, pk: int):
    """HTMX, polled every second while the batch runs: the bar and the rows so far."""
    batch = _batch_for(request, pk)
    return render(request, "verification/_batch_progress.html", _batch_context(batch))


EXPORT_COLUMNS = [
    (gettext_lazy("序号"), 6),
    (gettext_lazy("文件"), 48),
    (gettext_lazy("查验结果"), 12),
    (gettext_lazy("发票代码"), 14),
    (gettext_lazy("发票号码"), 24),
    (gettext_lazy("开票日期"), 12),
    (gettext_lazy("金额（不含税）"), 14),
    (gettext_lazy("价税合计"), 14),
    (gettext_lazy("不一致项"), 40),
    (gettext_lazy("查重"), 30),
    (gettext_lazy("无法识别的原因"), 40),
    (gettext_lazy("查验编号"), 26),
]


@org_required(Perm.VIEW)
@require_GET
def verify_batch_export(request, pk: int):
    batch = _batch_for(request, pk)
    items = list(selectors.batch_items(batch=batch))
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        output,
        {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
         "strings_to_numbers": False},
    )  # fmt: skip
    sheet = workbook.add_worksheet(_("查验结果"))
    header = workbook.add_format({"bold": True, "bg_color": "#F3F4F6", "border": 1})
    money = workbook.add_format({"num_format": "#,##0.00"})
    for col, (title, width) in enumerate(EXPORT_COLUMNS):
        sheet.write_string(0, col, str(title), header)
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)
    for row, item in enumerate(items, 1):
        v = item.verification
        sheet.write_number(row, 0, item.position)
        sheet.write_string(row, 1, neutralised(item.file_name))
        if v is None:
            sheet.write_string(row, 2, _("无法识别"))
            sheet.write_string(row, 10, neutralised(item.error_message))
            continue
        given = selectors.given_values(v)
        sheet.write_string(row, 2, v.get_result_display())
        sheet.write_string(row, 3, neutralised(v.code))
        sheet.write_string(row, 4, neutralised(v.number))
        sheet.write_string(row, 5, v.issue_date.isoformat() if v.issue_date else "")
        for col, key in ((6, "amount"), (7, "total")):
            if given.get(key):
                sheet.write_number(row, col, float(Decimal(given[key])), money)
        sheet.write_string(row, 8, neutralised(_differences_text(v)))
        if v.duplicate_of_id:
            sheet.write_string(
                row, 9, _("此前已查验（查验编号 %(id)s）") % {"id": v.duplicate_of.public_id}
            )
        sheet.write_string(row, 11, v.public_id)
    if items:
        sheet.autofilter(0, 0, len(items), len(EXPORT_COLUMNS) - 1)
    workbook.close()
    services.batch_exported(actor=request.user, batch=batch, rows=len(items))
    response = HttpResponse(
        output.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="verification-batch-{batch.pk}.xlsx"'
    return response


def _differences_text(v: Verification) -> str:
    if v.shows_platform_copy:
        return "；".join(f"{d['label']}：{d['input']} ≠ {d['platform']}" for d in v.differences)
    return "、".join(d["label"] for d in v.differences)


# --- the result ----------------------------------------------------------------------------------


@org_required(Perm.VIEW)
@require_GET
def verification_detail(request, pk: int):
    verification = _verification_for(request, pk)
    earlier = selectors.earlier_records(verification)
    claim = selectors.claim_for(
        organization=request.organization, code=verification.code, number=verification.number
    )
    preview_pages = 0
    if verification.file:
        with verification.file.open("rb") as stream:
            preview_pages = files.preview_pages(stream.read(), verification.file_kind)
    invoice = verification.invoice if verification.shows_platform_copy else None
    context = {
        "v": verification,
        "rows": selectors.comparison_rows(verification),
        "explanation": EXPLANATIONS[verification.result],
        "earlier": earlier,
        "claim": claim,
        "claim_form": ClaimForm(),
        "may_claim": _may(request, Perm.ISSUE),
        "sheet": _invoice_sheet(invoice) if invoice is not None else None,
        "preview_pages": range(1, preview_pages + 1),
        "conflicts": (verification.extracted or {}).get("conflicts") or [],
        "sources": _sources(verification),
        "public_url": public_url(verification),
        "tab": "history",
    }
    return render(request, "verification/verification_detail.html", context)


def _sources(verification: Verification) -> list[tuple[str, str]]:
    from fapiao.verification.extraction.result import SOURCE_LABELS

    sources = (verification.extracted or {}).get("sources") or {}
    return [
        (compare.LABELS.get(field, field), SOURCE_LABELS.get(source, source))
        for field, source in sources.items()
        if field in compare.LABELS
    ]


@org_required(Perm.VIEW)
@require_GET
def verification_report(request, pk: int):
    verification = _verification_for(request, pk)
    response = HttpResponse(verification_report_pdf(verification), content_type="application/pdf")
    name = f"verification-report-{verification.public_id}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@org_required(Perm.VIEW)
@require_GET
def verification_preview(request, pk: int):
    """The verified file's page (?page=N, from 1) as PNG: PDFs rendered, images scaled."""
    verification = _verification_for(request, pk)
    if not verification.file:
        raise Http404("no file")
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        raise Http404("bad page") from None
    with verification.file.open("rb") as stream:
        png = files.preview_png(stream.read(), verification.file_kind, page)
    if png is None:
        raise Http404("no preview")
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@org_required(Perm.ISSUE)
@require_POST
def verification_claim(request, pk: int):
    verification = _verification_for(request, pk)
    form = ClaimForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.claim_create(actor=request.user, verification=verification, note=note)
    except services.ClaimRefused as refused:
        messages.error(request, refused.message)
    except services.VerificationError as refused:
        _fail(request, refused)
    else:
        messages.success(
            request, _("已登记报销：发票 %(invoice)s") % {"invoice": verification.identity}
        )
    return redirect("verification_detail", verification.pk)


@org_required(Perm.VIEW)
@require_GET
def verification_list(request):
    found = selectors.verifications_of(organization=request.organization)
    q = request.GET.get("q", "").strip()
    result = request.GET.get("result", "")
    if q:
        found = found.filter(Q(number__icontains=q) | Q(file_name__icontains=q))
    if result in VerificationResult.values:
        found = found.filter(result=result)
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "result": result,
        "results": VerificationResult.choices,
        "batches": selectors.batches_of(organization=request.organization)[:5],
        "tab": "history",
    }
    return render(request, "verification/verification_list.html", context)


@org_required(Perm.VIEW)
@require_GET
def claim_list(request):
    claims = selectors.claims_of(organization=request.organization)
    page = Paginator(claims, 50).get_page(request.GET.get("page"))
    return render(request, "verification/claim_list.html", {"page": page, "tab": "claims"})


@require_GET
def verification_public(request, public_id: str):
    """Anyone holding the report checks it here: result, number, date, total, time; no more."""
    verification = selectors.public_report(public_id)
    if verification is None:
        raise Http404("no such report")
    summary = selectors.public_summary(verification)
    response = render(request, "verification/public_report.html", {"summary": summary})
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- 认证申请 ------------------------------------------------------------------------------------


def _auth_request_for(request, pk: int) -> AuthRequest:
    found = selectors.auth_requests_of(organization=request.organization)
    return get_object_or_404(found, pk=pk)


def _timeline(auth_request: AuthRequest) -> list[Event]:
    return list(
        Event.objects.filter(object_type="authrequest", object_id=str(auth_request.pk))
        .filter(code__startswith="verification.auth_request")
        .order_by("created_at", "id")
    )


@org_required(Perm.VIEW)
@require_GET
def auth_request_list(request):
    found = selectors.auth_requests_of(organization=request.organization)
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    context = {"page": page, "may_submit": _may(request, Perm.ISSUE), "tab": "requests"}
    return render(request, "verification/auth_request_list.html", context)


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def auth_request_new(request):
    form = (
        AuthRequestForm(request.POST, request.FILES)
        if request.method == "POST"
        else AuthRequestForm()
    )
    if request.method == "POST" and form.is_valid():
        try:
            auth_request = services.auth_request_submit(
                actor=request.user,
                organization=request.organization,
                title=form.cleaned_data["title"],
                note=form.cleaned_data["note"],
                attachments=form.attachments,
            )
        except services.VerificationError as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request,
                _("认证申请 #%(id)s 已提交，审核结果会邮件通知您。") % {"id": auth_request.pk},
            )
            return redirect("auth_request_detail", auth_request.pk)
    return render(request, "verification/auth_request_form.html", {"form": form, "tab": "requests"})


@org_required(Perm.VIEW)
@require_GET
def auth_request_detail(request, pk: int):
    auth_request = _auth_request_for(request, pk)
    context = {
        "r": auth_request,
        "attachments": auth_request.attachments.all(),
        "verifications": auth_request.verifications.select_related("invoice"),
        "timeline": _timeline(auth_request),
        "supplement_form": SupplementForm(),
        "may_supplement": _may(request, Perm.ISSUE)
        and auth_request.status == AuthRequestStatus.MORE_INFO,
        "tab": "requests",
    }
    return render(request, "verification/auth_request_detail.html", context)


@org_required(Perm.ISSUE)
@require_POST
def auth_request_supplement(request, pk: int):
    auth_request = _auth_request_for(request, pk)
    form = SupplementForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.auth_request_supplement(
                actor=request.user,
                request=auth_request,
                note=form.cleaned_data["note"],
                attachments=form.attachments,
            )
        except services.VerificationError as refused:
            _fail(request, refused)
        else:
            messages.success(request, _("补充材料已提交，申请已重新进入审核队列。"))
    else:
        for error in form.non_field_errors():
            messages.error(request, error)
        for field in form:
            for error in field.errors:
                messages.error(request, f"{field.label}：{error}")
    return redirect("auth_request_detail", auth_request.pk)


def _download(attachment: AuthAttachment) -> FileResponse:
    with attachment.file.open("rb") as stream:
        data = stream.read()
    types_by_kind = {
        "pdf": "application/pdf",
        "png": "image/png",
        "jpeg": "image/jpeg",
        "xml": "application/xml",
    }
    response = FileResponse(
        io.BytesIO(data),
        as_attachment=True,
        filename=files.safe_name(attachment.name),
        content_type=types_by_kind.get(attachment.file_kind, "application/octet-stream"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@org_required(Perm.VIEW)
@require_GET
def auth_request_attachment(request, pk: int):
    attachment = selectors.attachment_for_org(organization=request.organization, pk=pk)
    if attachment is None:
        raise Http404("no such attachment")
    return _download(attachment)


# --- staff: the 认证申请 queue -------------------------------------------------------------


def _staff_request_for(request, pk: int) -> AuthRequest:
    """Staff open a request in their queue, or one they decided; nothing else."""
    found = selectors.auth_requests_for_staff().filter(
        Q(status__in=(AuthRequestStatus.PENDING, AuthRequestStatus.MORE_INFO))
        | Q(decided_by=request.user)
    )
    return get_object_or_404(found, pk=pk)


@staff_required(StaffPerm.REVIEW_QUEUE)
@require_GET
def staff_auth_queue(request):
    queue = selectors.auth_request_queue()
    decided = (
        selectors.auth_requests_for_staff()
        .filter(decided_by=request.user)
        .exclude(status__in=(AuthRequestStatus.PENDING, AuthRequestStatus.MORE_INFO))[:20]
    )
    return render(request, "verification/staff_queue.html", {"queue": queue, "decided": decided})


@staff_required(StaffPerm.REVIEW_QUEUE)
@require_http_methods(["GET", "POST"])
def staff_auth_request(request, pk: int):
    auth_request = _staff_request_for(request, pk)
    form = DecisionForm(request.POST) if request.method == "POST" else DecisionForm()
    if request.method == "POST" and form.is_valid():
        decision, message = form.cleaned_data["decision"], form.cleaned_data["message"]
        try:
            if decision == "approve":
                services.auth_request_approve(
                    actor=request.user, request=auth_request, message=message
                )
            elif decision == "reject":
                services.auth_request_reject(
                    actor=request.user, request=auth_request, reason=message
                )
            else:
                services.auth_request_more_info(
                    actor=request.user, request=auth_request, message=message
                )
        except services.VerificationError as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request, _("认证申请 #%(id)s 已处理，已通知申请人。") % {"id": auth_request.pk}
            )
            return redirect("staff_auth_queue")
    attachments = list(auth_request.attachments.all())
    for attachment in attachments:
        attachment.checks = _preliminary(attachment)
    context = {
        "r": auth_request,
        "attachments": attachments,
        "form": form,
        "verifications": auth_request.verifications.all(),
        "timeline": _timeline(auth_request),
    }
    return render(request, "verification/staff_request.html", context)


def _preliminary(attachment: AuthAttachment) -> list[dict]:
    """For staff: what each invoice file says and how it would verify now (nothing recorded)."""
    if attachment.kind != AttachmentKind.INVOICE:
        return []
    checks = []
    for extraction in attachment.extracted or []:
        invoice = extraction.get("invoice") or {}
        if not extraction.get("ok"):
            checks.append({"file": extraction.get("file"), "error": extraction.get("error")})
            continue
        outcome = services.verification_judge(compare.asked_from_extraction(invoice))
        checks.append(
            {
                "file": extraction.get("file"),
                "number": invoice.get("number"),
                "issue_date": invoice.get("issue_date"),
                "total": invoice.get("total"),
                "result": outcome.result.label,
                "result_code": outcome.result.value,
                "differences": [d["label"] for d in outcome.differences],
                "conflicts": [c["message"] for c in invoice.get("conflicts") or []],
            }
        )
    return checks


@staff_required(StaffPerm.REVIEW_QUEUE)
@require_GET
def staff_auth_attachment(request, pk: int):
    attachment = get_object_or_404(AuthAttachment.objects.select_related("request"), pk=pk)
    _staff_request_for(request, attachment.request_id)  # 404 unless the request is theirs to see
    return _download(attachment)


# --- the platform's copy, laid out like the invoice --------------------------------------------


def _invoice_sheet(invoice: Invoice) -> dict:
    def party(prefix: str) -> dict:
        keys = ("name", "tax_id", "address", "phone", "bank_name", "bank_account")
        return {k: getattr(invoice, f"{prefix}{k}") for k in keys}

    lines = []
    for line in invoice.lines.all():
        try:
            flag = tax.TaxExemption(line.exemption or tax.TaxExemption.NONE)
        except ValueError:
            flag = tax.TaxExemption.NONE
        lines.append(
            {
                "position": line.position,
                "name": line.name,
                "tax_code": line.tax_code,
                "spec": line.spec,
                "unit": line.unit,
                "quantity": plain(line.quantity),
                "unit_price": plain(line.unit_price),
                "amount": line.amount,
                "rate": tax.rate_label(line.rate, flag),
                "tax": line.tax,
            }
        )
    try:
        capital = rmb.capital(invoice.total)
    except RulesError as error:
        capital = error.problem.message
    return {
        "title": types.name(types.Channel.QR, invoice.type_code) or _("发票"),
        "code": invoice.code,
        "number": invoice.number,
        "issue_date": invoice.issue_date,
        "buyer": party("buyer_"),
        "seller": party("seller_"),
        "lines": lines,
        "amount": invoice.amount,
        "tax": invoice.tax,
        "total": invoice.total,
        "capital": capital,
        "remarks": invoice.remarks,
        "drawer": invoice.drawer,
        "reviewer": invoice.reviewer_name,
        "is_red": invoice.is_red,
        "status": invoice.get_status_display(),
    }


def staff_queue_count() -> int:
    return selectors.auth_pending_count()
