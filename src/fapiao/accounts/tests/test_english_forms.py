"""The forms and messages written in Python (labels, placeholders, validation errors, flash
messages) follow the language the user switched to, like the templates around them."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.rules import uscc

pytestmark = pytest.mark.django_db

STRONG = "Qiye-Fapiao-2026!"


@pytest.fixture(autouse=True)
def _language_reset():
    yield
    translation.deactivate()


def _english(client) -> None:
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302


def _labels(page: str) -> dict[str, str]:
    """The text of each <label for="id_...">, by field name."""
    return {
        name: re.sub(r"<[^>]+>", "", text).strip()
        for name, text in re.findall(r'<label[^>]*for="id_(\w+)"[^>]*>(.*?)</label>', page, re.S)
    }


def _errors(response) -> str:
    return " ".join(
        re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    )


def test_the_signup_form_is_in_english_after_switching(client):
    chinese = _labels(client.get("/accounts/signup/").content.decode())
    assert chinese["name"] == "真实姓名" and chinese["company_name"] == "单位名称"

    _english(client)
    page = client.get("/accounts/signup/").content.decode()
    labels = _labels(page)
    assert labels["name"] == "Full name"
    assert labels["mobile"] == "Mobile number"
    assert labels["email"] == "Email"
    assert labels["company_name"] == "Company name"
    assert labels["tax_id"].startswith("Unified social credit code")
    assert 'placeholder="Used to sign in and to receive notifications"' in page
    for text in ("真实姓名", "手机号码", "单位名称", "统一社会信用代码", "用于登录和接收通知"):
        assert text not in page


def test_signup_validation_errors_are_in_english_after_switching(client):
    data = {
        "name": "Liu Yang",
        "mobile": "12345",
        "email": "liu@example.com",
        "company_name": "",
        "tax_id": "",
        "password1": STRONG,
        "password2": STRONG,
    }
    chinese = _errors(client.post("/accounts/signup/", data))
    assert "请输入 11 位中国大陆手机号码。" in chinese and "请填写统一社会信用代码。" in chinese

    _english(client)
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 200
    errors = _errors(response)
    assert "Enter an 11-digit mainland China mobile number." in errors
    assert "Enter the company name (as on the business license)." in errors
    assert "Enter the unified social credit code." in errors
    assert not re.search(r"[\u4e00-\u9fff]", errors), errors


def test_a_taken_mobile_number_is_refused_in_english(client):
    org = testing.organization("英文注册测试有限公司")
    taken = testing.member(org)
    taken.mobile = "13912345678"
    taken.save(update_fields=["mobile"])
    _english(client)
    response = client.post(
        "/accounts/signup/",
        {
            "name": "Liu Yang",
            "mobile": "139 1234 5678",
            "email": "liu@example.com",
            "company_name": "北京英文注册科技有限公司",
            "tax_id": uscc.make("91110105MA0LANG02"),
            "password1": STRONG,
            "password2": STRONG,
        },
    )
    assert "This mobile number is already registered." in _errors(response)


def test_member_flash_messages_follow_the_language(client):
    org = testing.organization("英文消息测试有限公司")
    admin = testing.member(org, Role.ADMIN)
    client.force_login(admin)
    url = reverse("org_member_invite")
    bad = {"email": "not-an-address", "role": Role.VIEWER}

    page = client.post(url, bad, follow=True).content.decode()
    assert "请填写正确的邮箱和角色。" in page

    _english(client)
    response = client.post(url, bad, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert shown == ["Enter a valid email address and role."]
    assert "请填写正确的邮箱和角色。" not in response.content.decode()
