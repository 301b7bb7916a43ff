from django.contrib import admin
from django.urls import include, path

from fapiao.accounts.language import language_switch
from fapiao.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("help/", core_views.help_page, name="help"),
    path("healthz", core_views.health, name="health"),
    path("i18n/setlang/", language_switch, name="set_language"),
    path("accounts/staff/calendar/", core_views.staff_calendar, name="staff_calendar"),
    path("accounts/password/sms/", include("fapiao.accounts.password_urls")),
    path("accounts/", include("fapiao.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("audit/", include("fapiao.audit.urls")),
    path("invoices/", include("fapiao.invoices.urls")),
    path("invoices/", include("fapiao.invoices.urls_issue")),
    path("verification/", include("fapiao.verification.urls")),
    path("imports/", include("fapiao.imports.urls")),
    path("stats/", include("fapiao.stats.urls")),
    path("notices/", include("fapiao.notices.urls")),
    path("recovery/", include("fapiao.recovery.urls")),
    path("finder/", include("fapiao.finder.urls")),
    path("reconcile/", include("fapiao.reconcile.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "fapiao.core.views.page_not_found"
handler403 = "fapiao.core.views.permission_denied"
handler500 = "fapiao.core.views.server_error"
