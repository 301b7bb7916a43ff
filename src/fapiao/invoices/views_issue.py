"""The issuing pages (开具): catalogue and buyer directory, drafts and review, the invoice page with
its documents and timeline, and red-letter requests (红字确认单).

Every lookup is scoped to request.organization: another organization's object is a 404. Writes
go through `fapiao.invoices.services`, which check the rules and record the operation log.
"""

import json
import re
import urllib.parse
from collections import defaultdict
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fapiao.accounts.models import Organization
from fapiao.accounts.permissions import Perm, org_required, perms_of
from fapiao.audit.models import Event
from fapiao.invoices import services
from fapiao.invoices.forms import (
    RATE_CHOICES,
    BuyerForm,
    DraftForm,
    ItemForm,
    LineRow,
    RedLetterForm,
    RejectForm,
    errors_by_field,
    line_rows_from_draft,
    line_rows_from_post,
    lines_compute,
    plain,
    price_including_tax,
    rate_choice,
)
from fapiao.invoices.models import (
    Buyer,
    Draft,
    DraftState,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    RedLetterRequest,
    RedLetterStatus,
)
from fapiao.invoices.selectors import invoices_visible_to
from fapiao.invoices.services import InvoiceError
from fapiao.rules import RulesError, rmb, tax, types, uscc

SUGGESTIONS = 10
PENDING = (RedLetterStatus.AWAITING_BUYER, RedLetterStatus.AWAITING_SELLER)
_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\s]+')


# --- scoping -------------------------------------------------------------------------------


def _invoice_for(request, pk: int) -> Invoice:
    visible = invoices_visible_to(organization=request.organization)
    return get_object_or_404(visible.select_related("seller_org", "buyer_org", "original"), pk=pk)


def _draft_for(request, pk: int, **filters) -> Draft:
    drafts = Draft.objects.filter(organization=request.organization, **filters)
    return get_object_or_404(drafts.select_related("organization"), pk=pk)


def _red_letters_visible_to(organization: Organization):
    return RedLetterRequest.objects.filter(
        Q(blue__seller_org=organization) | Q(blue__buyer_org=organization)
    ).select_related("blue", "initiator", "red_invoice", "created_by", "decided_by")


def _counterparty_id(request: RedLetterRequest) -> int | None:
    blue = request.blue
    return blue.buyer_org_id if request.initiator_id == blue.seller_org_id else blue.seller_org_id


def _fail(request, error: InvoiceError) -> None:
    for message in error.messages:
        messages.error(request, message)


# --- catalogue (商品和服务) ----------------------------------------------------------------


@org_required(Perm.VIEW)
@require_GET
def item_list(request):
    q = request.GET.get("q", "").strip()
    items = Item.objects.filter(organization=request.organization)
    if q:
        items = items.filter(
            Q(name__icontains=q) | Q(category__icontains=q) | Q(tax_code__startswith=q)
        )
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    for item in page:
        item.rate_label = rate_choice(item.rate, item.exemption)
        item.price_text = plain(item.unit_price)
    return render(
        request,
        "invoices/item_list.html",
        {"page": page, "q": q, "may_write": _may(request, Perm.ISSUE)},
    )


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def item_new(request):
    return _item_form(request, Item())


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def item_edit(request, pk: int):
    item = get_object_or_404(Item, organization=request.organization, pk=pk)
    return _item_form(request, item)


