"""Account journeys in the browser: registration with email verification, password reset by email,
joining an organization by invitation, and the login lockout (django-axes).

The server and its database are shared by the whole session, so every journey uses addresses of
its own. The lockout journey runs last in this file and lifts the lockout it causes (axes also
locks the IP address, and every browser test comes from 127.0.0.1).
"""

import email
import os
import re
import secrets
import time
from email import policy
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from fapiao.accounts.demo import DEMO_PASSWORD
from fapiao.rules import uscc

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Qiye-Fapiao-2026!"
DEMO_ORG_NAME = "北京云帆数字科技有限公司"
# AXES_FAILURE_LIMIT: the server inherits FAPIAO_LOCKOUT_FAILURES from this environment.
LOCKOUT_FAILURES = int(os.environ.get("FAPIAO_LOCKOUT_FAILURES", "5"))
MAIL_SEPARATOR = re.compile(r"^-{79}$", re.MULTILINE)


# Helpers ----------------------------------------------------------------------------------------
def _unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}@example.com"


def _mobile() -> str:
    return "139" + "".join(str(secrets.randbelow(10)) for _ in range(8))


def _tax_id() -> str:
    body = "".join(secrets.choice(uscc.CHARSET) for _ in range(7))
    return uscc.make("91110105MA" + body)


