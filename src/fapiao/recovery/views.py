"""The 补录 pages: the organization's applications, a new one (typed, prefilled from the finder's
query, or from an uploaded invoice file), its page (progress, evidence, edit, submit, withdraw),
and the staff review queue with each application's evidence and the decision.

Lookups are scoped: an organization's applications and files to its members (another
organization's are 404); staff with the review queue reach applications in review, waiting for
material, or decided by them, never drafts.
"""

from __future__ import annotations

import io

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fapiao.accounts.permissions import Perm, StaffPerm, org_required, perms_of, staff_required
from fapiao.recovery import selectors, services, sla
from fapiao.recovery.forms import (
    ApplicationForm,
    DecisionForm,
    EvidenceForm,
    FromFileForm,
    InvoiceFieldsForm,
    SubmitForm,
)
from fapiao.recovery.models import (
    EvidenceKind,
    RecoveryApplication,
    RecoveryEvidence,
    RecoveryStatus,
)
from fapiao.verification import files

QUEUE_PAGE_SIZE = 50  # the staff queue, soonest due first


def _application_for(request, pk: int) -> RecoveryApplication:
    return get_object_or_404(selectors.applications_of(organization=request.organization), pk=pk)


def _may(request, perm: Perm) -> bool:
    return perm in perms_of(request.user, request.organization)


def _refusal_to_form(form, refused: services.RecoveryError) -> None:
    """A refusal shown on the form: each problem on its field where the form has it."""
    problems = refused.problems or [refused.as_dict()]
    for problem in problems:
        field = problem.get("field")
        form.add_error(field if field in form.fields else None, problem["message"])


def _errors_to_messages(request, form) -> None:
    for error in form.non_field_errors():
        messages.error(request, error)
    for field in form:
        for error in field.errors:
            messages.error(request, f"{field.label}：{error}")


# --- the organization's applications -------------------------------------------------------------


@org_required(Perm.VIEW)
@require_GET
def recovery_list(request):
    found = selectors.applications_of(organization=request.organization)
    status = request.GET.get("status", "")
    if status in RecoveryStatus.values:
        found = found.filter(status=status)
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "statuses": RecoveryStatus.choices,
        "may_apply": _may(request, Perm.ISSUE),
        "now": timezone.now(),
    }
    return render(request, "recovery/recovery_list.html", context)


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def recovery_new(request):
    organization = request.organization
    refusal = None
    if request.method == "POST":
        form = ApplicationForm(request.POST, request.FILES, organization=organization)
        if form.is_valid():
            try:
                application = services.recovery_create(
                    actor=request.user,
                    organization=organization,
                    data=form.invoice_data(),
                    reason=form.cleaned_data["reason"],
                    reason_note=form.cleaned_data["reason_note"],
                    evidence=form.evidence,
                    submit=request.POST.get("action") != "draft",
                )
            except services.RecoveryError as refused:
                if refused.link or refused.code.startswith("already_on_platform"):
                    refusal = refused
                else:
                    _refusal_to_form(form, refused)
            else:
                if application.status == RecoveryStatus.SUBMITTED:
                    messages.success(
                        request,
                        _("补录申请 #%(pk)s 已提交，审核进展会通过站内消息和邮件通知您。")
                        % {"pk": application.pk},
                    )
                else:
                    messages.success(request, _("已保存为草稿，上传发票文件后即可提交。"))
                return redirect("recovery_detail", application.pk)
    else:
        initial = InvoiceFieldsForm.initial_from_query(request.GET, organization)
        form = ApplicationForm(initial=initial, organization=organization)
    context = {
        "form": form,
        "file_form": FromFileForm(),
        "refusal": refusal,
        "organization": organization,
        "sla_days": sla.REVIEW_WORKING_DAYS,
    }
    return render(request, "recovery/recovery_form.html", context)