def _item_form(request, item: Item):
    form = ItemForm(request.POST or None, instance=item, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        saved = services.directory_save(
            actor=request.user, organization=request.organization, entry=form.save(commit=False)
        )
        messages.success(request, _("已保存 %(name)s。") % {"name": saved.line_name})
        return redirect("item_list")
    return render(request, "invoices/item_form.html", {"form": form, "item": item})


@org_required(Perm.ISSUE)
@require_POST
def item_delete(request, pk: int):
    item = get_object_or_404(Item, organization=request.organization, pk=pk)
    services.directory_delete(actor=request.user, organization=request.organization, entry=item)
    messages.success(request, _("已从目录删除 %(name)s。") % {"name": item.line_name})
    return redirect("item_list")


@org_required(Perm.VIEW)
@require_GET
def item_search(request):
    """HTMX type-ahead: catalogue items whose category or name contains what was typed
    (`*信息技术*软件` searches both parts); the first ten when nothing was typed."""
    q = (request.GET.get("q") or request.GET.get("line_name") or "").strip()
    items = Item.objects.filter(organization=request.organization)
    for term in [t.strip() for t in q.split("*") if t.strip()]:
        items = items.filter(Q(name__icontains=term) | Q(category__icontains=term))
    suggestions = []
    for item in items[:SUGGESTIONS]:
        rate = rate_choice(item.rate, item.exemption)
        fill = {
            "line_name": item.line_name,
            "line_tax_code": item.tax_code,
            "line_spec": item.spec,
            "line_unit": item.unit,
            "line_rate": rate,
            "line_item_id": str(item.pk),
            "price": plain(item.unit_price),
            "price_incl": plain(price_including_tax(item.unit_price, item.rate)),
        }
        suggestions.append({"item": item, "rate": rate, "fill": json.dumps(fill)})
    return render(request, "invoices/_item_suggestions.html", {"suggestions": suggestions, "q": q})


# --- buyer directory (抬头) ----------------------------------------------------------------


@org_required(Perm.VIEW)
@require_GET
def buyer_list(request):
    q = request.GET.get("q", "").strip()
    buyers = _buyers_matching(request.organization, q)
    page = Paginator(buyers, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "invoices/buyer_list.html",
        {"page": page, "q": q, "may_write": _may(request, Perm.ISSUE)},
    )


def _buyers_matching(organization: Organization, q: str):
    buyers = Buyer.objects.filter(organization=organization)
    if q:
        buyers = buyers.filter(Q(name__icontains=q) | Q(tax_id__startswith=q.upper()))
    return buyers


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def buyer_new(request):
    return _buyer_form(request, Buyer())


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def buyer_edit(request, pk: int):
    buyer = get_object_or_404(Buyer, organization=request.organization, pk=pk)
    return _buyer_form(request, buyer)


def _buyer_form(request, buyer: Buyer):
    form = BuyerForm(request.POST or None, instance=buyer, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        saved = services.directory_save(
            actor=request.user, organization=request.organization, entry=form.save(commit=False)
        )
        messages.success(request, _("已保存购买方 %(name)s。") % {"name": saved.name})
        if form.tax_id_warning:
            messages.warning(
                request,
                _("%(tax_id)s：%(warning)s")
                % {"tax_id": saved.tax_id, "warning": form.tax_id_warning},
            )
        return redirect("buyer_list")
    raw = (form.data.get("tax_id") or buyer.tax_id or "").strip()
    context = {"form": form, "buyer": buyer, **_tax_id_verdict(raw)}
    return render(request, "invoices/buyer_form.html", context)


@org_required(Perm.ISSUE)
@require_POST
def buyer_delete(request, pk: int):
    buyer = get_object_or_404(Buyer, organization=request.organization, pk=pk)
    services.directory_delete(actor=request.user, organization=request.organization, entry=buyer)
    messages.success(request, _("已从目录删除购买方 %(name)s。") % {"name": buyer.name})
    return redirect("buyer_list")


@org_required(Perm.VIEW)
@require_GET
def buyer_search(request):
    """HTMX type-ahead: buyers whose name contains, or whose tax ID starts with, what was typed."""
    q = (
        request.GET.get("q") or request.GET.get("buyer_name") or request.GET.get("buyer_tax_id")
    ) or ""
    suggestions = []
    for buyer in _buyers_matching(request.organization, q.strip())[:SUGGESTIONS]:
        fill = {
            f"buyer_{name}": getattr(buyer, name)
            for name in ("name", "tax_id", "address", "phone", "bank_name", "bank_account")
        }
        fill["buyer_email"] = buyer.email
        suggestions.append({"buyer": buyer, "fill": json.dumps(fill)})
    return render(request, "invoices/_buyer_suggestions.html", {"suggestions": suggestions, "q": q})


@org_required(Perm.VIEW)
@require_GET
def buyer_tax_id_check(request):
    """HTMX: the verdict on a buyer's tax ID while it is typed."""
    raw = (request.GET.get("tax_id") or request.GET.get("buyer_tax_id") or "").strip()
    return render(request, "invoices/_tax_id_check.html", _tax_id_verdict(raw))


def _tax_id_verdict(raw: str) -> dict:
    check = uscc.check(raw) if raw else None
    on_platform = None
    if check is not None and check.well_formed:
        on_platform = Organization.objects.filter(tax_id=check.normalized).only("name").first()
    return {"check": check, "on_platform": on_platform}


# --- drafts --------------------------------------------------------------------------------


@org_required(Perm.VIEW)
@require_GET
def draft_list(request):
    organization = request.organization
    drafts = (
        Draft.objects.filter(organization=organization)
        .select_related("created_by", "submitted_by", "reviewed_by", "issued_invoice")
        .annotate(
            amount_sum=Sum("lines__amount"), tax_sum=Sum("lines__tax"), line_count=Count("lines")
        )
    )
    for_review = drafts.filter(state=DraftState.SUBMITTED, is_template=False).order_by(
        "submitted_at"
    )
    context = {
        "for_review": list(for_review),
        "drafts": list(drafts.filter(state=DraftState.DRAFT, is_template=False)),
        "templates": list(drafts.filter(is_template=True).order_by("template_name")),
        "issued": list(drafts.filter(state=DraftState.ISSUED).order_by("-updated_at")[:10]),
        "red_letters_waiting": _red_letters_waiting_for(organization).count(),
        "perms": perms_of(request.user, organization),
        "reject_form": RejectForm(),
    }
    for draft in (*context["for_review"], *context["drafts"], *context["templates"]):
        draft.total_sum = (draft.amount_sum or Decimal(0)) + (draft.tax_sum or Decimal(0))
    return render(request, "invoices/draft_list.html", context)


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def draft_new(request):
    return _draft_form(request, None)


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def draft_edit(request, pk: int):
    draft = _draft_for(request, pk)
    if draft.state != DraftState.DRAFT:
        return redirect("draft_detail", pk=draft.pk)
    return _draft_form(request, draft)


def _draft_form(request, draft: Draft | None):
    organization = request.organization
    field_errors: dict[str, list[str]] = {}
    if request.method == "GET":
        form = DraftForm.for_draft(draft) if draft else DraftForm()
        rows = line_rows_from_draft(draft) if draft else []
        result = lines_compute(rows) if rows else None
        return _draft_form_page(request, draft, form, rows or [LineRow()], result, field_errors)

    form = DraftForm(request.POST)
    rows = line_rows_from_post(request.POST, organization)
    result = lines_compute(rows)
    action = request.POST.get("action", "save")
    if not form.is_valid():
        return _draft_form_page(request, draft, form, rows, result, field_errors)
    if not result.ok:
        # The lines are wrong already: still tell what is wrong with the buyer.
        for problem in services.buyer_check(
            type_code=form.cleaned_data["type_code"],
            name=form.cleaned_data["buyer_name"],
            tax_id=form.cleaned_data["buyer_tax_id"],
        ):
            field_errors.setdefault(problem.field or "__all__", []).append(problem.message)
        return _draft_form_page(request, draft, form, rows, result, field_errors)
    try:
        draft = services.draft_save(
            actor=request.user,
            organization=organization,
            draft=draft,
            type_code=form.cleaned_data["type_code"],
            buyer=form.buyer(),
            lines=result.service_lines,
            remarks=form.cleaned_data["remarks"],
            prices_include_tax=result.prices_include_tax,
        )
    except InvoiceError as error:
        field_errors = errors_by_field(error, rows)
        return _draft_form_page(request, draft, form, rows, result, field_errors)

    if action == "submit":
        try:
            outcome = services.draft_submit(actor=request.user, draft=draft)
        except InvoiceError as error:
            _fail(request, error)
            return redirect("draft_edit", pk=draft.pk)
        if isinstance(outcome, Invoice):
            messages.success(
                request, _("发票已开具，号码 %(number)s。") % {"number": outcome.number}
            )
            return redirect("invoice_detail", pk=outcome.pk)
        messages.success(request, _("草稿已保存并提交审核。"))
        return redirect("draft_detail", pk=draft.pk)
    if action == "template":
        try:
            template = services.draft_save_template(
                actor=request.user, draft=draft, name=form.cleaned_data["template_name"]
            )
        except InvoiceError as error:
            _fail(request, error)
        else:
            messages.success(
                request,
                _("草稿已保存，并另存为模板“%(name)s”。") % {"name": template.template_name},
            )
        return redirect("draft_edit", pk=draft.pk)
    messages.success(request, _("草稿已保存。"))
    return redirect("draft_edit", pk=draft.pk)


_FORM_FIELDS = set(DraftForm.base_fields)
_BUYER_EXTRA = ("address", "phone", "bank_name", "bank_account", "email")


def _draft_form_page(request, draft, form, rows, result, field_errors):
    for name, errors in field_errors.items():
        for message in errors:
            form.add_error(name if name in _FORM_FIELDS else None, message)
    for index, row in enumerate(rows):
        row.index = index
    organization = request.organization
    context = {
        "draft": draft,
        "form": form,
        "buyer_fields": [form[f"buyer_{name}"] for name in _BUYER_EXTRA],
        "rows": rows,
        "rate_choices": RATE_CHOICES,
        "seller": organization,
        "issues_directly": not organization.issue_requires_review,
        "is_template": bool(draft and draft.is_template),
        **_totals_context(result),
        **_tax_id_verdict((form.data or form.initial).get("buyer_tax_id", "").strip()),
    }
    return render(request, "invoices/draft_form.html", context)


def _totals_context(result) -> dict:
    totals = result.totals if result else None
    capital, capital_error = "", ""
    if totals is not None:
        try:
            capital = rmb.capital(totals.total)
        except RulesError as error:
            capital_error = error.problem.message
    return {
        "totals": totals,
        "capital": capital,
        "capital_error": capital_error,
        "general_errors": result.general if result else [],
        "rows_with_errors": sum(1 for row in result.rows if row.errors) if result else 0,
    }


@org_required(Perm.ISSUE)
@require_POST
def draft_preview(request):
    """HTMX, as the issuer types: totals, tax and 大写 of the lines, each line's computed amount
    and tax, and every rule's problem on its field (out-of-band into the rows)."""
    rows = line_rows_from_post(request.POST, request.organization)
    for index, row in enumerate(rows):
        row.index = index
    result = lines_compute(rows)
    context = {
        "rows": rows,
        **_totals_context(result),
        **_tax_id_verdict(request.POST.get("buyer_tax_id", "").strip()),
    }
    return render(request, "invoices/_draft_preview.html", context)


@org_required(Perm.ISSUE)
@require_GET
def draft_line_row(request):
    """HTMX: one more empty line row (the page's script numbers it)."""
    row = LineRow(inclusive=request.GET.get("mode") == "incl")
    return render(
        request, "invoices/_draft_line_row.html", {"row": row, "rate_choices": RATE_CHOICES}
    )


@org_required(Perm.VIEW)
@require_GET
def draft_detail(request, pk: int):
    draft = _draft_for(request, pk)
    if draft.state == DraftState.ISSUED and draft.issued_invoice_id:
        return redirect("invoice_detail", pk=draft.issued_invoice_id)
    return _draft_detail_page(request, draft, RejectForm())


def _draft_detail_page(request, draft: Draft, reject_form: RejectForm, status: int = 200):
    perms = perms_of(request.user, request.organization)
    context = {
        "draft": draft,
        "sheet": _draft_sheet(draft),
        "may_review": Perm.REVIEW in perms and draft.state == DraftState.SUBMITTED,
        "own_submission": draft.submitted_by_id == request.user.pk,
        "may_edit": Perm.ISSUE in perms and draft.state == DraftState.DRAFT,
        "reject_form": reject_form,
    }
    return render(request, "invoices/draft_detail.html", context, status=status)


@org_required(Perm.REVIEW)
@require_POST
def draft_approve(request, pk: int):
    draft = _draft_for(request, pk, is_template=False)
    try:
        invoice = services.draft_approve(actor=request.user, draft=draft)
    except InvoiceError as error:
        _fail(request, error)
        return redirect("draft_detail", pk=draft.pk)
    messages.success(
        request, _("审核通过，发票已开具，号码 %(number)s。") % {"number": invoice.number}
    )
    return redirect("invoice_detail", pk=invoice.pk)


@org_required(Perm.REVIEW)
@require_POST
def draft_reject(request, pk: int):
    draft = _draft_for(request, pk, is_template=False)
    form = RejectForm(request.POST)
    if not form.is_valid():
        return _draft_detail_page(request, draft, form)
    try:
        services.draft_reject(actor=request.user, draft=draft, reason=form.cleaned_data["reason"])
    except InvoiceError as error:
        _fail(request, error)
        return redirect("draft_detail", pk=draft.pk)
    messages.success(request, _("已退回开票员修改。"))
    return redirect("draft_list")


@org_required(Perm.ISSUE)
@require_POST
def template_use(request, pk: int):
    template = _draft_for(request, pk, is_template=True)
    draft = services.draft_from_template(actor=request.user, template=template)
    messages.success(request, _("已按模板“%(name)s”新建草稿。") % {"name": template.template_name})
    return redirect("draft_edit", pk=draft.pk)


# --- the invoice page ----------------------------------------------------------------------


@org_required(Perm.VIEW)
@require_GET
def invoice_detail(request, pk: int):
    invoice = _invoice_for(request, pk)
    organization = request.organization
    perms = perms_of(request.user, organization)
    kind = types.lookup(types.Channel.QR, invoice.type_code)
    is_seller = invoice.seller_org_id == organization.pk
    requests = list(
        RedLetterRequest.objects.filter(blue=invoice).select_related("red_invoice", "initiator")
    )
    pending = [r for r in requests if r.status in PENDING]
    may_issue = Perm.ISSUE in perms
    context = {
        "invoice": invoice,
        "sheet": _invoice_sheet(invoice),
        "kind": kind,
        "is_seller": is_seller,
        "red_invoices": list(invoice.red_invoices.order_by("issue_date", "id")),
        "red_requests": requests,
        "own_red_request": RedLetterRequest.objects.filter(red_invoice=invoice).first(),
        "may_copy": may_issue and is_seller and not invoice.is_red,
        "may_void": (
            may_issue
            and is_seller
            and kind is not None
            and kind.is_paper
            and invoice.status == InvoiceStatus.NORMAL
        ),
        "may_red_letter": (
            may_issue
            and not invoice.is_red
            and not (kind is not None and kind.is_paper)
            and invoice.status in (InvoiceStatus.NORMAL, InvoiceStatus.PARTLY_RED)
            and not pending
        ),
        "pending_request": pending[0] if pending else None,
        "timeline": _timeline(invoice, organization, requests),
    }
    return render(request, "invoices/invoice_detail.html", context)


def _timeline(invoice: Invoice, organization: Organization, requests) -> list[Event]:
    """The invoice's history from the operation log, as far as it is the organization's own:
    its draft (saved, submitted, returned), issue, email, red letters and void."""
    keys = Q(object_type="invoice", object_id=str(invoice.pk))
    request_ids = [str(r.pk) for r in requests]
    own = RedLetterRequest.objects.filter(red_invoice=invoice).values_list("pk", flat=True)
    request_ids += [str(pk) for pk in own]
    if request_ids:
        keys |= Q(object_type="redletterrequest", object_id__in=request_ids)
    draft_id = (
        Draft.objects.filter(issued_invoice=invoice, organization=organization)
        .values_list("pk", flat=True)
        .first()
    )
    if draft_id is not None:
        keys |= Q(object_type="draft", object_id=str(draft_id))
    return list(
        Event.objects.filter(organization=organization)
        .filter(keys)
        .select_related("actor")
        .order_by("created_at", "id")
    )


def _download_name(invoice: Invoice, extension: str) -> tuple[str, str]:
    """dzfp_<number>_<buyer>_<yyyyMMddHHmmss>.<ext>, as the tax bureau names its files, and an
    ASCII fallback without the buyer's name."""
    if invoice.issued_at is not None:
        moment = timezone.localtime(invoice.issued_at)
        stamp = moment.strftime("%Y%m%d%H%M%S")
    else:
        stamp = invoice.issue_date.strftime("%Y%m%d") + "000000"
    number = f"{invoice.code}{invoice.number}"
    buyer = _UNSAFE_FILENAME.sub("_", invoice.buyer_name).strip("_") or "buyer"
    return f"dzfp_{number}_{buyer}_{stamp}.{extension}", f"dzfp_{number}_{stamp}.{extension}"


def _attachment(content: bytes, invoice: Invoice, extension: str, content_type: str):
    name, fallback = _download_name(invoice, extension)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name)}"
    )
    return response


