"""Writes for accounts and organizations. Each records its operation-log event in the same
transaction."""

import datetime
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fapiao.accounts.language import language_of_email
from fapiao.accounts.models import (
    Invitation,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    Organization,
    Role,
    User,
)
from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record
from fapiao.rules import regions, uscc

INVITATION_DAYS = 7
ORG_FIELDS = ("name", "address", "phone", "bank_name", "bank_account")


def _admins(organization: Organization):
    return Membership.objects.filter(organization=organization, role=Role.ADMIN)


@transaction.atomic
def organization_register(*, user: User, name: str, tax_id: str) -> Organization:
    """A new taxpayer on the platform, with the registering user as its first admin."""
    check = uscc.check(tax_id)
    if not check.well_formed:
        raise ValidationError(check.message, code="uscc_malformed")
    region = regions.region_from_uscc(check.normalized)
    organization = Organization.objects.create(
        name=name.strip(), tax_id=check.normalized, region_code=region.code if region else ""
    )
    Membership.objects.create(user=user, organization=organization, role=Role.ADMIN)
    event_record(
        code=EventCode.ORG_CREATED,
        actor=user,
        organization=organization,
        obj=organization,
        details={"tax_id": organization.tax_id, "checksum_ok": check.checksum_ok},
    )
    return organization


@transaction.atomic
def organization_update(*, actor: User, organization: Organization, **fields) -> Organization:
    changed = {}
    for name in ORG_FIELDS:
        if name in fields and getattr(organization, name) != fields[name]:
            changed[name] = [getattr(organization, name), fields[name]]
            setattr(organization, name, fields[name])
    if changed:
        organization.save(update_fields=list(changed))
        event_record(
            code=EventCode.ORG_UPDATED,
            actor=actor,
            organization=organization,
            obj=organization,
            details={"changed": changed},
        )
    return organization


@transaction.atomic
def join_request_create(
    *, user: User, organization: Organization, message: str = ""
) -> JoinRequest:
    if Membership.objects.filter(user=user, organization=organization).exists():
        raise ValidationError(_("您已经是该组织的成员。"), code="already_member")
    existing = JoinRequest.objects.filter(
        user=user, organization=organization, status=JoinRequestStatus.PENDING
    ).first()
    if existing:
        return existing
    request = JoinRequest.objects.create(user=user, organization=organization, message=message)
    event_record(
        code=EventCode.ORG_JOIN_REQUESTED,
        actor=user,
        organization=organization,
        obj=request,
        description=f"申请加入组织：{user}",
    )
    _notify(
        [m.user.email for m in _admins(organization).select_related("user")],
        "accounts/email/join_requested",
        {"join_request": request, "url": settings.SITE_URL + reverse("org_members")},
    )
    return request


@transaction.atomic
def join_request_decide(
    *, actor: User, join_request: JoinRequest, approve: bool, role: str = Role.VIEWER
) -> JoinRequest:
    join_request = JoinRequest.objects.select_for_update().get(pk=join_request.pk)
    if join_request.status != JoinRequestStatus.PENDING:
        raise ValidationError(_("该申请已处理。"), code="already_decided")
    join_request.status = JoinRequestStatus.APPROVED if approve else JoinRequestStatus.REJECTED
    join_request.decided_by, join_request.decided_at = actor, timezone.now()
    join_request.save(update_fields=["status", "decided_by", "decided_at"])
    organization = join_request.organization
    if approve:
        Membership.objects.get_or_create(
            user=join_request.user, organization=organization, defaults={"role": role}
        )
    event_record(
        code=EventCode.ORG_JOIN_APPROVED if approve else EventCode.ORG_JOIN_REJECTED,
        actor=actor,
        organization=organization,
        obj=join_request,
        description=lambda: (
            f"{'批准' if approve else '拒绝'} {join_request.user} 的加入申请"
            + (f"（{Role(role).label}）" if approve else "")
        ),
        details={"user": join_request.user.email, "role": role if approve else None},
    )
    _notify(
        [join_request.user.email],
        "accounts/email/join_decided",
        {"join_request": join_request, "url": settings.SITE_URL + "/"},
    )
    return join_request


@transaction.atomic
def invitation_create(
    *, actor: User, organization: Organization, email: str, role: str
) -> Invitation:
    email = email.strip().lower()
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError(_("该邮箱的用户已经是本组织成员。"), code="already_member")
    Invitation.objects.filter(
        organization=organization, email__iexact=email, accepted_at=None, revoked_at=None
    ).update(revoked_at=timezone.now())
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        invited_by=actor,
        token=secrets.token_urlsafe(32),
        expires_at=timezone.now() + datetime.timedelta(days=INVITATION_DAYS),
    )
    event_record(
        code=EventCode.ORG_MEMBER_INVITED,
        actor=actor,
        organization=organization,
        obj=invitation,
        description=lambda: f"邀请 {email} 加入（{Role(role).label}）",
        details={"email": email, "role": role},
    )
    _notify(
        [email],
        "accounts/email/invitation",
        {
            "invitation": invitation,
            "url": settings.SITE_URL + reverse("invitation_accept", args=[invitation.token]),
        },
    )
    return invitation


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> None:
    if not invitation.is_open:
        raise ValidationError(_("该邀请已失效。"), code="invitation_closed")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    event_record(
        code=EventCode.ORG_INVITATION_REVOKED,
        actor=actor,
        organization=invitation.organization,
        obj=invitation,
        description=f"撤销对 {invitation.email} 的邀请",
    )