@org_required(Perm.ISSUE)
@require_POST
def recovery_from_file(request):
    form = FromFileForm(request.POST, request.FILES)
    if not form.is_valid():
        _errors_to_messages(request, form)
        return redirect("recovery_new")
    uploaded = form.cleaned_data["file"]
    if uploaded.size > services.MAX_EVIDENCE_BYTES:
        messages.error(request, _("文件过大，单个文件不能超过 10 MB"))
        return redirect("recovery_new")
    uploaded.seek(0)
    try:
        application = services.recovery_from_file(
            actor=request.user,
            organization=request.organization,
            name=uploaded.name,
            data=uploaded.read(),
        )
    except services.RecoveryError as refused:
        messages.error(request, refused.message)
        if refused.link:
            return redirect(refused.link)
        return redirect("recovery_new")
    messages.success(
        request,
        _("已从文件识别发票信息并保存为草稿：请核对各项信息、补充证明材料后提交。"),
    )
    return redirect("recovery_edit", application.pk)


def _steps(application: RecoveryApplication) -> list[dict]:
    """The progress bar: 填写 → 提交 → 审核 → 结果."""
    status = application.status
    final = {
        RecoveryStatus.APPROVED: _("已通过，发票已记录"),
        RecoveryStatus.REJECTED: _("已驳回"),
        RecoveryStatus.WITHDRAWN: _("已撤回"),
    }
    steps = [
        {"label": _("填写申请与材料"), "when": application.created_at},
        {"label": _("提交审核"), "when": application.submitted_at},
        {
            "label": _("待补充材料") if status == RecoveryStatus.MORE_INFO else _("工作人员审核"),
            "when": None,
        },
        {"label": final.get(status, _("审核结果")), "when": application.decided_at},
    ]
    current = {
        RecoveryStatus.DRAFT: 0,
        RecoveryStatus.SUBMITTED: 2,
        RecoveryStatus.MORE_INFO: 2,
    }.get(status, 3)
    for index, step in enumerate(steps):
        step["state"] = "done" if index < current else ("current" if index == current else "todo")
    if status in (RecoveryStatus.APPROVED, RecoveryStatus.REJECTED, RecoveryStatus.WITHDRAWN):
        steps[3]["state"] = "done" if status == RecoveryStatus.APPROVED else "stopped"
    return steps


@org_required(Perm.VIEW)
@require_GET
def recovery_detail(request, pk: int):
    application = _application_for(request, pk)
    may_write = _may(request, Perm.ISSUE)
    evidence = list(application.evidence.all())
    for item in evidence:
        item.removable = (
            may_write
            and application.editable
            and not (
                application.status == RecoveryStatus.MORE_INFO
                and application.decided_at
                and item.uploaded_at < application.decided_at
            )
        )
    _, problems = services.fields_check(
        organization=application.organization,
        data={k: getattr(application, k) for k in services.INVOICE_FIELDS},
        complete=True,
    )
    context = {
        "a": application,
        "steps": _steps(application),
        "evidence": evidence,
        "has_invoice_file": any(e.kind == EvidenceKind.INVOICE for e in evidence),
        "problems": problems if application.editable else [],
        "timeline": selectors.timeline(application),
        "may_write": may_write,
        "evidence_form": EvidenceForm(),
        "submit_form": SubmitForm(),
        "fields": _field_rows(application),
        "remaining": sla.remaining_label(application.due_at, timezone.now()),
    }
    return render(request, "recovery/recovery_detail.html", context)