def _mails_to(var_dir: Path, address: str) -> list[email.message.EmailMessage]:
    """The messages the file mail backend wrote to `address`, oldest first."""
    found = []
    files = sorted((var_dir / "mail").glob("*"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    for path in files:
        for chunk in MAIL_SEPARATOR.split(path.read_text(encoding="utf-8")):
            chunk = chunk.strip("\n")
            if not chunk:
                continue
            message = email.message_from_string(chunk + "\n", policy=policy.default)
            if address.lower() in str(message.get("To", "")).lower():
                found.append(message)
    return found


def _newest_mail(var_dir: Path, address: str, *, after: int = 0, timeout: float = 15):
    """The newest message to `address` once more than `after` have arrived: (subject, body)."""
    deadline = time.monotonic() + timeout
    while True:
        mails = _mails_to(var_dir, address)
        if len(mails) > after:
            message = mails[-1]
            body = message.get_body(preferencelist=("plain",))
            return str(message["Subject"]), body.get_content()
        if time.monotonic() > deadline:
            pytest.fail(f"no mail to {address} within {timeout}s (found {len(mails)})")
        time.sleep(0.2)


def _link(body: str, path_pattern: str) -> str:
    match = re.search(r"https?://[^\s/]+" + path_pattern + r"\S*", body)
    assert match, f"no link matching {path_pattern!r} in the mail:\n{body}"
    return match.group(0)


def _login(page: Page, server: str, login: str, password: str) -> None:
    page.goto(server + "/accounts/login/")
    _submit_login(page, login, password)


def _submit_login(page: Page, login: str, password: str) -> None:
    page.get_by_label("邮箱").fill(login)
    page.get_by_label("密码", exact=True).fill(password)
    page.locator("main").get_by_role("button", name="登录").click()


def _login_post(response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/accounts/login/")


def _logout(page: Page) -> None:
    page.locator("details.usermenu > summary").click()
    page.locator(".usermenu").get_by_role("button", name="退出").click()
    expect(page.locator("details.usermenu")).to_have_count(0)


def _fill_person(page: Page, *, name: str, mobile: str, email_address: str | None) -> None:
    page.get_by_label("真实姓名").fill(name)
    page.get_by_label("手机号码").fill(mobile)
    if email_address is not None:
        page.locator("input[name=email]").fill(email_address)
    page.locator("input[name=password1]").fill(NEW_PASSWORD)
    page.locator("input[name=password2]").fill(NEW_PASSWORD)


def _confirm_email(page: Page, server, address: str, *, screenshot=None, shot: str = "") -> None:
    """Open the verification link of the newest mail to `address` and confirm (allauth asks for
    a click: the link alone, a GET, confirms nothing)."""
    subject, body = _newest_mail(server.var_dir, address)
    assert "请验证您的邮箱" in subject
    page.goto(_link(body, r"/accounts/confirm-email/"))
    expect(page.get_by_role("heading", name="确认邮箱地址")).to_be_visible()
    expect(page.locator("main")).to_contain_text(address)
    if screenshot:
        screenshot(shot)
    page.locator("main").get_by_role("button", name="确认").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def _register_company(page: Page, server, *, address: str, company: str, screenshot=None) -> None:
    page.goto(server + "/accounts/signup/")
    expect(page).to_have_title("注册 · 发票平台")
    _fill_person(page, name="刘洋", mobile=_mobile(), email_address=address)
    page.get_by_label("单位名称").fill(company)
    page.get_by_label("统一社会信用代码").fill(_tax_id())
    expect(page.locator("#uscc-check")).not_to_be_empty()
    if screenshot:
        screenshot("accounts-register-form")
    page.locator("main").get_by_role("button", name="注册").click()
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    expect(page.get_by_role("heading", name="验证您的邮箱")).to_be_visible()


# Journeys ---------------------------------------------------------------------------------------
def test_register_company_verify_email_and_log_in(server, page, screenshot):
    address, company = _unique("register"), f"杭州青禾信息技术有限公司{secrets.token_hex(2)}"
    _register_company(page, server, address=address, company=company, screenshot=screenshot)
    screenshot("accounts-register-verification-sent")

    _confirm_email(
        page, server, address, screenshot=screenshot, shot="accounts-register-confirm-email"
    )
    _submit_login(page, address, NEW_PASSWORD)
    expect(page).to_have_title(re.compile("工作台"))
    expect(page.locator(".usermenu .org")).to_have_text(company)
    expect(page.locator("main h1")).to_have_text("工作台")
    screenshot("accounts-register-dashboard")


def test_forgotten_password_reset_by_email_link(server, page, screenshot):
    address, password = "viewer@yunfan.demo", "Chaxun-Mima-2026!"
    before = len(_mails_to(server.var_dir, address))
    page.goto(server + "/")
    page.get_by_role("link", name="登录").first.click()
    page.get_by_role("link", name="忘记密码？").click()
    expect(page).to_have_url(server + "/accounts/password/reset/")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("找回密码|密码重置"))
    page.locator("main input[name=email]").fill(address)
    screenshot("accounts-reset-request")
    page.locator("main form").get_by_role("button", name=re.compile("发送重置邮件|重置")).click()
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/done/$"))
    screenshot("accounts-reset-sent")

    subject, body = _newest_mail(server.var_dir, address, after=before)
    assert "重置密码" in subject
    page.goto(_link(body, r"/accounts/password/reset/key/"))
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/key/.+-set-password/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("密码"))
    page.locator("input[name=password1]").fill(password)
    page.locator("input[name=password2]").fill(password)
    screenshot("accounts-reset-set-password")
    page.locator("main form").get_by_role("button", name=re.compile("密码")).click()
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/key/done/$"))
    screenshot("accounts-reset-done")

    # The old password no longer works; the new one does.
    _login(page, server, address, DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    _login(page, server, address, password)
    expect(page).to_have_title(re.compile("工作台"))
    expect(page.locator(".usermenu .org")).to_have_text(DEMO_ORG_NAME)
    screenshot("accounts-reset-dashboard")


def test_invited_person_registers_and_joins_the_organization(server, page, screenshot):
    invitee = _unique("invitee")
    _login(page, server, "admin@yunfan.demo", DEMO_PASSWORD)
    expect(page).to_have_title(re.compile("工作台"))
    page.locator("details.usermenu > summary").click()
    page.locator(".usermenu").get_by_role("link", name="成员管理").click()
    expect(page).to_have_title("成员管理 · 发票平台")
    invite = page.locator("section", has=page.get_by_role("heading", name="邀请成员"))
    invite.get_by_label("邮箱").fill(invitee)
    invite.get_by_label("角色").select_option(label="开票员")
    screenshot("accounts-invite-form")
    invite.get_by_role("button", name="发送邀请").click()
    expect(page.locator(".messages")).to_contain_text(f"已向 {invitee} 发送邀请")
    pending = page.locator("section", has=page.get_by_role("heading", name="未接受的邀请"))
    expect(pending.get_by_role("row", name=invitee)).to_contain_text("开票员")
    screenshot("accounts-invite-sent")
    _logout(page)

    # The invitee follows the link in the invitation mail and registers.
    subject, body = _newest_mail(server.var_dir, invitee)
    assert DEMO_ORG_NAME in subject
    invitation_url = _link(body, r"/accounts/invitations/")
    page.goto(invitation_url)
    expect(page.get_by_role("heading", name="组织邀请")).to_be_visible()
    expect(page.locator("main")).to_contain_text(DEMO_ORG_NAME)
    screenshot("accounts-invite-landing")
    page.get_by_role("link", name="注册新账号").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    expect(page.locator("main .notice")).to_contain_text(f"“开票员”身份加入 {DEMO_ORG_NAME}")
    expect(page.get_by_label("单位名称")).to_have_count(0)
    expect(page.get_by_label("统一社会信用代码")).to_have_count(0)
    expect(page.locator("input[name=email]")).to_have_value(invitee)
    _fill_person(page, name="孙悦", mobile=_mobile(), email_address=None)
    screenshot("accounts-invite-signup")
    page.locator("main").get_by_role("button", name="注册").click()
    expect(page.get_by_role("heading", name="验证您的邮箱")).to_be_visible()

    _confirm_email(page, server, invitee)
    _submit_login(page, invitee, NEW_PASSWORD)
    expect(page).to_have_url(invitation_url)
    screenshot("accounts-invite-accept")
    page.get_by_role("button", name="接受邀请").click()
    expect(page).to_have_title(re.compile("工作台"))
    expect(page.locator(".messages")).to_contain_text(f"您已加入 {DEMO_ORG_NAME}")
    expect(page.locator(".usermenu .org")).to_have_text(DEMO_ORG_NAME)
    screenshot("accounts-invite-joined")
    _logout(page)

    # The admin sees the new member, with the role of the invitation.
    _login(page, server, "admin@yunfan.demo", DEMO_PASSWORD)
    page.goto(server + "/accounts/organization/members/")
    row = page.locator(f'tr[data-member="{invitee}"]')
    expect(row).to_contain_text("孙悦")
    expect(row.locator("select[name=role] option:checked")).to_have_text("开票员")
    expect(pending.get_by_role("row", name=invitee)).to_have_count(0)
    screenshot("accounts-invite-admin-members")


# Last in this file: it locks 127.0.0.1 out until it lifts the lockout again.
def test_lockout_after_repeated_wrong_passwords(server, page, screenshot):
    address = _unique("lockout")
    _register_company(
        page, server, address=address, company=f"锁定测试有限公司{secrets.token_hex(2)}"
    )
    _confirm_email(page, server, address)
    try:
        for attempt in range(1, LOCKOUT_FAILURES):
            _submit_login(page, address, f"Wrong-Password-{attempt}")
            expect(page).to_have_url(re.compile(r"/accounts/login/$"))
            expect(page.get_by_role("heading", name="登录")).to_be_visible()
            expect(page.locator("main")).to_contain_text("不正确")
            expect(page.get_by_text("账号已暂时锁定")).to_have_count(0)
        screenshot("accounts-lockout-wrong-password")

        # The fifth failure locks the account: its own response is the lockout page (429).
        with page.expect_response(_login_post) as fifth:
            _submit_login(page, address, f"Wrong-Password-{LOCKOUT_FAILURES}")
        assert fifth.value.status == 429
        expect(page.get_by_role("heading", name="账号已暂时锁定")).to_be_visible()
        expect(page).to_have_title("账号已锁定 · 发票平台")
        expect(page.locator("main [role=alert]")).to_contain_text(
            f"连续 {LOCKOUT_FAILURES} 次登录失败"
        )
        screenshot("accounts-lockout-page")

        # Now even the right password is refused, with the same page.
        page.goto(server + "/accounts/login/")
        with page.expect_response(_login_post) as right:
            _submit_login(page, address, NEW_PASSWORD)
        assert right.value.status == 429
        expect(page.get_by_role("heading", name="账号已暂时锁定")).to_be_visible()
        expect(page.locator("details.usermenu")).to_have_count(0)
        screenshot("accounts-lockout-right-password")
    finally:
        # axes also locked 127.0.0.1, from which every browser test comes: lift the lockout.
        server.command("axes_reset")
    _login(page, server, "issuer@yunfan.demo", DEMO_PASSWORD)
    expect(page).to_have_title(re.compile("工作台"))


def test_a_chosen_language_follows_the_account_to_another_browser(server, page, screenshot):
    _login(page, server, "reviewer@yunfan.demo", DEMO_PASSWORD)
    page.goto(server + "/accounts/profile/")
    expect(page.locator("main h1")).to_have_text("个人资料")
    page.get_by_label("语言").select_option("en")
    page.locator("main").get_by_role("button", name="保存").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main h1")).to_have_text("Profile")
    expect(page.locator("main")).to_contain_text("Profile saved.")
    expect(page.get_by_label("Language")).to_have_value("en")
    screenshot("accounts-profile-language-en")

    # Another browser (no cookie, asking for Chinese): once signed in, the pages are in English.
    page.context.clear_cookies()
    _login(page, server, "reviewer@yunfan.demo", DEMO_PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".langswitch button.current")).to_have_text("EN")
    screenshot("accounts-language-followed-after-login")

    # Back to following the browser (zh-CN here): Chinese again.
    page.goto(server + "/accounts/profile/")
    page.get_by_label("Language").select_option("")
    page.locator("main").get_by_role("button", name="Save").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("main")).to_contain_text("个人资料已保存。")