@transaction.atomic
def invitation_accept(*, user: User, invitation: Invitation) -> Membership:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise ValidationError(
            _("邀请已失效（已接受、已撤销或已过期），请联系管理员重新邀请。"),
            code="invitation_closed",
        )
    if invitation.email.lower() != user.email.lower():
        raise ValidationError(
            _("这份邀请发给 %(email)s，请用该邮箱的账号接受。") % {"email": invitation.email},
            code="invitation_email",
        )
    membership, __ = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    invitation.accepted_by, invitation.accepted_at = user, timezone.now()
    invitation.save(update_fields=["accepted_by", "accepted_at"])
    event_record(
        code=EventCode.ORG_INVITATION_ACCEPTED,
        actor=user,
        organization=invitation.organization,
        obj=invitation,
        description=lambda: f"{user} 接受邀请加入（{invitation.get_role_display()}）",
    )
    return membership


def _guard_last_admin(membership: Membership, message: str) -> None:
    if membership.role == Role.ADMIN:
        admins = _admins(membership.organization).select_for_update()
        if admins.count() <= 1:
            raise ValidationError(message, code="last_admin")


@transaction.atomic
def member_role_change(*, actor: User, membership: Membership, role: str) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == role:
        return membership
    if role != Role.ADMIN:
        _guard_last_admin(membership, _("组织至少需要一名管理员：请先任命另一位管理员。"))
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    event_record(
        code=EventCode.ORG_MEMBER_ROLE_CHANGED,
        actor=actor,
        organization=membership.organization,
        obj=membership,
        description=lambda: f"{membership.user} 的角色：{Role(old).label} → {Role(role).label}",
        details={"user": membership.user.email, "from": old, "to": role},
    )
    return membership


@transaction.atomic
def member_remove(*, actor: User, membership: Membership) -> None:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    leaving = membership.user_id == actor.pk
    _guard_last_admin(
        membership,
        _("您是本组织唯一的管理员，不能退出：请先任命另一位管理员。")
        if leaving
        else _("不能移除唯一的管理员。"),
    )
    organization, user = membership.organization, membership.user
    membership.delete()
    event_record(
        code=EventCode.ORG_MEMBER_LEFT if leaving else EventCode.ORG_MEMBER_REMOVED,
        actor=actor,
        organization=organization,
        description=f"{user} 退出组织" if leaving else f"移除成员 {user}",
        details={"user": user.email},
    )


@transaction.atomic
def profile_update(*, user: User, name: str, mobile: str, language: str | None = None) -> User:
    changed = {}
    fields = [("name", name), ("mobile", mobile)]
    if language is not None:
        fields.append(("language", _language_checked(language)))
    for field, value in fields:
        if getattr(user, field) != value:
            changed[field] = [getattr(user, field), value]
            setattr(user, field, value)
    if changed:
        user.save(update_fields=list(changed))
        event_record(
            code=EventCode.ACCOUNT_PROFILE_UPDATED, actor=user, details={"changed": sorted(changed)}
        )
    return user


def _language_checked(language: str) -> str:
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError(_("不支持该语言。"), code="language")
    return language


@transaction.atomic
def language_set(*, user: User, language: str) -> User:
    """The language the user chose (the switch at the top of every page, or the profile): their
    pages follow it on any browser, and e-mails and notices go out in it."""
    language = _language_checked(language)
    if user.language != language:
        previous, user.language = user.language, language
        user.save(update_fields=["language"])
        event_record(
            code=EventCode.ACCOUNT_PROFILE_UPDATED,
            actor=user,
            details={"changed": ["language"], "language": [previous, language]},
        )
    return user


def _notify(recipients: list[str], template: str, context: dict) -> None:
    """Send a plain-text email (subject on the template's first line) once the transaction
    commits, so nobody is told of a change that rolled back. Each recipient reads it in their
    own language (a registered user's choice; Chinese for an address not on the platform)."""
    by_language: dict[str, list[str]] = {}
    for address in dict.fromkeys(r for r in recipients if r):
        by_language.setdefault(language_of_email(address), []).append(address)
    mails = []
    for language, addresses in by_language.items():
        with translation.override(language):
            text = render_to_string(f"{template}.txt", context).strip()
        subject, __, body = text.partition("\n")
        mails.append((subject.strip(), body.strip(), addresses))
    if not mails:
        return

    def send():
        for subject, body, addresses in mails:
            send_mail(subject, body, None, addresses)

    transaction.on_commit(send)


def lockout_clear(*, user: User) -> None:
    """Lift a login lockout on the user's account (after a password reset proves who they are)."""
    from axes.utils import reset

    if reset(username=user.email.lower()):
        event_record(code=EventCode.ACCOUNT_UNLOCKED, actor=user, details={"by": "password_reset"})
