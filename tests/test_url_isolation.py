"""Every URL the project defines is classified here, and each class is tested for isolation:
another organization's member gets 404, a viewer cannot write, staff pages are staff-only.

Adding a URL without classifying it fails `test_every_url_is_classified`.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from fapiao import testing
from fapiao.accounts.models import (
    Invitation,
    JoinRequest,
    Membership,
    Role,
    StaffRole,
    User,
)
from fapiao.accounts.services import invitation_create, join_request_create

pytestmark = pytest.mark.django_db

# Third-party URL families, mounted as a whole: allauth's account pages act on the signed-in user
# only; Django's admin is for superusers; i18n switches the language.
THIRD_PARTY_PREFIXES = ("account_", "mfa_", "usersessions_", "admin:", "set_language")

PUBLIC = {"home", "help", "health", "register_uscc_check", "invitation_accept",
          "password_reset_sms", "password_reset_sms_verify", "password_reset_sms_done"}  # fmt: skip
SIGNED_IN = {"profile", "audit_mine", "org_switch"}
STAFF = {"staff_home"}
# Pages of the current organization: (url name, method, needs a write permission)
ORG_PAGES = {
    "org_members": ("get", False),
    "org_settings": ("get", False),
    "org_leave": ("post", False),
    "org_member_invite": ("post", True),
    "audit_log": ("get", True),
    "audit_export": ("get", True),
}
# Actions on one object of the current organization, addressed by its id.
ORG_OBJECTS = {"org_member_role", "org_member_remove", "org_invitation_revoke",
               "org_join_request_decide"}  # fmt: skip


def _names(patterns, prefix="") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{pattern.namespace}:" if pattern.namespace else ""
            names |= _names(pattern.url_patterns, prefix + namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(prefix + pattern.name)
    return names


def test_every_url_is_classified():
    classified = PUBLIC | SIGNED_IN | STAFF | set(ORG_PAGES) | ORG_OBJECTS
    unclassified = {
        name
        for name in _names(get_resolver().url_patterns)
        if name not in classified and not name.startswith(THIRD_PARTY_PREFIXES)
    }
    assert unclassified == set(), f"classify these URLs in {__file__}: {sorted(unclassified)}"


@pytest.fixture
def two_orgs():
    a, b = testing.organization("甲单位有限公司"), testing.organization("乙单位有限公司")
    return {
        "a": a,
        "b": b,
        "admin_a": testing.member(a, Role.ADMIN),
        "viewer_a": testing.member(a, Role.VIEWER),
        "admin_b": testing.member(b, Role.ADMIN),
    }


def test_org_pages_need_a_member_and_writes_need_the_permission(client, two_orgs):
    loner = User.objects.create_user(email="loner@example.com", password=testing.PASSWORD)
    for name, (method, writes) in ORG_PAGES.items():
        url = reverse(name)
        # Signed in but in no organization: 404, nothing leaks.
        client.force_login(loner)
        assert getattr(client, method)(url).status_code == 404, name
        if writes:
            client.force_login(two_orgs["viewer_a"])
            assert getattr(client, method)(url).status_code == 403, name
    client.logout()
    for name, (method, _) in ORG_PAGES.items():
        response = getattr(client, method)(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name


def _objects_of(org, admin):
    invitee = testing.member(testing.organization(), Role.ADMIN)
    join_request_create(user=invitee, organization=org)
    invitation = invitation_create(actor=admin, organization=org, email="x@example.com",
                                   role=Role.ISSUER)  # fmt: skip
    member = Membership.objects.filter(organization=org).exclude(user=admin).first()
    return {
        "org_member_role": (member.pk, {"role": Role.ADMIN}),
        "org_member_remove": (member.pk, {}),
        "org_invitation_revoke": (invitation.pk, {}),
        "org_join_request_decide": (
            JoinRequest.objects.get(organization=org).pk,
            {"decision": "approve"},
        ),
    }


def test_another_organizations_objects_are_404_and_untouched(client, two_orgs):
    targets = _objects_of(two_orgs["a"], two_orgs["admin_a"])
    assert set(targets) == ORG_OBJECTS
    client.force_login(two_orgs["admin_b"])  # an admin, but of the other organization
    for name, (pk, data) in targets.items():
        assert client.post(reverse(name, args=[pk]), data).status_code == 404, name
    assert Membership.objects.filter(organization=two_orgs["a"]).count() == 2
    assert Membership.objects.get(user=two_orgs["viewer_a"]).role == Role.VIEWER
    assert Invitation.objects.get(email="x@example.com").revoked_at is None
    assert JoinRequest.objects.get(organization=two_orgs["a"]).status == "pending"


def test_a_viewer_cannot_act_on_objects(client, two_orgs):
    targets = _objects_of(two_orgs["a"], two_orgs["admin_a"])
    client.force_login(two_orgs["viewer_a"])
    for name, (pk, data) in targets.items():
        assert client.post(reverse(name, args=[pk]), data).status_code == 403, name
    assert Membership.objects.filter(organization=two_orgs["a"]).count() == 2


def test_switching_to_an_organization_one_is_not_in_is_404(client, two_orgs):
    client.force_login(two_orgs["admin_b"])
    response = client.post(reverse("org_switch"), {"organization": two_orgs["a"].pk})
    assert response.status_code == 404
    assert client.get("/").context["current_organization"] == two_orgs["b"]


def test_staff_pages_are_404_for_everyone_but_staff(client, two_orgs):
    staff = User.objects.create_user(email="staff@example.com", password=testing.PASSWORD,
                                     staff_role=StaffRole.REVIEWER)  # fmt: skip
    for name in STAFF:
        client.force_login(two_orgs["admin_a"])
        assert client.get(reverse(name)).status_code == 404
        client.force_login(staff)
        assert client.get(reverse(name)).status_code == 200


def test_signed_in_pages_redirect_anonymous_visitors_to_login(client):
    for name in SIGNED_IN:
        response = client.get(reverse(name)) if name != "org_switch" else client.post(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name


def test_dashboard_never_shows_another_organizations_invoices(client, two_orgs):
    testing.invoice(seller=two_orgs["a"], amount="777.77", buyer_name="甲的客户有限公司")
    client.force_login(two_orgs["admin_b"])
    body = client.get("/").content.decode()
    assert "甲的客户有限公司" not in body and "824.44" not in body
