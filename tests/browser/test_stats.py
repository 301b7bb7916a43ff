"""The statistics journey in the browser: the demo admin opens 统计 from the navigation; every
view draws its ECharts chart beside a table of the same numbers; switching to 按季度 and 开具
redraws them; the Excel export downloads and reads back with the page's figures.

Screenshots: test-artifacts/screenshots/stats-*.png.
"""

import json
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from fapiao.accounts.demo import DEMO_PASSWORD
from fapiao.stats.tests.xlsx import read_workbook

pytestmark = pytest.mark.browser

VIEWS = ["month", "sides", "comparison", "type", "rate", "customers", "suppliers", "status"]
SHEETS = ["按月", "按季度", "按年", "按类型", "按税率", "按客户／供应商", "按状态", "开具与取得",
          "同比环比"]  # fmt: skip


def _login(page: Page, server: str, email: str) -> None:
    page.goto(server + "/accounts/login/")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    expect(page.locator("details.usermenu")).to_have_count(1)


def _money(text: str) -> Decimal:
    return Decimal(re.sub(r"[¥,\s]", "", text))


def _charts_drawn(page: Page, views: list[str]) -> None:
    for key in views:
        chart = page.locator(f"#chart-{key}")
        expect(chart.locator("canvas")).to_have_count(1)
        expect(chart).to_have_attribute("data-rendered", "true")
        box = chart.bounding_box()
        assert box["width"] > 200 and box["height"] > 200, (key, box)
    page.wait_for_timeout(500)  # the bars' short animation, before a screenshot


@pytest.fixture
def shot(page, screenshot):
    def take(name: str) -> None:
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(name)

    return take


def test_statistics_charts_tables_and_excel_export(server, page, shot, tmp_path):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _login(page, server, "admin@yunfan.demo")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="统计").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("发票统计")

    # The library is a deferred script: it runs after the heading is painted.
    page.wait_for_function("typeof window.echarts === 'object'", timeout=15000)
    assert page.evaluate("window.echarts.version").startswith("5.")
    _charts_drawn(page, VIEWS)
    # Each chart has its table beside it, and the month table adds up to the year's total.
    for key in VIEWS:
        expect(page.locator(f"#table-{key} tbody tr").first).to_be_visible()
    total = _money(page.locator("[data-kpi=total]").inner_text())
    assert total > 0
    footer = page.locator("#table-month tfoot td").all_inner_texts()
    assert _money(footer[-1]) == total
    assert re.fullmatch(r"-?\d{1,3}(,\d{3})*\.\d{2}", footer[-1])  # thousands separated
    assert page.locator("#table-comparison thead").inner_text().count("月") >= 3
    # A tooltip, in figures as the tables write them (names in it are HTML-escaped).
    assert page.evaluate("typeof window.echarts.format.encodeHTML") == "function"
    customers = page.locator("#chart-customers")
    customers.scroll_into_view_if_needed()
    box = customers.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 20)
    tooltip = customers.locator("div", has_text="价税合计：¥")
    expect(tooltip.last).to_be_visible()
    assert re.search(r"¥\d{1,3}(,\d{3})*\.\d{2}", tooltip.last.inner_text())
    page.mouse.move(0, 0)
    shot("stats-home")

    # 按季度, 开具: the form submits itself and the charts are drawn again.
    page.locator("label", has_text="按季度").click()
    expect(page).to_have_url(re.compile(r"by=quarter"))
    page.locator("fieldset", has_text="方向").locator("label", has_text="开具").click()
    expect(page).to_have_url(re.compile(r"direction=issued"))
    expect(page.locator("#table-quarter tbody tr")).to_have_count(4)
    expect(page.locator("#chart-suppliers")).to_have_count(0)  # issued only: customers
    _charts_drawn(page, ["quarter", "sides", "comparison", "type", "rate", "customers", "status"])
    issued_total = _money(page.locator("[data-kpi=total]").inner_text())
    assert 0 < issued_total <= total
    shot("stats-quarter-issued")

    # The Excel export downloads and opens, with the page's numbers as numbers.
    with page.expect_download() as caught:
        page.get_by_role("link", name="导出 Excel").click()
    download = caught.value
    assert re.fullmatch(r"发票统计-\w+-\d{8}\.xlsx", download.suggested_filename)
    path = tmp_path / "stats.xlsx"
    download.save_as(path)
    book = read_workbook(path.read_bytes())
    assert list(book) == SHEETS
    quarter = book["按季度"]
    assert [cell.value for cell in quarter[3]][:2] == ["期间", "张数"]
    footer_row = next(row for row in quarter if row[0] and row[0].value == "合计")
    assert footer_row[5].kind == "n"
    assert Decimal(str(footer_row[5].value)).quantize(Decimal("0.01")) == issued_total

    # CSV of one view: UTF-8 with a BOM.
    href = page.locator("#view-type a[data-action=export-csv]").get_attribute("href")
    response = page.request.get(server + href)
    assert response.ok and response.body().startswith(b"\xef\xbb\xbf")
    assert "发票类型" in response.body().decode("utf-8-sig").splitlines()[0]
    assert errors == []


def test_statistics_on_a_narrow_screen(server, page, shot):
    page.set_viewport_size({"width": 420, "height": 900})
    _login(page, server, "admin@yunfan.demo")
    page.goto(server + "/stats/")
    _charts_drawn(page, ["month", "type"])
    # Charts and tables stack inside the cards; a wide table scrolls in its own box. (The
    # shell's top bar is the base template's business, and is left out.)
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('main .card, main .chart, main .table-wrap')]
            .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
            .map(el => el.className)"""
    )
    assert overflowing == []
    header = page.locator("#table-month thead th").nth(2)  # 红字张数, on one line
    assert header.evaluate("th => getComputedStyle(th).whiteSpace") == "nowrap"
    shot("stats-narrow")


def test_a_hostile_party_name_stays_text_in_the_tooltip(server, page):
    """Names reach the charts from invoices; ECharts tooltips are HTML, so they are escaped."""
    _login(page, server, "admin@yunfan.demo")
    hostile = "<img src=x onerror=window.pwned=1>"

    def swap_the_top_customer(route):
        response = route.fetch()
        body = response.text()
        data = re.search(
            r'(<script id="stats-charts" type="application/json">)(.*?)(</script>)', body
        )
        charts = json.loads(data.group(2))
        charts["customers"]["categories"][0] = hostile
        script = json.dumps(charts).replace("<", "\\u003c").replace(">", "\\u003e")
        route.fulfill(response=response, body=body.replace(data.group(2), script))

    page.route(re.compile(r".*/stats/$"), swap_the_top_customer)
    page.goto(server + "/stats/")
    customers = page.locator("#chart-customers")
    expect(customers.locator("canvas")).to_have_count(1)
    customers.scroll_into_view_if_needed()
    box = customers.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 20)  # the top bar
    tooltip = customers.locator("div", has_text="价税合计：¥").last
    expect(tooltip).to_contain_text(hostile)
    assert page.evaluate("window.pwned") is None