@org_required(Perm.VIEW)
@require_GET
def invoice_pdf(request, pk: int):
    from fapiao.invoices.documents import invoice_pdf as render_pdf

    invoice = _invoice_for(request, pk)
    return _attachment(render_pdf(invoice), invoice, "pdf", "application/pdf")


@org_required(Perm.VIEW)
@require_GET
def invoice_xml(request, pk: int):
    from fapiao.invoices.documents import invoice_xml as render_xml

    invoice = _invoice_for(request, pk)
    return _attachment(render_xml(invoice), invoice, "xml", "application/xml")


@org_required(Perm.ISSUE)
@require_POST
def invoice_copy(request, pk: int):
    invoice = _invoice_for(request, pk)
    try:
        draft = services.draft_from_invoice(
            actor=request.user, organization=request.organization, invoice=invoice
        )
    except InvoiceError as error:
        _fail(request, error)
        return redirect("invoice_detail", pk=invoice.pk)
    messages.success(request, _("已复制发票 %(number)s 为新草稿。") % {"number": invoice.number})
    return redirect("draft_edit", pk=draft.pk)


@org_required(Perm.ISSUE)
@require_POST
def invoice_void(request, pk: int):
    invoice = _invoice_for(request, pk)
    try:
        services.invoice_void(
            actor=request.user, organization=request.organization, invoice=invoice
        )
    except InvoiceError as error:
        _fail(request, error)
    else:
        messages.success(request, _("发票 %(number)s 已作废。") % {"number": invoice.number})
    return redirect("invoice_detail", pk=invoice.pk)


