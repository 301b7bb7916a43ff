from fapiao import __version__
from fapiao.core.navigation import items_for


def shell(request):
    user = getattr(request, "user", None)
    memberships = []
    if user is not None and user.is_authenticated:
        from fapiao.accounts.selectors import memberships_for_user

        memberships = list(memberships_for_user(user=user))
    return {
        "user_memberships": memberships,
        "nav_items": items_for(request),
        "current_organization": getattr(request, "organization", None),
        "fapiao_version": __version__,
    }
