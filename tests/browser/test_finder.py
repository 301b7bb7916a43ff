import datetime
import re

import pytest
from playwright.sync_api import expect

from fapiao.accounts.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def sign_in(server, page) -> None:
    page.goto(server + "/accounts/login/")
    page.locator("input[name=login]").fill("admin@yunfan.demo")
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    expect(page).to_have_title(re.compile("工作台"))


def a_digital_invoice_number(server, page) -> str:
    """The number of one of the demo organization's 数电 invoices, as the invoice list shows it."""
    page.goto(server + "/invoices/")
    for text in page.locator("table.data tbody tr td.mono").all_inner_texts():
        if re.fullmatch(r"\d{20}", text.strip()):
            return text.strip()
    raise AssertionError("the demo has no 数电 invoice")


def test_one_digit_wrong_the_finder_proposes_the_right_invoice(server, page, screenshot):
    sign_in(server, page)
    right = a_digital_invoice_number(server, page)
    typed = right[:8] + str((int(right[8]) + 7) % 10) + right[9:]  # the 9th digit mistyped

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="发票查找").click()
    expect(page).to_have_title(re.compile("发票查找"))
    page.locator("#id_number").fill(typed)
    page.get_by_role("button", name="查找", exact=True).click()

    first = page.locator("section.diagnosis").first
    expect(first).to_have_attribute("data-diagnosis", "near_match")
    expect(first).to_contain_text(f"第 9 位：输入的是“{typed[8]}”，应为“{right[8]}”")
    proposal = first.locator(f"tr[data-proposal='{right}']")
    expect(proposal).to_be_visible()
    screenshot("finder-near-match")

    proposal.get_by_role("link", name=right).click()
    expect(page).to_have_url(re.compile(r"/invoices/\d+/$"))
    expect(page.locator("main")).to_contain_text(right)
    screenshot("finder-near-match-invoice")


def test_a_shanghai_number_belongs_to_shanghais_system(server, page, screenshot):
    sign_in(server, page)
    year = datetime.date.today().year % 100
    shanghai = f"{year:02d}312000000012345678"
    page.goto(server + "/finder/")
    page.locator("#id_number").fill(shanghai)
    page.locator("#id_date").fill((datetime.date.today() - datetime.timedelta(days=30)).isoformat())
    page.get_by_role("button", name="查找", exact=True).click()

    first = page.locator("section.diagnosis").first
    expect(first).to_have_attribute("data-diagnosis", "other_region")
    expect(first).to_contain_text("上海市")
    expect(first).to_contain_text("不在北京的平台里")
    expect(first).to_contain_text("“31”")
    expect(first.get_by_role("link", name="全国增值税发票查验平台")).to_be_visible()
    screenshot("finder-shanghai")


def test_the_invoice_list_sends_a_fruitless_search_to_the_finder(server, page, screenshot):
    sign_in(server, page)
    page.goto(server + "/invoices/?number=26110000000000000001")
    page.get_by_role("link", name="找不到？让平台诊断原因").click()
    expect(page).to_have_url(re.compile(r"/finder/\?number=26110000000000000001"))
    expect(page.locator("#id_number")).to_have_value("26110000000000000001")
    expect(page.locator("[data-found='0']")).to_be_visible()
    screenshot("finder-from-list")


def test_a_red_invoice_is_marked_red_among_the_proposals(server, page, screenshot):
    sign_in(server, page)
    page.goto(server + "/invoices/")
    red_row = page.locator("table.data tbody tr").filter(has=page.locator(".tag.red")).first
    expect(red_row).to_be_visible()
    right = red_row.locator("td.mono").inner_text().strip()
    typed = right[:8] + str((int(right[8]) + 7) % 10) + right[9:]

    page.goto(server + "/finder/")
    page.locator("#id_number").fill(typed)
    page.get_by_role("button", name="查找", exact=True).click()
    proposal = page.locator(f"tr[data-proposal='{right}']")
    expect(proposal).to_be_visible()
    expect(proposal.locator("[data-red='1']")).to_have_text("红字")
    expect(proposal).not_to_contain_text("正常")
    expect(proposal).to_contain_text("冲红")
    screenshot("finder-red-proposal")
    proposal.get_by_role("link").nth(1).click()  # the blue invoice it offsets
    expect(page).to_have_url(re.compile(r"/invoices/\d+/$"))
