import time

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from fapiao.accounts.permissions import StaffPerm, staff_required
from fapiao.invoices.selectors import dashboard_summary


@require_safe
def home(request):
    organization = request.organization
    if organization is None:
        return render(request, "core/welcome.html")
    summary = dashboard_summary(organization=organization, today=timezone.localdate())
    return render(request, "core/dashboard.html", {"summary": summary})


@require_safe
def help_page(request):
    return render(request, "core/help.html")


@never_cache
@require_safe
def health(request):
    """Liveness and readiness for load balancers: 200 when the database answers, else 503."""
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse(
            {"status": "error", "database": {"ok": False, "error": exc.__class__.__name__}},
            status=503,
        )
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    return JsonResponse(
        {
            "status": "ok",
            "database": {"ok": True, "vendor": connection.vendor, "latency_ms": elapsed_ms},
        }
    )


def page_not_found(request, exception):
    return render(request, "404.html", status=404)


def permission_denied(request, exception):
    return render(request, "403.html", status=403)


def server_error(request):
    # Rendered without context processors: the failure may be in one of them.
    return HttpResponseServerError(loader.get_template("500.html").render())


@staff_required(StaffPerm.REVIEW_QUEUE)
@require_http_methods(["GET", "HEAD", "POST"])
def staff_calendar(request):
    """节假日安排: the years entered, a year's days, and the upload of a year's notice (reviewers:
    their deadlines are counted on it)."""
    from fapiao.core import calendar_file, selectors, services

    today = timezone.localdate()
    error = ""
    if request.method == "POST":
        year = _year(request.POST.get("year"))
        upload = request.FILES.get("file")
        if year is None:
            error = _("请填写 2000 至 2100 之间的年份。")
        elif upload is None:
            error = _("请选择节假日安排的 CSV 文件。")
        else:
            try:
                days = calendar_file.read(upload.read(calendar_file.MAX_BYTES + 1))
                count = services.calendar_year_set(year=year, days=days, actor=request.user)
            except calendar_file.CalendarFileError as refused:
                error = refused.message
            except ValidationError as refused:
                error = "；".join(refused.messages)
            else:
                done = _("已录入 %(year)s 年节假日安排：%(count)s 天。")
                messages.success(request, done % {"year": year, "count": count})
                return redirect(f"{reverse('staff_calendar')}?year={year}")
    else:
        year = _year(request.GET.get("year"))
    missing = selectors.calendar_missing(today=today)
    if year is None:
        year = missing[0] if missing else today.year
    years = selectors.calendar_year_counts()
    return render(
        request,
        "core/staff_calendar.html",
        {
            "year": year,
            "years": years,
            "missing": missing,
            "days": selectors.calendar_days(year=year),
            "error": error,
            "labels": calendar_file.LABELS,
        },
        status=400 if error else 200,
    )


def _year(value) -> int | None:
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return year if 2000 <= year <= 2100 else None