# --- red letters (红字确认单) ---------------------------------------------------------------


@org_required(Perm.ISSUE)
@require_http_methods(["GET", "POST"])
def red_letter_new(request, pk: int):
    blue = _invoice_for(request, pk)
    lines = _red_letter_lines(blue)
    positions = [line["position"] for line in lines]
    form = RedLetterForm(request.POST or None, positions=positions)
    line_errors: dict[int, list[str]] = {}
    if request.method == "POST" and form.is_valid():
        try:
            red_request = services.red_letter_request_create(
                actor=request.user,
                organization=request.organization,
                blue=blue,
                reason=form.cleaned_data["reason"],
                line_amounts=form.line_amounts(),
            )
        except InvoiceError as error:
            for problem in error.problems:
                match = re.match(r"^lines\[(\d+)\]$", problem.field or "")
                if match:
                    line_errors.setdefault(int(match.group(1)), []).append(problem.message)
                elif problem.field == "reason":
                    form.add_error("reason", problem.message)
                else:
                    form.add_error(None, problem.message)
        else:
            if red_request.red_invoice_id:
                number = red_request.red_invoice.number
                messages.success(
                    request,
                    _("红字发票 %(number)s 已开具（购买方不在平台，无需确认）。")
                    % {"number": number},
                )
            else:
                messages.success(request, _("红字确认单已提交，等待对方在 72 小时内确认。"))
            return redirect("red_letter_detail", pk=red_request.pk)
    for line in lines:
        line["field"] = form[f"line_{line['position']}"]
        line["errors"] = line_errors.get(line["position"], [])
    context = {"blue": blue, "form": form, "lines": lines, "sheet": _invoice_sheet(blue)}
    return render(request, "invoices/red_letter_form.html", context)


