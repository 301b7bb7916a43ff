"""Reads of in-site notices, always of one user."""

from django.db.models import QuerySet

from fapiao.notices.models import Notice


def notices_of(*, user) -> QuerySet[Notice]:
    return Notice.objects.filter(user=user).select_related("organization")


def unread_count(*, user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notice.objects.filter(user=user, read_at__isnull=True).count()
