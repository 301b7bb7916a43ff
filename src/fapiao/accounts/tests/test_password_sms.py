import datetime
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from fapiao import testing
from fapiao.accounts.models import SmsCode, User
from fapiao.accounts.password_sms import sms_reset_confirm, sms_reset_request
from fapiao.audit.events import EventCode
from fapiao.audit.models import Event

pytestmark = pytest.mark.django_db

MOBILE = "13800138000"
NEW_PASSWORD = "Spring-Tea-2031"
REQUEST_URL = "/accounts/password/sms/"
VERIFY_URL = "/accounts/password/sms/verify/"


@pytest.fixture(autouse=True)
def sms_dir(settings, tmp_path) -> Path:
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    cache.clear()  # rate limits (ours for unknown numbers, allauth's, axes') live in the cache
    yield tmp_path / "sms"
    cache.clear()


@pytest.fixture
def user() -> User:
    user = testing.member(testing.organization(), email="zhangwei@example.com")
    user.mobile = MOBILE
    user.save(update_fields=["mobile"])
    return user


def sms_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.txt")) if folder.exists() else []


def last_code(folder: Path) -> str:
    text = sms_files(folder)[-1].read_text(encoding="utf-8")
    return re.search(r"验证码 (\d{6})", text).group(1)


def backdate_codes(minutes: int) -> None:
    SmsCode.objects.update(created_at=F("created_at") - datetime.timedelta(minutes=minutes))


def log_in(client, login: str, password: str):
    return client.post("/accounts/login/", {"login": login, "password": password})


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def reset_through_pages(client, folder: Path, mobile: str = MOBILE, password=NEW_PASSWORD):
    response = client.post(REQUEST_URL, {"mobile": mobile})
    assert response.status_code == 302 and response.url == VERIFY_URL
    return client.post(
        VERIFY_URL,
        {"code": last_code(folder), "new_password": password, "new_password_confirm": password},
    )


def without_csrf(page: str) -> str:
    page = re.sub(r'"X-CSRFToken": "[^"]+"', "", page)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def messages_of(exc: pytest.ExceptionInfo, field: str) -> list[str]:
    return exc.value.message_dict[field]


# The journey through the pages -------------------------------------------------------------------