def _red_letter_lines(blue: Invoice) -> list[dict]:
    """Each line of the blue invoice with what red invoices already reversed and what is left."""
    reversed_by_line: dict[int, Decimal] = defaultdict(Decimal)
    for red_line in InvoiceLine.objects.filter(invoice__original=blue):
        reversed_by_line[red_line.position] -= red_line.amount
    return [
        {
            "position": line.position,
            "name": line.name,
            "amount": line.amount,
            "tax": line.tax,
            "rate": _rate_label(line.rate, line.exemption),
            "reversed": reversed_by_line[line.position],
            "left": line.amount - reversed_by_line[line.position],
        }
        for line in blue.lines.all()
    ]


@org_required(Perm.VIEW)
@require_GET
def red_letter_detail(request, pk: int):
    red_request = get_object_or_404(_red_letters_visible_to(request.organization), pk=pk)
    organization = request.organization
    may_act = Perm.ISSUE in perms_of(request.user, organization)
    pending = red_request.status in PENDING
    now = timezone.now()
    remaining = None
    if pending and red_request.deadline:
        remaining = max(int((red_request.deadline - now).total_seconds()), 0)
    by_position = {line.position: line for line in red_request.blue.lines.all()}
    lines = []
    for plan in red_request.lines:
        line = by_position.get(plan["position"])
        amount, line_tax = Decimal(plan["amount"]), Decimal(plan["tax"])
        lines.append(
            {
                "position": plan["position"],
                "name": line.name if line else "",
                "rate": _rate_label(line.rate, line.exemption) if line else "",
                "amount": amount,
                "tax": line_tax,
                "total": amount + line_tax,
            }
        )
    context = {
        "red_request": red_request,
        "blue": red_request.blue,
        "lines": lines,
        "pending": pending,
        "remaining": remaining,
        "remaining_text": _duration(remaining) if remaining is not None else "",
        "is_initiator": red_request.initiator_id == organization.pk,
        "may_decide": may_act and pending and _counterparty_id(red_request) == organization.pk,
        "may_withdraw": may_act and pending and red_request.initiator_id == organization.pk,
    }
    return render(request, "invoices/red_letter_detail.html", context)


