import re

import pytest
from allauth.account.models import EmailAddress

from fapiao import testing
from fapiao.accounts.models import JoinRequest, Membership, Organization, Role, User
from fapiao.audit.models import Event
from fapiao.rules import uscc

pytestmark = pytest.mark.django_db

STRONG = "Qiye-Fapiao-2026!"


def form(**overrides):
    data = {
        "name": "刘洋",
        "mobile": "139 1234 5678",
        "email": "liu@example.com",
        "company_name": "北京新注册科技有限公司",
        "tax_id": uscc.make("91110105MA0NEW001"),
        "password1": STRONG,
        "password2": STRONG,
    }
    return {**data, **overrides}


def errors(response) -> str:
    return " ".join(
        re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    )


def test_registering_a_new_company_creates_it_with_the_user_as_admin(client, mailoutbox):
    response = client.post("/accounts/signup/", form())
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="liu@example.com")
    assert (user.name, user.mobile) == ("刘洋", "13912345678")
    org = Organization.objects.get(tax_id=form()["tax_id"])
    assert org.name == "北京新注册科技有限公司" and org.region_code == "11"
    assert Membership.objects.get(user=user).role == Role.ADMIN
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mailoutbox) == 1 and "/accounts/confirm-email/" in mailoutbox[0].body
    codes = set(Event.objects.values_list("code", flat=True))
    assert {"account.registered", "org.created"} <= codes


def test_the_account_cannot_act_before_the_email_is_verified(client):
    client.post("/accounts/signup/", form())
    response = client.post("/accounts/login/", {"login": "liu@example.com", "password": STRONG})
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session


def test_verifying_the_email_then_logging_in_shows_the_dashboard(client, mailoutbox):
    client.post("/accounts/signup/", form())
    link = re.search(r"http://\S+/accounts/confirm-email/(\S+)/", mailoutbox[0].body)
    confirm = f"/accounts/confirm-email/{link.group(1)}/"
    assert client.get(confirm).status_code == 200
    client.post(confirm)
    assert EmailAddress.objects.get(email="liu@example.com").verified
    response = client.post(
        "/accounts/login/", {"login": "liu@example.com", "password": STRONG}, follow=True
    )
    assert response.context["current_organization"].name == "北京新注册科技有限公司"
    assert Event.objects.filter(code="account.email_confirmed").exists()


def test_a_malformed_credit_code_is_refused_with_the_reason(client):
    good = form()["tax_id"]
    response = client.post("/accounts/signup/", form(tax_id=good[:10] + "O" + good[11:]))
    assert response.status_code == 200
    assert "不是合法字符" in errors(response)
    assert not User.objects.filter(email="liu@example.com").exists()


def test_a_bad_check_digit_must_be_confirmed(client):
    good = form()["tax_id"]
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    page = client.get("/accounts/signup/").content.decode()
    assert 'name="confirm_checksum"' not in page  # asked only when the check digit is off
    response = client.post("/accounts/signup/", form(tax_id=bad))
    assert response.status_code == 200 and "勾选" in errors(response)
    assert 'name="confirm_checksum"' in response.content.decode()
    hint = client.get("/accounts/signup/uscc-check/", {"tax_id": bad}).content.decode()
    assert 'name="confirm_checksum"' in hint
    response = client.post("/accounts/signup/", form(tax_id=bad, confirm_checksum="on"))
    assert response.status_code == 302
    assert Organization.objects.filter(tax_id=bad).exists()


