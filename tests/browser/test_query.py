import re

import pytest
from playwright.sync_api import expect

from fapiao.accounts.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_the_query_page_finds_invoices_by_four_characters_of_the_buyers_name(
    server, page, screenshot
):
    page.goto(server + "/accounts/login/")
    page.locator("input[name=login]").fill("admin@yunfan.demo")
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    expect(page).to_have_title(re.compile("工作台"))

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="查询").click()
    page.locator("#id_party").fill("明澜商贸")  # 4 characters of 上海明澜商贸有限公司
    page.locator("#id_party").press("Enter")
    rows = page.locator("table.data tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() > 0
    for text in rows.all_inner_texts()[:20]:
        assert "上海明澜商贸有限公司" in text, text
    screenshot("query-by-name")
