"""The finder page (发票查找): a form of whatever the user has, or an invoice file, and the answer:
the invoice, or why it is not there and what to do."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from fapiao.accounts.permissions import Perm, org_required
from fapiao.finder import diagnosis
from fapiao.finder.forms import FinderFileForm, FinderForm, fields_from_extraction
from fapiao.invoices.models import InvoiceStatus
from fapiao.rules import types
from fapiao.verification import files

FIELDS = ("number", "code", "date", "amount", "basis", "party")


@org_required(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def finder(request):
    file_form = FinderFileForm()
    file_error = None
    data = {k: request.GET[k] for k in FIELDS if k in request.GET}
    if request.method == "POST":
        file_form = FinderFileForm(request.POST, request.FILES)
        data = {}
        if file_form.is_valid():
            extraction = files.extract(file_form.upload.data, file_form.upload.name)[0]
            if extraction.ok and extraction.invoice:
                data = fields_from_extraction(extraction.invoice)
            else:
                file_error = (extraction.error or {}).get("message") or _("无法读取这个文件")
    form = FinderForm(data or None)
    organization = request.organization
    result = None
    if form.is_bound and form.is_valid():
        result = diagnosis.invoice_find(organization=request.organization, query=form.query())
    context = {
        "form": form,
        "file_form": file_form,
        "file_error": file_error,
        "from_file": request.method == "POST" and bool(data),
        "accept": files.ACCEPT_ATTRIBUTE,
        "result": result,
        "invoice": _invoice_view(result.invoice, organization)
        if result and result.invoice
        else None,
        "diagnoses": [_diagnosis_view(d, organization) for d in result.diagnoses] if result else [],
        "patterns": diagnosis.PATTERN_LABELS,
    }
    return render(request, "finder/finder.html", context)


def _invoice_view(invoice, organization) -> dict:
    kind = types.lookup("qr", invoice.type_code)
    return {
        "invoice": invoice,
        "identity": f"{invoice.code} {invoice.number}" if invoice.code else invoice.number,
        "type_name": kind.name if kind else invoice.type_code,
        "status_label": InvoiceStatus(invoice.status).label,
        "url": diagnosis.invoice_url(invoice),
        "red": _red_view(invoice, organization),
    }


def _red_view(invoice, organization) -> dict | None:
    """A red invoice, and the blue one it offsets when the organization may see it (one read by
    primary key, only for red invoices)."""
    if not invoice.is_red:
        return None
    blue = invoice.original if invoice.original_id else None
    if blue is None or organization.pk not in (blue.seller_org_id, blue.buyer_org_id):
        return {"blue_number": "", "blue_url": ""}
    return {"blue_number": blue.number, "blue_url": diagnosis.invoice_url(blue)}


def _diagnosis_view(found: diagnosis.Diagnosis, organization) -> dict:
    # A proposal's line of evidence is its row in the table: not said twice.
    shown = tuple(diagnosis.about_prefix(p.invoice.number) for p in found.proposals)
    return {
        "code": found.code,
        "message": found.message,
        "evidence": [line for line in found.evidence if not shown or not line.startswith(shown)],
        "steps": found.steps,
        "proposals": [
            {
                **_invoice_view(p.invoice, organization),
                "pattern": diagnosis.PATTERN_LABELS.get(p.pattern, ""),
                "explanation": p.explanation,
                "agrees": p.agrees,
                "agrees_text": diagnosis.listed(p.agrees),
            }
            for p in found.proposals
        ],
        "likely": found.score >= 90,
    }