def _duration(seconds: int) -> str:
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    return _("%(hours)s 小时 %(minutes)s 分") % {"hours": hours, "minutes": minutes}


def _red_letter_action(request, pk: int, action, done: str):
    red_request = get_object_or_404(_red_letters_visible_to(request.organization), pk=pk)
    try:
        outcome = action(actor=request.user, organization=request.organization, request=red_request)
    except InvoiceError as error:
        _fail(request, error)
    else:
        if isinstance(outcome, Invoice):
            done = _("%(done)s红字发票 %(number)s 已开具。") % {
                "done": done,
                "number": outcome.number,
            }
        messages.success(request, done)
    return redirect("red_letter_detail", pk=red_request.pk)


@org_required(Perm.ISSUE)
@require_POST
def red_letter_confirm(request, pk: int):
    return _red_letter_action(request, pk, services.red_letter_confirm, _("已确认红字确认单。"))


@org_required(Perm.ISSUE)
@require_POST
def red_letter_refuse(request, pk: int):
    return _red_letter_action(request, pk, services.red_letter_refuse, _("已拒绝红字确认单。"))


@org_required(Perm.ISSUE)
@require_POST
def red_letter_withdraw(request, pk: int):
    return _red_letter_action(request, pk, services.red_letter_withdraw, _("已撤销红字确认单。"))


