import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal import auth as totp
from allauth.usersessions.models import UserSession
from django.test import Client

from fapiao import testing
from fapiao.audit.models import Event

pytestmark = pytest.mark.django_db


def current_code(secret: str) -> str:
    return totp.format_hotp_value(totp.hotp_value(secret, int(time.time()) // 30))


def login(client, user, password=testing.PASSWORD):
    return client.post("/accounts/login/", {"login": user.email, "password": password})


def test_totp_two_factor_with_recovery_codes(client, django_capture_on_commit_callbacks):
    user = testing.member(testing.organization())
    login(client, user)
    # Turning on 2FA asks for the password again (a recent authentication).
    response = client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    client.post(response["Location"], {"password": testing.PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = page.context["form"].secret
    with django_capture_on_commit_callbacks(execute=True):  # allauth signals after commit
        response = client.post("/accounts/2fa/totp/activate/", {"code": current_code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type="totp").exists()
    assert Authenticator.objects.filter(user=user, type="recovery_codes").exists()
    assert Event.objects.filter(code="account.mfa_enabled", actor=user).exists()

    fresh = Client()
    response = login(fresh, user)
    assert response.status_code == 302 and "/2fa/authenticate/" in response["Location"]
    assert "_auth_user_id" not in fresh.session  # the password alone is not enough
    fresh.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert "_auth_user_id" not in fresh.session
    fresh.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert fresh.session["_auth_user_id"] == str(user.pk)


def test_sign_out_everywhere_ends_the_other_sessions(client):
    user = testing.member(testing.organization())
    other = Client(HTTP_USER_AGENT="Other browser")
    login(other, user)
    login(client, user)
    assert UserSession.objects.filter(user=user).count() == 2
    page = client.get("/accounts/sessions/")
    assert page.status_code == 200 and "Other browser" in page.content.decode()
    client.post("/accounts/sessions/")
    assert "_auth_user_id" not in other.session.load() if hasattr(other.session, "load") else True
    assert other.get("/accounts/profile/").status_code == 302  # signed out: back to login
    assert client.get("/accounts/profile/").status_code == 200
    assert Event.objects.filter(code="account.sessions_ended", actor=user).exists()


def test_password_change_is_logged_and_the_profile_shows_its_age(client):
    user = testing.member(testing.organization())
    login(client, user)
    new = "Brand-New-Pass-2026"
    response = client.post("/accounts/password/change/", {
        "oldpassword": testing.PASSWORD, "password1": new, "password2": new,
    })  # fmt: skip
    assert response.status_code == 302
    assert Event.objects.filter(code="account.password_changed", actor=user).exists()
    assert re.search(r"0\s*天前修改", client.get("/accounts/profile/").content.decode())
