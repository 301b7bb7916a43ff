"""统计 pages: the organization's statistics with charts and tables, and their export."""

from decimal import Decimal

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_safe

from fapiao.accounts.permissions import Perm, org_required
from fapiao.core.templatetags.fapiao import money
from fapiao.stats import export
from fapiao.stats.forms import ExportForm, StatsFilterForm
from fapiao.stats.report import VIEWS, Percent, Table, stats_report
from fapiao.stats.selectors import stats_years
from fapiao.stats.services import stats_export

# The page's sections: the chosen period's view first, then the rest.
PAGE_VIEWS = ["sides", "comparison", "type", "rate", "party", "status"]


def _form(request) -> StatsFilterForm:
    today = timezone.localdate()
    years = stats_years(organization=request.organization, today=today)
    return StatsFilterForm(request.GET or None, years=years, today=today)


@require_safe
@org_required(Perm.VIEW)
def stats_home(request):
    form = _form(request)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("筛选条件有误，已忽略无效的条件，请检查后重试。"))
    selection = form.selection()
    report = stats_report(
        organization=request.organization,
        selection=selection,
        views={str(selection.period), *PAGE_VIEWS},
    )
    order = [str(selection.period), "sides", "comparison", "type", "rate"]
    order += [k for k in ("customers", "suppliers") if k in report.tables] + ["status"]
    sections = [_section(report.tables[key], request) for key in order]
    return render(
        request,
        "stats/home.html",
        {
            "form": form,
            "selection": selection,
            "report": report,
            "summary": report.summary,
            "sections": sections,
            "charts": {section["key"]: section["chart"] for section in sections},
            "controls": form.controls(selection),
            "xlsx_url": _export_url(request, format="xlsx"),
            "custom_range": selection.year is None,
        },
    )


HEADINGS = {
    "month": _lazy("按月统计"),
    "quarter": _lazy("按季度统计"),
    "year": _lazy("按年统计"),
    "sides": _lazy("开具与取得对比"),
    "comparison": _lazy("同比与环比"),
    "type": _lazy("按发票类型"),
    "rate": _lazy("按税率"),
    "customers": _lazy("主要客户（开具）"),
    "suppliers": _lazy("主要供应商（取得）"),
    "status": _lazy("按发票状态"),
}


def _export_url(request, **params) -> str:
    query = request.GET.copy()
    for key, value in params.items():
        query[key] = value
    return f"{reverse('stats_export')}?{query.urlencode()}"


def _section(table: Table, request) -> dict:
    """A table as the page shows it: each cell formatted (thousands separated, two places)."""
    csv_view = {"customers": "party", "suppliers": "party"}.get(table.key, table.key)
    return {
        "key": table.key,
        "heading": HEADINGS[table.key],
        "columns": [
            {**_heading(label), "num": i > 0 and not _is_text_column(table, i)}
            for i, label in enumerate(table.columns)
        ],
        "rows": [[_cell(value) for value in cells] for cells in table.rows],
        "footer": [_cell(value) for value in table.footer] if table.footer else None,
        "note": table.note,
        "chart": table.chart,
        "csv_url": _export_url(request, format="csv", view=csv_view),
        "wide": len(table.columns) > 7,
    }


def _heading(label: str) -> dict:
    """A column heading with its parenthesis on a second, smaller line: 本月 / 2026年11月."""
    main, _, rest = label.partition("（")
    return {"label": main, "sub": rest.removesuffix("）")}


def _is_text_column(table: Table, col: int) -> bool:
    return all(isinstance(cells[col], str) for cells in table.rows) if table.rows else col < 2


def _cell(value) -> dict:
    if value is None:
        return {"text": "", "css": "num"}
    if isinstance(value, Percent):
        if value.value is None:
            return {"text": "—", "css": "num muted"}
        if not value.change:
            return {"text": f"{value.value}%", "css": "num"}
        sign = "+" if value.value > 0 else ""
        css = "num up" if value.value > 0 else "num down" if value.value < 0 else "num"
        return {"text": f"{sign}{value.value}%", "css": css}
    if isinstance(value, int):
        return {"text": f"{value:,}", "css": "num"}
    if isinstance(value, Decimal):
        return {"text": money(value), "css": "num negative" if value < 0 else "num"}
    return {"text": value, "css": ""}


@require_safe
@org_required(Perm.VIEW)
def stats_export_view(request):
    form = _form(request)
    choice = ExportForm(request.GET)
    back = reverse("stats_home") + (f"?{request.GET.urlencode()}" if request.GET else "")
    if (form.is_bound and not form.is_valid()) or not choice.is_valid():
        messages.error(request, _("筛选条件有误，请检查后重试。"))
        return redirect(back)
    file_format = choice.cleaned_data["format"] or "xlsx"
    view = choice.cleaned_data["view"] or None
    if file_format == "csv" and view is None:
        messages.error(request, _("CSV 文件每次导出一个统计视图，请从该视图的表格下方导出。"))
        return redirect(back)
    selection = form.selection()
    content = stats_export(
        organization=request.organization,
        actor=request.user,
        selection=selection,
        file_format=file_format,
        view=view,
    )
    organization = request.organization
    day = timezone.localdate().strftime("%Y%m%d")
    if file_format == "csv":
        name = f"发票统计-{VIEWS[view]}-{organization.tax_id}-{day}.csv"
        response = HttpResponse(content, content_type=export.CSV)
    else:
        name = f"发票统计-{organization.tax_id}-{day}.xlsx"
        response = HttpResponse(content, content_type=export.XLSX)
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "no-store"
    return response
