"""The issuing journey in the browser: the issuer adds to the catalogue and the buyer directory,
drafts a two-line mixed-rate invoice with one tax-inclusive line for 上海明澜商贸有限公司 through
the type-ahead lists, watches totals and 大写 follow, saves and submits it; the reviewer approves
it; the PDF downloads and its QR code reads back as the record; the issuer asks for a full red
letter, the buyer organization's admin confirms it, and the red invoice is linked from the blue one.

Screenshots: test-artifacts/screenshots/issue-*.png.
"""

import re
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from playwright.sync_api import Page, expect

from fapiao.accounts.demo import DEMO_PASSWORD, SECOND_ORG
from fapiao.rules import qr

pytestmark = pytest.mark.browser

BUYER = SECOND_ORG["name"]  # 上海明澜商贸有限公司, the demo's partner organization
# category, name, tax code, spec, unit, unit price excluding tax, rate
NEW_ITEM = ("信息技术服务", "数据标注服务", "3040201990000000000", "", "项", "10000", "6%")
BAD_CHECK_DIGIT = "91440300MA5F00000X"  # well formed, but its check character should be 7
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _login(page: Page, server: str, email: str) -> None:
    page.goto(server + "/accounts/login/")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    expect(page.locator("details.usermenu")).to_have_count(1)


def _logout(page: Page) -> None:
    page.locator("details.usermenu > summary").click()
    page.locator(".usermenu").get_by_role("button", name="退出").click()
    expect(page.locator("details.usermenu")).to_have_count(0)


def _money(text: str) -> Decimal:
    return Decimal(re.sub(r"[¥,\s]", "", text))


def _add_item(page: Page, category, name, tax_code, spec, unit, price, rate) -> None:
    page.get_by_role("link", name="＋ 添加商品或服务").click()
    page.get_by_label("商品和服务分类简称").fill(category)
    page.get_by_label("名称").fill(name)
    page.get_by_label("税收分类编码").fill(tax_code)
    page.get_by_label("规格型号").fill(spec)
    page.get_by_label("单位").fill(unit)
    page.get_by_label("默认单价（不含税）").fill(price)
    page.get_by_label("税率/征收率").select_option(rate)
    page.locator("main form").get_by_role("button", name="保存").click()
    expect(page.locator(".message.success")).to_contain_text(f"*{category}*{name}")


def _pick_item(page: Page, row, keyword: str, expected: str) -> None:
    row.locator("input[name=line_name]").fill(keyword)
    suggestion = row.locator(".suggest .suggestion", has_text=expected)
    expect(suggestion).to_be_visible()
    suggestion.click()
    expect(row.locator("input[name=line_name]")).to_have_value(expected)


@pytest.fixture
def shot(page, screenshot):
    """A full-page screenshot taken from the top, so the sticky bars sit where they belong."""

    def take(name: str) -> None:
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(name)

    return take


