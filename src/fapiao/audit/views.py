import json
import urllib.parse

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from fapiao.accounts.permissions import Perm, has_perm, org_required
from fapiao.audit.export import SHANGHAI
from fapiao.audit.forms import EventFilterForm
from fapiao.audit.selectors import events_for_organization, events_for_user
from fapiao.audit.services import audit_log_export

PAGE_SIZE = 50
EXPORT_MAX_ROWS = 200_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filter_form(request) -> EventFilterForm:
    form = EventFilterForm(request.GET or None, organization=request.organization)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("筛选条件有误，已忽略无效的条件，请检查后重试。"))
    return form


def _page(request, events):
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page:
        event.details_json = (
            json.dumps(event.details, ensure_ascii=False, indent=2, sort_keys=True)
            if event.details
            else ""
        )
    return page


@require_safe
@org_required(Perm.VIEW_AUDIT)
def audit_log(request):
    form = _filter_form(request)
    events = events_for_organization(organization=request.organization, **form.filters())
    return render(request, "audit/log.html", {"form": form, "page": _page(request, events)})


@require_safe
@org_required(Perm.VIEW_AUDIT)
def audit_export(request):
    organization = request.organization
    form = EventFilterForm(request.GET or None, organization=organization)
    back = reverse("audit_log") + (f"?{request.GET.urlencode()}" if request.GET else "")
    if form.is_bound and not form.is_valid():
        return redirect(back)  # the log page says what is wrong
    filters = form.filters()
    if events_for_organization(organization=organization, **filters).count() > EXPORT_MAX_ROWS:
        messages.error(
            request,
            _("符合条件的记录超过 %(limit)s 条，请缩小日期范围后分批导出。")
            % {"limit": EXPORT_MAX_ROWS},
        )
        return redirect(back)
    content = audit_log_export(
        organization=organization,
        actor=request.user,
        filters=filters,
        filter_summary=form.summary(),
    )
    day = timezone.now().astimezone(SHANGHAI).strftime("%Y%m%d")
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = _attachment(
        f"操作记录-{organization.tax_id}-{day}.xlsx", f"audit-{organization.tax_id}-{day}.xlsx"
    )
    response["Cache-Control"] = "no-store"
    return response


@require_safe
@login_required
def audit_mine(request):
    events = events_for_user(user=request.user)
    return render(
        request,
        "audit/mine.html",
        {
            "page": _page(request, events),
            "may_view_log": has_perm(request.user, request.organization, Perm.VIEW_AUDIT),
        },
    )


def _attachment(filename: str, fallback: str) -> str:
    """RFC 6266: an ASCII name for old clients and the UTF-8 name (RFC 5987) for the rest."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(filename)}"
