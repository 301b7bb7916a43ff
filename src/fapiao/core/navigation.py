"""The platform's main navigation.

Each domain app registers its module here from its AppConfig.ready(), so the navigation shows
exactly the modules that are installed and working: no placeholder pages.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str  # lazy translation
    url_name: str
    order: int
    requires_organization: bool = True
    description: str = ""  # lazy translation, shown on the welcome page


_items: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    _items[item.key] = item


def items_for(request) -> list[dict]:
    organization = getattr(request, "organization", None)
    visible = []
    for item in sorted(_items.values(), key=lambda i: i.order):
        if item.requires_organization and organization is None:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue  # a module whose pages are not mounted is not shown
        visible.append(
            {
                "key": item.key,
                "label": item.label,
                "url": url,
                "description": item.description,
                "active": False,
            }
        )
    # The active module is the one whose address is the longest prefix of the page's.
    matches = [
        v
        for v in visible
        if request.path == v["url"] or (v["url"] != "/" and request.path.startswith(v["url"]))
    ]
    if matches:
        max(matches, key=lambda v: len(v["url"]))["active"] = True
    return visible


@dataclass(frozen=True)
class StaffQueue:
    """Work waiting for platform staff (补录, 认证申请, tickets); each app registers its own."""

    key: str
    label: str
    url_name: str
    perm: str  # a fapiao.accounts.permissions.StaffPerm
    count: Callable[[], int]


_queues: dict[str, StaffQueue] = {}


def register_staff_queue(queue: StaffQueue) -> None:
    _queues[queue.key] = queue


def staff_queues(request) -> list[dict]:
    from fapiao.accounts.permissions import staff_perms_of

    allowed = staff_perms_of(request.user)
    return [
        {"label": q.label, "url": reverse(q.url_name), "count": q.count()}
        for q in _queues.values()
        if q.perm in allowed
    ]
