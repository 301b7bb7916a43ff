import time

from django.db import DatabaseError, connection
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

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