def _field_rows(application: RecoveryApplication) -> list[tuple[str, object, str]]:
    rows = []
    for key in services.INVOICE_FIELDS:
        value = getattr(application, key)
        kind = "money" if key in ("amount", "tax", "total") else "text"
        if key == "type_code" and value:
            from fapiao.rules import types

            value = f"{value} {types.name(types.Channel.QR, value) or ''}".strip()
        rows.append((_(services.LABELS[key]), value, kind))
    return rows


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def recovery_edit(request, pk: int):
    application = _application_for(request, pk)
    if not application.editable:
        messages.error(request, _("这份申请当前不能修改。"))
        return redirect("recovery_detail", application.pk)
    organization = request.organization
    refusal = None
    if request.method == "POST":
        form = InvoiceFieldsForm(request.POST, organization=organization)
        if form.is_valid():
            try:
                services.recovery_update(
                    actor=request.user,
                    application=application,
                    data=form.invoice_data(),
                    reason=form.cleaned_data["reason"],
                    reason_note=form.cleaned_data["reason_note"],
                )
            except services.RecoveryError as refused:
                if refused.link or refused.code.startswith("already_on_platform"):
                    refusal = refused
                else:
                    _refusal_to_form(form, refused)
            else:
                messages.success(request, _("已保存。"))
                return redirect("recovery_detail", application.pk)
    else:
        initial = {k: getattr(application, k) for k in services.INVOICE_FIELDS}
        initial.update(reason=application.reason, reason_note=application.reason_note)
        if application.seller_tax_id == organization.tax_id:
            initial["role"] = "seller"
        elif application.buyer_tax_id == organization.tax_id:
            initial["role"] = "buyer"
        form = InvoiceFieldsForm(initial=initial, organization=organization)
    context = {"form": form, "a": application, "refusal": refusal, "organization": organization}
    return render(request, "recovery/recovery_edit.html", context)


@org_required(Perm.ISSUE)
@require_POST
def recovery_evidence_add(request, pk: int):
    application = _application_for(request, pk)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            stored = services.evidence_add(
                actor=request.user, application=application, uploads=form.uploads
            )
        except services.RecoveryError as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, _("已上传 %(n)s 个文件。") % {"n": len(stored)})
    else:
        _errors_to_messages(request, form)
    return redirect("recovery_detail", application.pk)


@org_required(Perm.ISSUE)
@require_POST
def recovery_evidence_remove(request, pk: int):
    evidence = selectors.evidence_for_org(organization=request.organization, pk=pk)
    if evidence is None:
        raise Http404("no such file")
    try:
        services.evidence_remove(actor=request.user, evidence=evidence)
    except services.RecoveryError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("已删除“%(name)s”。") % {"name": evidence.name})
    return redirect("recovery_detail", evidence.application_id)


@org_required(Perm.ISSUE)
@require_POST
def recovery_submit(request, pk: int):
    application = _application_for(request, pk)
    form = SubmitForm(request.POST)
    form.is_valid()
    try:
        services.recovery_submit(
            actor=request.user, application=application, note=form.cleaned_data.get("note", "")
        )
    except services.RecoveryError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("已提交审核，审核进展会通过站内消息和邮件通知您。"))
    return redirect("recovery_detail", application.pk)


@org_required(Perm.ISSUE)
@require_POST
def recovery_withdraw(request, pk: int):
    application = _application_for(request, pk)
    try:
        services.recovery_withdraw(actor=request.user, application=application)
    except services.RecoveryError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("已撤回补录申请 #%(pk)s。") % {"pk": application.pk})
    return redirect("recovery_detail", application.pk)


def _file_response(evidence: RecoveryEvidence, request) -> HttpResponse:
    """The stored file: as a download, or (`?preview=1`) its first page as a PNG image."""
    with evidence.file.open("rb") as stream:
        data = stream.read()
    if request.GET.get("preview"):
        kind = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpeg"}.get(
            evidence.content_type
        )
        with files.PDFIUM:
            png = files.preview_png(data, kind) if kind else None
        if png is None:
            raise Http404("no preview")
        response = HttpResponse(png, content_type="image/png")
    else:
        response = FileResponse(
            io.BytesIO(data),
            as_attachment=True,
            filename=files.safe_name(evidence.name),
            content_type=evidence.content_type or "application/octet-stream",
        )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@org_required(Perm.VIEW)
@require_GET
def recovery_evidence(request, pk: int):
    evidence = selectors.evidence_for_org(organization=request.organization, pk=pk)
    if evidence is None:
        raise Http404("no such file")
    return _file_response(evidence, request)


# --- staff: the review queue ---------------------------------------------------------------------


def _staff_application_for(request, pk: int) -> RecoveryApplication:
    return get_object_or_404(selectors.applications_for_staff(user=request.user), pk=pk)


