"""A user's language: chosen with the switch at the top of the pages (or on the profile), kept on
the account, followed by the pages on any browser, and by the e-mails sent to them."""

import pytest
from django.urls import reverse
from django.utils import translation

from fapiao import testing
from fapiao.accounts.models import Role, User
from fapiao.accounts.services import invitation_create, join_request_create, language_set
from fapiao.audit.events import EventCode
from fapiao.audit.models import Event
from fapiao.rules import uscc

pytestmark = pytest.mark.django_db

STRONG = "Qiye-Fapiao-2026!"


@pytest.fixture(autouse=True)
def _language_reset():
    yield
    translation.deactivate()


@pytest.fixture
def org():
    return testing.organization("语言测试有限公司")


def test_the_switch_saves_the_choice_on_the_account_with_an_event(client, org):
    user = testing.member(org)
    client.force_login(user)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/help/"})
    assert response.status_code == 302 and response["Location"] == "/help/"
    user.refresh_from_db()
    assert user.language == "en"
    event = Event.objects.filter(actor=user, code=EventCode.ACCOUNT_PROFILE_UPDATED).latest("id")
    assert event.details == {"changed": ["language"], "language": ["", "en"]}
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/help/"})
    user.refresh_from_db()
    assert user.language == "zh-hans"


def test_a_switch_before_signing_in_only_sets_the_browser_and_a_bad_code_changes_nothing(
    client, org
):
    user = testing.member(org)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get("/help/").content.decode()
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    user.refresh_from_db()
    assert user.language == ""
    assert not Event.objects.filter(code=EventCode.ACCOUNT_PROFILE_UPDATED).exists()


def test_the_pages_follow_the_account_on_a_new_browser(client, org):
    user = testing.member(org)
    language_set(user=user, language="en")
    client.force_login(user)  # a browser that never used the switch, asking for Chinese
    page = client.get("/help/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="en">' in page and ">Help<" in page
    client.logout()
    page = client.get("/help/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="zh-hans">' in page  # signed out: the browser decides again


def test_the_signed_in_message_is_in_the_accounts_language(client, org):
    user = testing.member(org, email="en-login@example.com")
    language_set(user=user, language="en")
    response = client.post(
        "/accounts/login/",
        {"login": "en-login@example.com", "password": testing.PASSWORD},
        HTTP_ACCEPT_LANGUAGE="zh-CN",
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert messages and all("登录" not in m for m in messages), messages
    assert any("signed in" in m.lower() for m in messages), messages


def test_without_a_choice_the_browser_decides(client, org):
    user = testing.member(org)
    client.force_login(user)
    page = client.get("/help/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="en">' in page


def test_signing_up_in_english_keeps_english(client, mailoutbox):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    client.post(
        "/accounts/signup/",
        {
            "name": "Liu Yang",
            "mobile": "139 1234 5678",
            "email": "liu@example.com",
            "company_name": "北京英文注册科技有限公司",
            "tax_id": uscc.make("91110105MA0LANG01"),
            "password1": STRONG,
            "password2": STRONG,
        },
    )
    assert User.objects.get(email="liu@example.com").language == "en"
    assert mailoutbox[-1].subject == "[Invoice Platform] Please verify your email address"


def test_signing_up_in_chinese_leaves_the_account_following_the_browser(client):
    client.post(
        "/accounts/signup/",
        {
            "name": "刘洋",
            "mobile": "139 1234 5679",
            "email": "liu-zh@example.com",
            "company_name": "北京中文注册科技有限公司",
            "tax_id": uscc.make("91110105MA0LANG02"),
            "password1": STRONG,
            "password2": STRONG,
        },
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    )
    assert User.objects.get(email="liu-zh@example.com").language == ""
    assert not Event.objects.filter(code=EventCode.ACCOUNT_PROFILE_UPDATED).exists()


def test_a_password_reset_asked_on_a_chinese_page_is_mailed_in_the_accounts_language(
    client, org, mailoutbox
):
    user = testing.member(org, email="reset@example.com")
    language_set(user=user, language="en")
    client.post("/accounts/password/reset/", {"email": "RESET@example.com"})
    (sent,) = mailoutbox
    assert sent.subject.startswith("[Invoice Platform] ")
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in sent.subject)
    language_set(user=user, language="")
    client.post("/accounts/password/reset/", {"email": "reset@example.com"})
    assert mailoutbox[-1].subject.startswith("【发票平台】")


def test_language_set_refuses_an_unknown_language(org):
    from django.core.exceptions import ValidationError

    user = testing.member(org)
    with pytest.raises(ValidationError):
        language_set(user=user, language="xx")
    user.refresh_from_db()
    assert user.language == ""


def test_each_recipient_of_an_account_email_reads_it_in_their_language(
    org, mailoutbox, django_capture_on_commit_callbacks
):
    chinese_admin = testing.member(org, Role.ADMIN, email="zh-admin@example.com")
    english_admin = testing.member(org, Role.ADMIN, email="en-admin@example.com")
    language_set(user=english_admin, language="en")
    applicant = User.objects.create_user(email="applicant@example.com", password=testing.PASSWORD)
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        join_request_create(user=applicant, organization=org)
    by_recipient = {tuple(m.to): m for m in mailoutbox}
    chinese = by_recipient[(chinese_admin.email,)]
    english = by_recipient[(english_admin.email,)]
    assert chinese.subject == f"【发票平台】{applicant} 申请加入 语言测试有限公司"
    assert "成员管理" in chinese.body
    assert english.subject == f"[Invoice Platform] {applicant} asks to join 语言测试有限公司"
    assert "Members" in english.body and "成员管理" not in english.body


def test_an_invitation_to_an_address_not_on_the_platform_is_in_chinese(
    org, mailoutbox, django_capture_on_commit_callbacks
):
    admin = testing.member(org, Role.ADMIN)
    language_set(user=admin, language="en")
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        invitation_create(actor=admin, organization=org, email="new@example.com", role=Role.VIEWER)
    (sent,) = mailoutbox
    assert sent.subject.startswith("【发票平台】") and "邀请您加入 语言测试有限公司" in sent.subject
    assert "请在" in sent.body and "前打开下面的链接接受邀请" in sent.body


def test_the_profile_sets_the_language_and_the_browser_follows(client, org):
    user = testing.member(org)
    client.force_login(user)
    page = client.get(reverse("profile")).content.decode()
    assert 'name="language"' in page and "跟随浏览器" in page
    assert "发给您的邮件和站内消息使用的语言" in page  # the field says what it changes
    response = client.post(
        reverse("profile"), {"name": "张三", "mobile": "13912345670", "language": "en"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "en"
    assert response.cookies["django_language"].value == "en"
    page = client.get(reverse("profile")).content.decode()
    assert '<html lang="en">' in page and "Profile saved" in page
    client.post(reverse("profile"), {"name": "张三", "mobile": "13912345670", "language": ""})
    user.refresh_from_db()
    assert user.language == ""
