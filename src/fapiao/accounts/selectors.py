from django.db.models import QuerySet

from fapiao.accounts.models import (
    Invitation,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    Organization,
    User,
)


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


def members_of(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("role", "user__name", "user__email")
    )


def membership_in(*, organization: Organization, pk: int) -> Membership | None:
    return members_of(organization=organization).filter(pk=pk).first()


def open_invitations(*, organization: Organization) -> list[Invitation]:
    pending = Invitation.objects.filter(
        organization=organization, accepted_at=None, revoked_at=None
    ).select_related("invited_by")
    return [invitation for invitation in pending if invitation.is_open]


def invitation_in(*, organization: Organization, pk: int) -> Invitation | None:
    return Invitation.objects.filter(organization=organization, pk=pk).first()


def pending_join_requests(*, organization: Organization) -> QuerySet[JoinRequest]:
    return JoinRequest.objects.filter(
        organization=organization, status=JoinRequestStatus.PENDING
    ).select_related("user")


def join_request_in(*, organization: Organization, pk: int) -> JoinRequest | None:
    return pending_join_requests(organization=organization).filter(pk=pk).first()


def join_requests_of(*, user: User) -> QuerySet[JoinRequest]:
    return JoinRequest.objects.filter(user=user).select_related("organization")