def test_issue_review_download_and_red_letter(server, page, shot, tmp_path):
    # The demo catalogue and buyer directory are there; the issuer adds an item of its own and
    # gives 明澜 a mailbox for its invoices.
    _login(page, server, "issuer@yunfan.demo")
    page.locator(".mainnav").get_by_role("link", name="开具").click()
    expect(page).to_have_title(re.compile("^开具"))
    shot("issue-01-draft-list")
    page.locator(".subnav").get_by_role("link", name="商品和服务").click()
    _add_item(page, *NEW_ITEM)
    expect(page.locator("main table.data")).to_contain_text("*信息技术服务*数据标注服务")
    shot("issue-02-catalogue")

    page.locator(".subnav").get_by_role("link", name="购买方").click()
    page.get_by_role("link", name="＋ 添加购买方").click()
    page.get_by_label("名称").fill("深圳前海示例科技有限公司")
    page.get_by_label("统一社会信用代码/纳税人识别号").fill(BAD_CHECK_DIGIT)
    expect(page.locator("#tax-id-check .hint.warn")).to_contain_text("校验位不符")
    shot("issue-03-buyer-form-check-digit")
    page.locator("main form").get_by_role("button", name="保存").click()
    expect(page.locator(".message.warning")).to_contain_text("校验位不符")  # warned, saved
    page.get_by_label("搜索购买方").fill("明澜")
    page.get_by_role("button", name="搜索").click()
    row = page.locator("main table.data tbody tr", has_text=BUYER)
    row.get_by_role("link", name="编辑").click()
    expect(page.locator("#tax-id-check .hint.info")).to_contain_text("已在平台注册")
    page.get_by_label("收票邮箱").fill("finance@minglan.demo")
    page.locator("main form").get_by_role("button", name="保存").click()
    expect(page.locator(".message.success")).to_contain_text(BUYER)

    # A new draft: the buyer from the directory by type-ahead.
    page.locator(".subnav").get_by_role("link", name="开票").click()
    page.get_by_role("link", name="＋ 新增").click()
    expect(page.get_by_role("heading", name="新增发票")).to_be_visible()
    page.locator("#id_buyer_name").fill("明澜")
    suggestion = page.locator("#buyer-suggest .suggestion", has_text=BUYER)
    expect(suggestion).to_be_visible()
    shot("issue-04-buyer-typeahead")
    suggestion.click()
    expect(page.locator("#id_buyer_tax_id")).to_have_value(SECOND_ORG["tax_id"])
    expect(page.locator("#id_buyer_email")).to_have_value("finance@minglan.demo")

    # Line 1 from the catalogue, excluding tax: 1 × 10000.00 at 6%.
    rows = page.locator("#line-rows > tr.line-row")
    first = rows.nth(0)
    _pick_item(page, first, "标注", "*信息技术服务*数据标注服务")
    expect(first.locator("input[name=line_tax_code]")).to_have_value("3040201990000000000")
    expect(first.locator("select[name=line_rate]")).to_have_value("6%")
    expect(first.locator("input[name=line_unit_price]")).to_have_value("10000")
    expect(first.locator("input[name=line_quantity]")).to_have_value("1")

    # Line 2 from the demo catalogue, entered including tax: 2 × 638.45 at 13%.
    page.get_by_role("button", name="添加一行").click()
    expect(rows).to_have_count(2)
    second = rows.nth(1)
    second.locator("select[name=line_mode]").select_option("incl")
    _pick_item(page, second, "扫描", "*计算机外部设备*扫描枪")
    expect(second.locator("select[name=line_rate]")).to_have_value("13%")
    expect(second.locator("input[name=line_unit_price]")).to_have_value("610.2")  # 540 × 1.13
    second.locator("input[name=line_unit_price]").fill("638.45")
    second.locator("input[name=line_quantity]").fill("2")

    totals = page.locator("#draft-totals")
    expect(totals.locator("[data-field=total]")).to_have_text("¥11,876.90")
    expect(totals.locator("[data-field=amount]")).to_have_text("¥11,130.00")
    expect(totals.locator("[data-field=tax]")).to_have_text("¥746.90")
    expect(totals.locator("[data-field=capital]")).to_have_text("⊗ 壹万壹仟捌佰柒拾陆圆玖角")
    expect(second.locator(".calc")).to_contain_text("1,130.00")
    expect(second.locator(".calc")).to_contain_text("146.90")

    # A rule broken shows on its field, in Chinese; mended, it goes away.
    first.locator("input[name=line_tax_code]").fill("30402")
    error = first.locator("[data-slot=tax_code]")
    expect(error).to_have_text("税收分类编码应为 19 位数字。")
    shot("issue-05-draft-error-on-field")
    expect(page.locator("#draft-totals .totals-note")).to_have_text("有 1 行待修正，未计入合计。")
    first.locator("input[name=line_tax_code]").fill("3040201990000000000")
    expect(error).to_be_empty()
    page.locator("#id_remarks").fill("项目编号 YF-2026-018")
    shot("issue-06-draft-form")

    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator(".message.success")).to_have_text("草稿已保存。")
    expect(page.locator("#draft-totals [data-field=total]")).to_have_text("¥11,876.90")
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator(".message.success")).to_contain_text("提交审核")
    expect(page.locator("h1 .draft-state")).to_have_text("待审核")
    shot("issue-07-submitted")
    _logout(page)

    # The reviewer approves.
    _login(page, server, "reviewer@yunfan.demo")
    page.locator(".mainnav").get_by_role("link", name="开具").click()
    waiting = page.locator("#for-review tbody tr", has_text=BUYER)
    expect(waiting).to_have_count(1)
    shot("issue-08-review-queue")
    waiting.get_by_role("link", name="查看").click()
    expect(page.locator(".sheet [data-field=total]")).to_have_text("¥11,876.90")
    shot("issue-09-review")
    page.get_by_role("button", name="审核通过并开具").click()
    expect(page.locator(".message.success")).to_contain_text("审核通过，发票已开具")
    number = page.locator("[data-field=page-number]").inner_text().strip()
    assert re.fullmatch(r"\d{20}", number)
    sheet = page.locator(".sheet")
    expect(sheet.locator("[data-field=number]")).to_have_text(number)
    expect(sheet.locator("[data-field=buyer-name]")).to_have_text(BUYER)
    expect(sheet.locator("[data-field=drawer]")).to_have_text("王丽")
    expect(sheet.locator("[data-field=reviewer]")).to_have_text("李强")
    expect(page.locator("ol.timeline")).to_contain_text(f"开具发票 {number}")
    total = _money(sheet.locator("[data-field=total]").inner_text())
    assert total == Decimal("11876.90")
    shot("issue-10-invoice")

    # The PDF downloads; its QR code carries the number and the total.
    with page.expect_download() as caught:
        page.get_by_role("link", name="下载 PDF").click()
    download = caught.value
    assert re.fullmatch(rf"dzfp_{number}_{BUYER}_\d{{14}}\.pdf", download.suggested_filename)
    path = tmp_path / "invoice.pdf"
    download.save_as(path)
    image = pdfium.PdfDocument(path)[0].render(scale=3).to_pil()
    image.save(SCREENSHOTS / "issue-11-pdf.png")
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1
    payload = qr.parse(found[0].text)
    assert payload.number == number and payload.total == total
    _logout(page)

    # The issuer asks for a full red letter; the buyer is on the platform, so it must confirm.
    _login(page, server, "issuer@yunfan.demo")
    page.goto(server + "/invoices/drafts/")
    page.locator("#issued").get_by_role("link", name=number).click()
    page.get_by_role("link", name="申请红冲").click()
    page.get_by_label("红冲原因").select_option(label="销货退回")
    page.get_by_label("全额红冲").check()
    shot("issue-12-red-letter-form")
    page.get_by_role("button", name="提交红字确认单").click()
    expect(page.locator("[data-field=rl-status]")).to_have_text("销方录入待购方确认")
    expect(page.locator(".countdown [data-deadline]")).to_contain_text(re.compile(r"^7[12] 小时"))
    expect(page.get_by_role("button", name="撤销")).to_be_visible()
    shot("issue-13-red-letter-sent")
    _logout(page)

    # The buyer organization's admin confirms it.
    _login(page, server, "admin@minglan.demo")
    page.locator(".mainnav").get_by_role("link", name="开具").click()
    expect(page.locator(".red-letter-waiting")).to_contain_text("等待本单位确认")
    page.locator(".red-letter-waiting").get_by_role("link", name="去处理").click()
    request_row = page.locator("#to-confirm tbody tr", has_text=number)
    expect(request_row).to_have_count(1)
    request_row.locator("a").first.click()
    shot("issue-14-red-letter-to-confirm")
    page.get_by_role("button", name="确认", exact=True).click()
    expect(page.locator(".message.success")).to_contain_text("红字发票")
    expect(page.locator("[data-field=rl-status]")).to_have_text("购销双方已确认")
    red_number = page.locator("[data-field=red-invoice]").inner_text().strip()
    shot("issue-15-red-letter-confirmed")

    # The red invoice appears, linked from the blue invoice, and links back.
    page.get_by_role("link", name=number).first.click()
    expect(page.locator("[data-field=status]")).to_have_text("全额红冲")
    red_link = page.locator(".red-invoices").get_by_role("link", name=red_number)
    expect(red_link).to_be_visible()
    shot("issue-16-blue-seen-by-buyer")
    red_link.click()
    expect(page.locator(".sheet .red-mark")).to_have_text("红字")
    expect(page.locator(".sheet [data-field=total]")).to_have_text("¥-11,876.90")
    expect(page.locator(".blue-link")).to_contain_text(number)
    shot("issue-17-red-invoice")
    _logout(page)

    # The seller sees the same, with its own timeline.
    _login(page, server, "issuer@yunfan.demo")
    page.goto(server + "/invoices/drafts/")
    page.locator("#issued").get_by_role("link", name=number).click()
    expect(page.locator(".red-invoices")).to_contain_text(red_number)
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("提交红字确认单")
    expect(timeline).to_contain_text(f"蓝字发票被红冲：红字发票 {red_number}")
    shot("issue-18-blue-after-red-letter")
