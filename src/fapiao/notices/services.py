"""Writes of in-site notices. Any app may call `notice_send`; it joins the caller's transaction,
so a notice about a change that rolls back is never seen."""

from __future__ import annotations

from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from fapiao.notices.models import Notice


def safe_link(link: str) -> str:
    """Only paths on this site: a notice never sends anyone elsewhere."""
    link = (link or "").strip()
    if not link.startswith("/") or not url_has_allowed_host_and_scheme(link, allowed_hosts=None):
        return ""
    return link[:500]


def notice_send(*, user, title: str, body: str = "", link: str = "", organization=None) -> Notice:
    return Notice.objects.create(
        user=user,
        organization=organization,
        title=title.strip()[:200],
        body=body.strip(),
        link=safe_link(link),
    )


def notice_read(*, user, notice: Notice) -> Notice:
    if notice.user_id != user.pk:  # callers look notices up through the user's selector
        raise PermissionError("not the user's notice")
    if notice.read_at is None:
        notice.read_at = timezone.now()
        Notice.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=notice.read_at)
    return notice


def notice_read_all(*, user) -> int:
    """Mark every unread notice of the user read; returns how many."""
    return Notice.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
