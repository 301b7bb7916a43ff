import re

import pytest
from playwright.sync_api import expect

from fapiao.accounts.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_home_page_title_navigation_and_health(server, page, screenshot):
    page.goto(server + "/")
    expect(page).to_have_title("欢迎 · 发票平台")
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link")).to_have_text(["首页", "帮助"])
    # Static files come from the server itself (no CDN): the stylesheet applied.
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).position") == "sticky"
    shot = screenshot("home-anonymous")
    assert shot.stat().st_size > 10_000


def test_demo_admin_logs_in_and_sees_the_dashboard(server, page, screenshot):
    page.goto(server + "/accounts/login/")
    page.get_by_label(re.compile("邮箱|Email", re.I)).fill("admin@yunfan.demo")
    page.get_by_label(re.compile("密码|Password", re.I)).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("登录|Sign In", re.I)).click()
    expect(page).to_have_title("工作台 · 发票平台")
    expect(page.locator(".topbar .org")).to_have_text("北京云帆数字科技有限公司")
    expect(page.locator("table.bars tbody tr")).to_have_count(12)
    expect(page.locator("table.data tbody tr").first).to_be_visible()
    screenshot("dashboard")


def test_language_switch_to_english_and_back(server, page, screenshot):
    page.goto(server + "/help/")
    page.get_by_role("button", name="EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("navigation").get_by_role("link")).to_have_text(["Home", "Help"])
    screenshot("help-english")
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")


def test_missing_page_is_the_friendly_404(server, page, screenshot):
    response = page.goto(server + "/nowhere/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    screenshot("not-found")


def test_the_top_bar_fits_a_phone_and_its_navigation_stays_usable(server, page, screenshot):
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(server + "/accounts/login/")
    page.get_by_label(re.compile("邮箱|Email", re.I)).fill("admin@yunfan.demo")
    page.get_by_label(re.compile("密码|Password", re.I)).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("登录|Sign In", re.I)).click()
    expect(page).to_have_title("工作台 · 发票平台")
    # Nothing sticks out sideways: the page does not scroll horizontally.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
            .filter(el => !el.parentElement.closest('.table-wrap, .mainnav'))
            .map(el => el.tagName + '.' + el.className)"""
    )
    nav = page.get_by_role("navigation", name="主导航")
    box = nav.bounding_box()
    assert box["width"] > 300 and box["height"] > 20  # its own row, not squeezed to nothing
    # Modules beyond the screen's edge are reached by scrolling the navigation itself.
    statistics = nav.get_by_role("link", name="统计")
    statistics.scroll_into_view_if_needed()
    statistics.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("发票统计")
    screenshot("shell-phone")