def _red_letters_waiting_for(organization: Organization):
    """Requests the organization is asked to confirm."""
    return (
        _red_letters_visible_to(organization)
        .filter(status__in=PENDING)
        .exclude(initiator=organization)
    )


@org_required(Perm.VIEW)
@require_GET
def red_letter_list(request):
    organization = request.organization
    visible = _red_letters_visible_to(organization)
    context = {
        "to_confirm": list(_red_letters_waiting_for(organization).order_by("deadline")),
        "sent": list(
            visible.filter(status__in=PENDING, initiator=organization).order_by("deadline")
        ),
        "closed": list(visible.exclude(status__in=PENDING).order_by("-created_at")[:30]),
    }
    return render(request, "invoices/red_letter_list.html", context)


# --- the invoice laid out like the invoice -------------------------------------------------


def _may(request, perm: Perm) -> bool:
    return perm in perms_of(request.user, request.organization)


def _rate_label(rate: Decimal, exemption: str) -> str:
    try:
        flag = tax.TaxExemption(exemption or tax.TaxExemption.NONE)
    except ValueError:
        return exemption or tax.percent(rate)
    return tax.rate_label(rate, flag)


def _sheet_line(line) -> dict:
    return {
        "position": line.position,
        "name": line.name,
        "tax_code": line.tax_code,
        "spec": line.spec,
        "unit": line.unit,
        "quantity": plain(line.quantity),
        "unit_price": plain(line.unit_price),
        "amount": line.amount,
        "rate": _rate_label(line.rate, line.exemption),
        "tax": line.tax,
    }