def test_it_resets_the_password_with_the_code_from_the_sms(client, user, sms_dir):
    response = client.get(REQUEST_URL)
    assert response.status_code == 200
    assert "用手机号码找回密码" in response.text

    response = client.post(REQUEST_URL, {"mobile": "138 0013 8000"})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_sms_verify")
    assert MOBILE not in response.url
    message = sms_files(sms_dir)[0].read_text(encoding="utf-8")
    assert f"To: {MOBILE}" in message and "10 分钟内有效" in message

    page = client.get(VERIFY_URL)
    assert "138****8000" in page.text
    response = client.post(
        VERIFY_URL,
        {
            "code": last_code(sms_dir),
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("password_reset_sms_done")
    done = client.get(response.url)
    assert "密码已重置" in done.text
    assert reverse("account_login") in done.text

    assert log_in(client, user.email, testing.PASSWORD).status_code == 200  # the old one is gone
    assert not is_logged_in(client)
    response = log_in(client, user.email, NEW_PASSWORD)
    assert response.status_code == 302
    assert is_logged_in(client)


def test_it_accepts_the_mobile_number_as_login_after_the_reset(client, user, sms_dir):
    reset_through_pages(client, sms_dir)
    log_in(client, MOBILE, NEW_PASSWORD)
    assert is_logged_in(client)


def test_it_keeps_the_mobile_number_out_of_the_url_and_needs_the_session(client, user):
    response = client.get(VERIFY_URL)
    assert response.status_code == 302
    assert response.url == reverse("password_reset_sms")


def test_it_shows_the_same_page_for_an_unknown_mobile_and_sends_nothing(client, user, sms_dir):
    known = client.post(REQUEST_URL, {"mobile": MOBILE})
    known_page = client.get(VERIFY_URL).text
    unknown = client.post(REQUEST_URL, {"mobile": "13900139000"})
    unknown_page = client.get(VERIFY_URL).text

    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert without_csrf(unknown_page) == without_csrf(known_page).replace(
        "138****8000", "139****9000"
    )
    assert len(sms_files(sms_dir)) == 1
    assert SmsCode.objects.count() == 1


def test_it_refuses_a_code_for_an_unknown_mobile_with_the_wrong_code_message(client, user):
    client.post(REQUEST_URL, {"mobile": "13900139000"})
    response = client.post(
        VERIFY_URL,
        {"code": "123456", "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "验证码错误或已失效" in response.text


def test_it_rate_limits_an_unknown_mobile_like_a_known_one(user, sms_dir):
    sms_reset_request(mobile="13900139000")
    with pytest.raises(ValidationError) as exc:
        sms_reset_request(mobile="13900139000")
    assert "秒后再试" in messages_of(exc, "mobile")[0]


def test_it_refuses_a_malformed_mobile_number(client, sms_dir):
    response = client.post(REQUEST_URL, {"mobile": "12345"})
    assert response.status_code == 200
    assert "请输入 11 位中国大陆手机号码。" in response.text
    assert sms_files(sms_dir) == []


def test_it_refuses_a_confirmation_that_differs(client, user, sms_dir):
    client.post(REQUEST_URL, {"mobile": MOBILE})
    response = client.post(
        VERIFY_URL,
        {
            "code": last_code(sms_dir),
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD + "x",
        },
    )
    assert response.status_code == 200
    assert "两次输入的新密码不一致。" in response.text
    assert SmsCode.objects.get().used_at is None


# Codes -------------------------------------------------------------------------------------------


def test_it_stores_only_a_hash_of_the_code(user, sms_dir):
    sms_reset_request(mobile=MOBILE)
    sms = SmsCode.objects.get()
    code = last_code(sms_dir)
    assert code not in sms.code_hash
    assert sms.purpose == "password_reset"
    assert sms.expires_at - sms.created_at == pytest.approx(
        datetime.timedelta(minutes=10), abs=datetime.timedelta(seconds=5)
    )


def test_it_counts_wrong_codes_and_kills_the_code_after_five(user, sms_dir):
    sms_reset_request(mobile=MOBILE)
    code = last_code(sms_dir)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for attempt in range(1, 6):
        with pytest.raises(ValidationError) as exc:
            sms_reset_confirm(mobile=MOBILE, code=wrong, new_password=NEW_PASSWORD)
        assert "验证码错误或已失效" in messages_of(exc, "code")[0]
        assert SmsCode.objects.get().attempts == attempt

    with pytest.raises(ValidationError):
        sms_reset_confirm(mobile=MOBILE, code=code, new_password=NEW_PASSWORD)
    user.refresh_from_db()
    assert user.check_password(testing.PASSWORD)


def test_it_shows_the_wrong_code_message_on_the_page(client, user, sms_dir):
    client.post(REQUEST_URL, {"mobile": MOBILE})
    code = last_code(sms_dir)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    response = client.post(
        VERIFY_URL,
        {"code": wrong, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "验证码错误或已失效" in response.text
    assert SmsCode.objects.get().attempts == 1


def test_it_refuses_an_expired_code(user, sms_dir):
    sms_reset_request(mobile=MOBILE)
    SmsCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(ValidationError) as exc:
        sms_reset_confirm(mobile=MOBILE, code=last_code(sms_dir), new_password=NEW_PASSWORD)
    assert "code" in exc.value.message_dict
    user.refresh_from_db()
    assert user.check_password(testing.PASSWORD)


def test_it_refuses_a_code_after_ten_minutes(user, sms_dir, monkeypatch):
    sms_reset_request(mobile=MOBILE)
    later = timezone.now() + datetime.timedelta(minutes=10, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with pytest.raises(ValidationError):
        sms_reset_confirm(mobile=MOBILE, code=last_code(sms_dir), new_password=NEW_PASSWORD)


def test_it_refuses_a_code_used_twice(user, sms_dir):
    sms_reset_request(mobile=MOBILE)
    code = last_code(sms_dir)
    sms_reset_confirm(mobile=MOBILE, code=code, new_password=NEW_PASSWORD)
    assert SmsCode.objects.get().used_at is not None

    with pytest.raises(ValidationError):
        sms_reset_confirm(mobile=MOBILE, code=code, new_password="Another-Pass-77")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_it_invalidates_an_earlier_code_when_a_new_one_is_sent(user, sms_dir):
    sms_reset_request(mobile=MOBILE)
    first = last_code(sms_dir)
    backdate_codes(2)
    sms_reset_request(mobile=MOBILE)
    second = last_code(sms_dir)
    if first != second:  # one chance in a million that they are equal
        with pytest.raises(ValidationError):
            sms_reset_confirm(mobile=MOBILE, code=first, new_password=NEW_PASSWORD)
    sms_reset_confirm(mobile=MOBILE, code=second, new_password=NEW_PASSWORD)


# Rate limits -------------------------------------------------------------------------------------


def test_it_allows_one_code_per_minute(client, user, sms_dir):
    client.post(REQUEST_URL, {"mobile": MOBILE})
    response = client.post(REQUEST_URL, {"mobile": MOBILE})
    assert response.status_code == 200
    assert re.search(r"获取验证码过于频繁，请 \d+ 秒后再试。", response.text)
    assert len(sms_files(sms_dir)) == 1

    backdate_codes(1)
    assert client.post(REQUEST_URL, {"mobile": MOBILE}).status_code == 302
    assert len(sms_files(sms_dir)) == 2


def test_it_allows_five_codes_per_hour(user, sms_dir):
    for _ in range(5):
        sms_reset_request(mobile=MOBILE)
        backdate_codes(2)
    with pytest.raises(ValidationError) as exc:
        sms_reset_request(mobile=MOBILE)
    message = messages_of(exc, "mobile")[0]
    assert "一小时内最多获取 5 次验证码" in message
    assert "请 50 分钟后" in message
    assert exc.value.error_dict["mobile"][0].code == "rate_limited"
    assert len(sms_files(sms_dir)) == 5

    backdate_codes(50)
    sms_reset_request(mobile=MOBILE)
    assert len(sms_files(sms_dir)) == 6


# Passwords ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1!xyz", "此密码太短，至少要包含 10 个字符。"),
        ("9081726354", "密码只包含数字。"),
        ("zhangwei@example.com1A", "密码跟 邮箱 太相似了。"),
        ("onlylowercase!", "密码需至少包含小写字母、大写字母、数字、符号中的 3 类。"),
    ],
    ids=["too-short", "only-digits", "like-the-email", "two-classes"],
)
def test_it_refuses_a_weak_password_and_keeps_the_code(user, sms_dir, password, message):
    sms_reset_request(mobile=MOBILE)
    code = last_code(sms_dir)
    with pytest.raises(ValidationError) as exc:
        sms_reset_confirm(mobile=MOBILE, code=code, new_password=password)
    assert message in messages_of(exc, "new_password")
    sms = SmsCode.objects.get()
    assert (sms.used_at, sms.attempts) == (None, 0)

    sms_reset_confirm(mobile=MOBILE, code=code, new_password=NEW_PASSWORD)


def test_it_shows_the_validator_message_on_the_page(client, user, sms_dir):
    client.post(REQUEST_URL, {"mobile": MOBILE})
    response = client.post(
        VERIFY_URL,
        {"code": last_code(sms_dir), "new_password": "short", "new_password_confirm": "short"},
    )
    assert response.status_code == 200
    assert "此密码太短，至少要包含 10 个字符。" in response.text


def test_it_sets_password_changed_at(user, sms_dir):
    User.objects.filter(pk=user.pk).update(password_changed_at=None)
    sms_reset_request(mobile=MOBILE)
    sms_reset_confirm(mobile=MOBILE, code=last_code(sms_dir), new_password=NEW_PASSWORD)
    user.refresh_from_db()
    assert user.password_changed_at is not None


# Lockout and the operation log -------------------------------------------------------------------


def test_it_lifts_a_lockout(client, user, sms_dir):
    for _ in range(4):
        log_in(client, user.email, "Wrong-Password-1")
    assert log_in(client, user.email, "Wrong-Password-1").status_code == 429  # axes locks
    assert log_in(client, user.email, testing.PASSWORD).status_code == 429
    assert not is_logged_in(client)

    reset_through_pages(client, sms_dir)
    assert Event.objects.filter(code=EventCode.ACCOUNT_UNLOCKED, actor=user).exists()
    response = log_in(client, user.email, NEW_PASSWORD)
    assert response.status_code == 302
    assert is_logged_in(client)


def test_it_records_the_request_and_the_reset_in_the_operation_log(client, user, sms_dir):
    reset_through_pages(client, sms_dir)
    requested = Event.objects.get(code=EventCode.ACCOUNT_PASSWORD_RESET_REQUESTED)
    assert requested.actor == user
    assert requested.details == {"channel": "sms"}
    reset = Event.objects.get(code=EventCode.ACCOUNT_PASSWORD_RESET)
    assert reset.actor == user
    assert reset.details == {"channel": "sms"}


def test_it_records_nothing_for_an_unknown_mobile_or_a_wrong_code(user, sms_dir):
    sms_reset_request(mobile="13900139000")
    with pytest.raises(ValidationError):
        sms_reset_confirm(mobile="13900139000", code="123456", new_password=NEW_PASSWORD)
    assert not Event.objects.filter(
        code__in=[EventCode.ACCOUNT_PASSWORD_RESET_REQUESTED, EventCode.ACCOUNT_PASSWORD_RESET]
    ).exists()


def test_it_leaves_no_code_when_the_sms_cannot_be_sent(user, monkeypatch):
    def fail(mobile, text):
        raise OSError("gateway down")

    monkeypatch.setattr("fapiao.accounts.password_sms.send_sms", fail)
    with pytest.raises(OSError):
        sms_reset_request(mobile=MOBILE)
    assert not SmsCode.objects.exists()
    assert not Event.objects.filter(code=EventCode.ACCOUNT_PASSWORD_RESET_REQUESTED).exists()


def test_it_ignores_inactive_users(user, sms_dir):
    User.objects.filter(pk=user.pk).update(is_active=False)
    sms_reset_request(mobile=MOBILE)
    assert sms_files(sms_dir) == []
