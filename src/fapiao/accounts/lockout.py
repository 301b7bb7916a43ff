"""django-axes hooks: whom a failed login counts against, and the page a locked-out user sees."""

from django.conf import settings
from django.shortcuts import render

from fapiao.accounts.phones import normalize_mobile


def username_from_request(request, credentials: dict | None) -> str:
    """One key per account whether the user typed their email or their mobile number."""
    from fapiao.accounts.models import User

    credentials = credentials or {}
    login = (
        credentials.get("email")
        or credentials.get("phone")
        or credentials.get("login")
        or credentials.get("username")
        or request.POST.get("login", "")
    ).strip()
    mobile = normalize_mobile(login)
    if mobile:
        user = User.objects.filter(mobile=mobile).only("email").first()
        return user.email.lower() if user else mobile
    return login.lower()


def lockout_response(request, original_response=None, credentials=None):
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "accounts/locked_out.html",
        {"minutes": minutes, "failures": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
