"""Who may do what: the one place where roles become permissions.

Views use the decorators here; selectors take the organization. A user acting for an organization
they do not belong to, or asking for another organization's object, gets 404 (existence does not
leak); a member whose role lacks the permission gets 403.
"""

from enum import StrEnum
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from fapiao.accounts.models import Membership, Organization, Role, StaffRole


class Perm(StrEnum):
    VIEW = "view"  # see the organization's invoices, statistics, dashboard
    ISSUE = "issue"  # draft and submit invoices, import
    REVIEW = "review"  # approve issuance
    MANAGE_MEMBERS = "manage_members"  # invite, remove, change roles, approve join requests
    MANAGE_SETTINGS = "manage_settings"  # organization details and settings
    VIEW_AUDIT = "view_audit"  # the organization's whole operation log


ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.ISSUER: frozenset({Perm.VIEW, Perm.ISSUE}),
    Role.REVIEWER: frozenset({Perm.VIEW, Perm.REVIEW}),
    Role.VIEWER: frozenset({Perm.VIEW}),
}


class StaffPerm(StrEnum):
    REVIEW_QUEUE = "review_queue"  # 补录 and 认证 applications
    SUPPORT_QUEUE = "support_queue"  # support tickets


STAFF_PERMISSIONS: dict[str, frozenset[StaffPerm]] = {
    StaffRole.REVIEWER: frozenset({StaffPerm.REVIEW_QUEUE}),
    StaffRole.SUPPORT: frozenset({StaffPerm.SUPPORT_QUEUE}),
}


def membership_of(user, organization: Organization | None) -> Membership | None:
    if organization is None or not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, organization=organization).first()


def has_perm(user, organization: Organization | None, perm: Perm) -> bool:
    membership = membership_of(user, organization)
    return membership is not None and perm in ROLE_PERMISSIONS[membership.role]


def perms_of(user, organization: Organization | None) -> frozenset[Perm]:
    membership = membership_of(user, organization)
    return ROLE_PERMISSIONS[membership.role] if membership else frozenset()


def org_required(perm: Perm = Perm.VIEW):
    """The view acts for request.organization; the user must hold `perm` in it.

    Not signed in: to the login page. No organization: 404. Role without the permission: 403.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            organization = request.organization
            if organization is None:
                raise Http404("no organization")
            if perm not in perms_of(request.user, organization):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.required_perm = perm
        return wrapped

    return decorator


def staff_perms_of(user) -> frozenset[StaffPerm]:
    """What the user's platform-staff role may do (nothing for anyone else)."""
    return STAFF_PERMISSIONS.get(getattr(user, "staff_role", ""), frozenset())


def staff_required(perm: StaffPerm | None = None):
    """Platform staff only (any staff role when perm is None); everyone else gets 404."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.staff_role or (
                perm is not None and perm not in staff_perms_of(request.user)
            ):
                raise Http404("not staff")
            return view(request, *args, **kwargs)

        wrapped.required_staff_perm = perm
        return wrapped

    return decorator
