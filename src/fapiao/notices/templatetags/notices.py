from django import template

from fapiao.notices.selectors import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notices(context) -> int:
    """The signed-in user's unread notice count (counted once per request)."""
    request = context.get("request")
    if request is None:
        return 0
    if not hasattr(request, "_unread_notices"):
        request._unread_notices = unread_count(user=request.user)
    return request._unread_notices