@staff_required(StaffPerm.REVIEW_QUEUE)
@require_GET
def staff_recovery_queue(request):
    now = timezone.now()
    waiting_for_staff = selectors.review_queue()
    page = Paginator(waiting_for_staff, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    for application in page:
        application.remaining = sla.remaining_label(application.due_at, now)
    decided = (
        selectors.applications_for_staff(user=request.user)
        .filter(decided_by=request.user)
        .exclude(status__in=(RecoveryStatus.SUBMITTED, RecoveryStatus.MORE_INFO))
        .order_by("-decided_at")[:20]
    )
    context = {
        "queue": page.object_list,
        "page": page,
        "queue_count": page.paginator.count,
        "overdue": waiting_for_staff.filter(due_at__lt=now).count(),
        "waiting": selectors.waiting_for_applicants()[:50],
        "decided": decided,
        "sla_days": sla.REVIEW_WORKING_DAYS,
    }
    return render(request, "recovery/staff_queue.html", context)


def _file_checks(application: RecoveryApplication, evidence: list[RecoveryEvidence]) -> None:
    """For staff: what each invoice file (PDF, OFD, XML) says, beside what the applicant typed."""
    compared = (
        ("number", _("发票号码")),
        ("issue_date", _("开票日期")),
        ("total", _("价税合计")),
        ("seller_tax_id", _("销售方识别号")),
        ("buyer_tax_id", _("购买方识别号")),
    )
    for item in evidence:
        item.check = None
        if item.kind != EvidenceKind.INVOICE or item.content_type not in (
            "application/pdf",
            "application/ofd",
            "application/xml",
        ):
            continue
        with item.file.open("rb") as stream:
            data = stream.read()
        extraction = files.extract(data, item.name)[0]
        if not extraction.ok or not extraction.invoice:
            item.check = {"error": (extraction.error or {}).get("message", _("无法识别"))}
            continue
        read = extraction.invoice
        rows = []
        for key, label in compared:
            given = getattr(application, key)
            found = read.get(key)
            given_text = "" if given is None else str(given)
            found_text = "" if found in (None, "") else str(found)
            rows.append(
                {
                    "label": label,
                    "given": given_text,
                    "found": found_text,
                    "agrees": not found_text or given_text == found_text,
                }
            )
        item.check = {"rows": rows, "agrees": all(r["agrees"] for r in rows)}


@staff_required(StaffPerm.REVIEW_QUEUE)
@require_http_methods(["GET", "POST"])
def staff_recovery_detail(request, pk: int):
    application = _staff_application_for(request, pk)
    form = DecisionForm(request.POST) if request.method == "POST" else DecisionForm()
    if request.method == "POST" and form.is_valid():
        decision, message = form.cleaned_data["decision"], form.cleaned_data["message"]
        try:
            if decision == "approve":
                services.recovery_approve(
                    actor=request.user, application=application, message=message
                )
            elif decision == "reject":
                services.recovery_reject(
                    actor=request.user, application=application, reason=message
                )
            else:
                services.recovery_request_more(
                    actor=request.user, application=application, message=message
                )
        except services.RecoveryError as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request, _("补录申请 #%(pk)s 已处理，已通知申请人。") % {"pk": application.pk}
            )
            return redirect("staff_recovery_queue")
    evidence = list(application.evidence.all())
    _file_checks(application, evidence)
    context = {
        "a": application,
        "form": form,
        "evidence": evidence,
        "fields": _field_rows(application),
        "timeline": selectors.timeline(application),
        "remaining": sla.remaining_label(application.due_at, timezone.now()),
    }
    return render(request, "recovery/staff_detail.html", context)


@staff_required(StaffPerm.REVIEW_QUEUE)
@require_GET
def staff_recovery_evidence(request, pk: int):
    evidence = get_object_or_404(RecoveryEvidence.objects.select_related("application"), pk=pk)
    _staff_application_for(request, evidence.application_id)  # 404 unless theirs to see
    return _file_response(evidence, request)
