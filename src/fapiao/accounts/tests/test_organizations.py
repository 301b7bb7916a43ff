import datetime
import re

import pytest
from django.utils import timezone

from fapiao import testing
from fapiao.accounts.models import Invitation, JoinRequest, Membership, Role, User
from fapiao.accounts.services import join_request_create
from fapiao.audit.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return testing.organization("北京成员测试有限公司")


@pytest.fixture
def admin(org):
    return testing.member(org, Role.ADMIN)


def invite(client, admin, email="new@example.com", role=Role.ISSUER, capture=None):
    client.force_login(admin)
    with capture(execute=True):
        return client.post("/accounts/organization/members/invite/", {"email": email, "role": role})


def test_admin_invites_by_email_and_the_invitee_accepts(
    client, org, admin, mailoutbox, django_capture_on_commit_callbacks
):
    invite(client, admin, capture=django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get(email="new@example.com")
    assert invitation.role == Role.ISSUER and invitation.is_open
    assert mailoutbox[-1].to == ["new@example.com"]
    link = re.search(r"/accounts/invitations/[\w-]+/", mailoutbox[-1].body).group(0)

    invitee = User.objects.create_user(email="new@example.com", password=testing.PASSWORD)
    client.force_login(invitee)
    assert "接受邀请" in client.get(link).content.decode()
    response = client.post(link)
    assert response.status_code == 302
    assert Membership.objects.get(user=invitee, organization=org).role == Role.ISSUER
    assert client.get("/").context["current_organization"] == org
    codes = list(Event.objects.filter(organization=org).values_list("code", flat=True))
    assert "org.member_invited" in codes and "org.invitation_accepted" in codes


def test_an_anonymous_invitee_is_remembered_through_registration(
    client, org, admin, django_capture_on_commit_callbacks, mailoutbox
):
    invite(client, admin, capture=django_capture_on_commit_callbacks)
    client.logout()
    token = Invitation.objects.get().token
    page = client.get(f"/accounts/invitations/{token}/").content.decode()
    assert "注册新账号" in page
    signup = client.get("/accounts/signup/").content.decode()
    assert "您受邀" in signup and 'name="tax_id"' not in signup
    strong = "Qiye-Fapiao-2026!"
    response = client.post("/accounts/signup/", {
        "name": "新同事", "mobile": "13700007777", "email": "new@example.com",
        "password1": strong, "password2": strong,
    })  # fmt: skip
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert not Membership.objects.filter(user=user).exists()  # not before accepting


def test_an_invitation_for_another_email_or_revoked_or_expired_is_refused(
    client, org, admin, django_capture_on_commit_callbacks
):
    invite(client, admin, capture=django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()
    other = User.objects.create_user(email="other@example.com", password=testing.PASSWORD)
    client.force_login(other)
    client.post(f"/accounts/invitations/{invitation.token}/")
    assert not Membership.objects.filter(user=other).exists()

    invitation.expires_at = timezone.now() - datetime.timedelta(minutes=1)
    invitation.save()
    invitee = User.objects.create_user(email="new@example.com", password=testing.PASSWORD)
    client.force_login(invitee)
    assert "已失效" in client.get(f"/accounts/invitations/{invitation.token}/").content.decode()
    client.post(f"/accounts/invitations/{invitation.token}/")
    assert not Membership.objects.filter(user=invitee).exists()


def test_admin_revokes_an_invitation(client, org, admin, django_capture_on_commit_callbacks):
    invite(client, admin, capture=django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()
    client.post(f"/accounts/organization/invitations/{invitation.pk}/revoke/")
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None and not invitation.is_open


def test_admin_approves_a_join_request_with_a_role(
    client, org, admin, mailoutbox, django_capture_on_commit_callbacks
):
    applicant = User.objects.create_user(email="applicant@example.com", password=testing.PASSWORD)
    request = join_request_create(user=applicant, organization=org)
    client.force_login(admin)
    page = client.get("/accounts/organization/members/").content.decode()
    assert "applicant@example.com" in page and "待审批的加入申请" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/accounts/organization/join-requests/{request.pk}/",
                    {"decision": "approve", "role": Role.REVIEWER})  # fmt: skip
    assert Membership.objects.get(user=applicant, organization=org).role == Role.REVIEWER
    assert JoinRequest.objects.get().status == "approved"
    assert mailoutbox[-1].to == ["applicant@example.com"] and "已获批准" in mailoutbox[-1].subject


def test_admin_rejects_a_join_request(client, org, admin):
    applicant = User.objects.create_user(email="applicant@example.com", password=testing.PASSWORD)
    request = join_request_create(user=applicant, organization=org)
    client.force_login(admin)
    client.post(f"/accounts/organization/join-requests/{request.pk}/", {"decision": "reject"})
    assert not Membership.objects.filter(user=applicant).exists()
    assert JoinRequest.objects.get().status == "rejected"


def test_roles_change_and_members_are_removed(client, org, admin):
    issuer = testing.member(org, Role.ISSUER)
    membership = Membership.objects.get(user=issuer)
    client.force_login(admin)
    client.post(f"/accounts/organization/members/{membership.pk}/role/", {"role": Role.REVIEWER})
    membership.refresh_from_db()
    assert membership.role == Role.REVIEWER
    client.post(f"/accounts/organization/members/{membership.pk}/remove/")
    assert not Membership.objects.filter(user=issuer).exists()
    assert Event.objects.filter(code="org.member_removed", organization=org).exists()


def test_the_last_admin_cannot_leave_be_demoted_or_removed(client, org, admin):
    own = Membership.objects.get(user=admin)
    client.force_login(admin)
    response = client.post("/accounts/organization/leave/", follow=True)
    assert "唯一的管理员" in response.content.decode()
    client.post(f"/accounts/organization/members/{own.pk}/role/", {"role": Role.VIEWER})
    own.refresh_from_db()
    assert own.role == Role.ADMIN
    second = testing.member(org, Role.ADMIN)
    client.post(f"/accounts/organization/members/{own.pk}/role/", {"role": Role.VIEWER})
    own.refresh_from_db()
    assert own.role == Role.VIEWER  # allowed once another admin exists
    assert Membership.objects.get(user=second).role == Role.ADMIN


def test_a_member_leaves_and_no_longer_sees_the_organization(client, org, admin):
    viewer = testing.member(org, Role.VIEWER)
    client.force_login(viewer)
    client.post("/accounts/organization/leave/")
    assert not Membership.objects.filter(user=viewer).exists()
    assert client.get("/accounts/organization/members/").status_code == 404


def test_a_user_switches_between_organizations(client, org, admin):
    other = testing.organization("第二家单位有限公司")
    Membership.objects.create(user=admin, organization=other, role=Role.VIEWER)
    client.force_login(admin)
    first = client.get("/").context["current_organization"]
    target = other if first == org else org
    client.post("/accounts/organization/switch/", {"organization": target.pk})
    assert client.get("/").context["current_organization"] == target
    assert "切换组织" in client.get("/").content.decode()


def test_admin_edits_the_organization_but_a_viewer_cannot(client, org, admin):
    client.force_login(admin)
    client.post("/accounts/organization/", {
        "name": org.name, "address": "北京市朝阳区建国路1号", "phone": "010-12345678",
        "bank_name": "中国银行", "bank_account": "1234567890",
    })  # fmt: skip
    org.refresh_from_db()
    assert org.address == "北京市朝阳区建国路1号"
    assert Event.objects.get(code="org.updated").details["changed"]["address"][1] == org.address
    viewer = testing.member(org, Role.VIEWER)
    client.force_login(viewer)
    assert client.get("/accounts/organization/").status_code == 200
    assert client.post("/accounts/organization/", {"name": "改名"}).status_code == 403


def test_profile_shows_organizations_and_edits_contact_data(client, org, admin):
    client.force_login(admin)
    page = client.get("/accounts/profile/").content.decode()
    assert org.name in page and "两步验证" in page and "登录设备与会话" in page
    client.post("/accounts/profile/", {"name": "新名字", "mobile": "+86 139 0000 2222"})
    admin.refresh_from_db()
    assert (admin.name, admin.mobile) == ("新名字", "13900002222")
    assert Event.objects.filter(code="account.profile_updated", actor=admin).exists()
