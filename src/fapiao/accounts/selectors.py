from django.db.models import QuerySet

from fapiao.accounts.models import Membership, Organization, User


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )


def organization_for_user(*, user: User, organization_id: int | None) -> Organization | None:
    """The organization the user acts for: the one chosen in the session, else their first."""
    memberships = memberships_for_user(user=user)
    if organization_id is not None:
        chosen = memberships.filter(organization_id=organization_id).first()
        if chosen is not None:
            return chosen.organization
    first = memberships.first()
    return first.organization if first else None