def test_registering_for_an_existing_company_asks_to_join_it(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    org = testing.organization("已注册单位有限公司")
    admin = testing.member(org, Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/signup/", form(tax_id=org.tax_id.lower()))
    assert response.status_code == 302
    user = User.objects.get(email="liu@example.com")
    assert Organization.objects.filter(tax_id=org.tax_id).count() == 1
    assert not Membership.objects.filter(user=user).exists()
    request = JoinRequest.objects.get(user=user, organization=org)
    assert request.status == "pending"
    assert any(admin.email in m.to for m in mailoutbox)


def test_the_uscc_check_tells_while_typing(client):
    org = testing.organization("已注册单位有限公司")
    assert (
        "已在平台注册"
        in client.get("/accounts/signup/uscc-check/", {"tax_id": org.tax_id}).content.decode()
    )
    assert (
        "不是合法字符"
        in client.get(
            "/accounts/signup/uscc-check/", {"tax_id": "91110105MA0NEW0O1X"}
        ).content.decode()
    )
    good = client.get("/accounts/signup/uscc-check/", {"tax_id": uscc.make("91110105MA0NEW001")})
    assert "北京" in good.content.decode()


def test_a_mobile_number_registered_once_only(client):
    testing.member(testing.organization(), Role.ADMIN)
    User.objects.filter(email__startswith="user").update(mobile="13912345678")
    response = client.post("/accounts/signup/", form())
    assert "该手机号码已注册" in errors(response)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1-short", "太短"),
        ("abcdefghijk", "3 类"),
        ("12345678901", "3 类"),
        ("Liu@example.com1", "相似"),
    ],
)
def test_weak_passwords_are_refused(client, password, message):
    response = client.post("/accounts/signup/", form(password1=password, password2=password))
    assert response.status_code == 200
    assert message in errors(response), errors(response)


def test_login_by_mobile_number_as_well_as_email(client):
    org = testing.organization()
    user = testing.member(org)
    user.mobile = "13800001111"
    user.save()
    response = client.post(
        "/accounts/login/", {"login": "138 0000 1111", "password": testing.PASSWORD}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert Event.objects.filter(code="account.login", actor=user).exists()


def test_failed_logins_are_logged_and_five_lock_the_account(client):
    user = testing.member(testing.organization())
    for _ in range(4):
        response = client.post(
            "/accounts/login/", {"login": user.email, "password": "wrong-Password-1"}
        )
        assert response.status_code == 200
    response = client.post(
        "/accounts/login/", {"login": user.email, "password": "wrong-Password-1"}
    )
    assert response.status_code == 429
    assert "账号已暂时锁定" in response.content.decode()
    # Now even the right password is refused until unlocked.
    response = client.post("/accounts/login/", {"login": user.email, "password": testing.PASSWORD})
    assert response.status_code == 429
    assert Event.objects.filter(code="account.login_failed").count() >= 5
    assert Event.objects.filter(code="account.locked_out").exists()


def test_failures_from_one_address_lock_that_address_across_accounts(client):
    org = testing.organization()
    people = [testing.member(org) for _ in range(3)]
    for attempt in range(5):
        target = people[attempt % 2]  # spread over two accounts: neither reaches 5 alone
        client.post("/accounts/login/", {"login": target.email, "password": "wrong-Password-1"})
    response = client.post(
        "/accounts/login/", {"login": people[2].email, "password": testing.PASSWORD}
    )
    assert response.status_code == 429
    # Another address is not affected.
    elsewhere = client.__class__(REMOTE_ADDR="10.9.8.7")
    response = elsewhere.post(
        "/accounts/login/", {"login": people[2].email, "password": testing.PASSWORD}
    )
    assert response.status_code == 302


def test_platform_staff_see_no_organization_data(client):
    from fapiao.accounts.models import StaffRole

    org = testing.organization("被保护单位有限公司")
    testing.invoice(seller=org, amount="100.00", buyer_name="保密客户有限公司")
    staff = User.objects.create_user(
        email="reviewer-staff@example.com", password=testing.PASSWORD, staff_role=StaffRole.REVIEWER
    )
    client.force_login(staff)
    assert client.get("/accounts/staff/").status_code == 200
    home = client.get("/").content.decode()
    assert "保密客户有限公司" not in home and "被保护单位有限公司" not in home
    for url in ("/accounts/organization/members/", "/accounts/organization/", "/audit/"):
        assert client.get(url).status_code == 404, url