def _party(prefix: str, source) -> dict:
    return {
        name: getattr(source, f"{prefix}{name}")
        for name in ("name", "tax_id", "address", "phone", "bank_name", "bank_account")
    }


def _capital(total: Decimal) -> str:
    try:
        return rmb.capital(total)
    except RulesError as error:
        return error.problem.message


def _invoice_sheet(invoice: Invoice) -> dict:
    lines = [_sheet_line(line) for line in invoice.lines.all()]
    return {
        "title": types.name(types.Channel.QR, invoice.type_code) or _("发票"),
        "code": invoice.code,
        "number": invoice.number,
        "issue_date": invoice.issue_date,
        "buyer": _party("buyer_", invoice),
        "seller": _party("seller_", invoice),
        "lines": lines,
        "amount": invoice.amount,
        "tax": invoice.tax,
        "total": invoice.total,
        "capital": _capital(invoice.total),
        "remarks": invoice.remarks,
        "drawer": invoice.drawer,
        "reviewer": invoice.reviewer_name,
        "is_red": invoice.is_red,
    }


def _draft_sheet(draft: Draft) -> dict:
    lines = list(draft.lines.all())
    amount = sum((line.amount for line in lines), Decimal("0.00"))
    tax_sum = sum((line.tax for line in lines), Decimal("0.00"))
    seller = draft.organization
    return {
        "title": types.name(types.Channel.QR, draft.type_code) or _("发票"),
        "code": "",
        "number": "",
        "issue_date": None,
        "buyer": _party("buyer_", draft),
        "seller": _party("", seller),
        "lines": [_sheet_line(line) for line in lines],
        "amount": amount,
        "tax": tax_sum,
        "total": amount + tax_sum,
        "capital": _capital(amount + tax_sum),
        "remarks": draft.remarks,
        "drawer": (draft.submitted_by or draft.created_by).name,
        "reviewer": "",
        "is_red": False,
    }


@org_required(Perm.ISSUE)
@require_POST
def draft_delete(request, pk: int):
    draft = get_object_or_404(Draft, organization=request.organization, pk=pk)
    try:
        services.draft_delete(actor=request.user, draft=draft)
    except services.InvoiceError as error:
        messages.error(request, error.messages[0])
        return redirect("draft_detail", pk=draft.pk)
    messages.success(request, _("已删除。"))
    return redirect("draft_list")
