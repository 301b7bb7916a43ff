import datetime
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import timezone

from fapiao import testing
from fapiao.accounts.context_processors import password_reminder
from fapiao.accounts.models import User
from fapiao.accounts.passwords import password_is_stale
from fapiao.audit.events import EventCode
from fapiao.audit.models import Event

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Autumn-Leaf-2032"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # allauth's reset rate limits live in the cache
    yield
    cache.clear()


@pytest.fixture
def user() -> User:
    return testing.member(testing.organization())


def changed_days_ago(user: User, days: int) -> User:
    user.password_changed_at = timezone.now() - datetime.timedelta(days=days)
    return user


def reminder_for(user) -> dict:
    request = RequestFactory().get("/")
    request.user = user
    return password_reminder(request)


# Age of the password -----------------------------------------------------------------------------


def test_it_sets_password_changed_at_with_the_password(user):
    before = timezone.now()
    user.set_password(NEW_PASSWORD)
    assert user.password_changed_at >= before


@pytest.mark.parametrize(("days", "stale"), [(0, False), (179, False), (180, True), (400, True)])
def test_it_finds_a_password_stale_after_the_maximum_age(user, days, stale):
    assert password_is_stale(changed_days_ago(user, days), 180, timezone.now()) is stale


def test_it_never_finds_a_password_stale_when_the_maximum_is_zero(user):
    assert password_is_stale(changed_days_ago(user, 4000), 0, timezone.now()) is False


def test_it_never_finds_an_anonymous_password_stale():
    assert password_is_stale(AnonymousUser(), 180, timezone.now()) is False


def test_it_does_not_remind_without_a_change_date(user):
    user.password_changed_at = None
    assert password_is_stale(user, 180, timezone.now()) is False


def test_it_reminds_a_user_with_a_stale_password(settings, user):
    settings.FAPIAO_PASSWORD_MAX_AGE_DAYS = 90
    assert reminder_for(changed_days_ago(user, 91)) == {
        "password_stale": True,
        "password_max_age_days": 90,
    }
    assert reminder_for(changed_days_ago(user, 89))["password_stale"] is False


def test_it_does_not_remind_when_the_setting_is_zero(settings, user):
    settings.FAPIAO_PASSWORD_MAX_AGE_DAYS = 0
    assert reminder_for(changed_days_ago(user, 4000))["password_stale"] is False


def test_it_does_not_remind_anonymous_visitors():
    assert reminder_for(AnonymousUser())["password_stale"] is False


# Reset by email (allauth) ------------------------------------------------------------------------


def test_it_offers_the_sms_reset_on_the_email_reset_page(client):
    response = client.get("/accounts/password/reset/")
    assert response.status_code == 200
    assert "找回密码" in response.text
    assert "用手机号码找回" in response.text
    assert 'href="/accounts/password/sms/"' in response.text


def test_it_resets_the_password_with_the_emailed_link(client, user, mailoutbox):
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [user.email]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mailoutbox[0].body)
    assert link

    response = client.get(link.group(1))
    assert response.status_code == 302  # allauth moves the key into the session
    form_url = response.url
    assert client.get(form_url).status_code == 200
    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302

    reset = Event.objects.get(code=EventCode.ACCOUNT_PASSWORD_RESET)
    assert reset.actor == user
    assert reset.details == {"channel": "email"}
    assert Event.objects.filter(
        code=EventCode.ACCOUNT_PASSWORD_RESET_REQUESTED, details__channel="email"
    ).exists()

    response = client.post("/accounts/login/", {"login": user.email, "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_it_refuses_a_weak_password_on_the_emailed_link(client, user, mailoutbox):
    client.post("/accounts/password/reset/", {"email": user.email})
    path = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mailoutbox[0].body)
    form_url = client.get(path.group(1)).url
    response = client.post(form_url, {"password1": "1234567890", "password2": "1234567890"})
    assert response.status_code == 200
    assert "密码只包含数字。" in response.text
    user.refresh_from_db()
    assert user.check_password(testing.PASSWORD)
