from fapiao import __version__
from fapiao.core.navigation import items_for


def shell(request):
    return {
        "nav_items": items_for(request),
        "current_organization": getattr(request, "organization", None),
        "fapiao_version": __version__,
    }
