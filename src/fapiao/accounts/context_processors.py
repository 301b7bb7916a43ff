from django.conf import settings
from django.utils import timezone

from fapiao.accounts.passwords import password_is_stale


def password_reminder(request):
    """`password_stale`: the signed-in user's password is older than the configured maximum
    (`password_max_age_days`, which the reminder banner names)."""
    max_age = settings.FAPIAO_PASSWORD_MAX_AGE_DAYS
    user = getattr(request, "user", None)
    stale = user is not None and password_is_stale(user, max_age, timezone.now())
    return {"password_stale": stale, "password_max_age_days": max_age}
