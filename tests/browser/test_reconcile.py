"""The reconciliation journey in the browser: the demo admin uploads a month's sales ledger in which
one invoice is left out, one has another total, one number was typed with a wrong digit and two
rows are not on the platform; sees the categories and the typo pair; exports to Excel (read back);
starts 补录 for the rows missing on the platform and follows a link to an application.

Screenshots: test-artifacts/screenshots/reconcile-*.png.
"""

import calendar
import csv
import io
import sqlite3
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import fastexcel
import pytest
from playwright.sync_api import Page, expect

from fapiao.accounts.demo import DEMO_ORG, DEMO_PASSWORD
from fapiao.rules import numbers

pytestmark = pytest.mark.browser

HEADER = ["序号", "发票号码", "开票日期", "客户名称", "客户税号", "价税合计", "备注"]


def _login(page: Page, server: str, email: str) -> None:
    page.goto(server + "/accounts/login/")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    expect(page.locator("details.usermenu")).to_have_count(1)


def _query(server, sql: str, params: tuple) -> list[tuple]:
    """Read the server's own database (SQLite file or PostgreSQL) for what the ledger books."""
    url = server.env["DATABASE_URL"]
    if url.startswith("sqlite"):
        with sqlite3.connect(urlsplit(url).path) as conn:
            return conn.execute(sql.replace("%s", "?"), params).fetchall()
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def _month_of_sales(server) -> tuple[str, list[tuple]]:
    base = (
        "FROM invoices_invoice i JOIN accounts_organization o ON i.seller_org_id = o.id "
        "WHERE o.tax_id = %s AND i.status <> 2"
    )
    months = _query(server, f"SELECT issue_date {base}", (DEMO_ORG["tax_id"],))
    counts: dict[str, int] = {}
    for (day,) in months:
        counts[str(day)[:7]] = counts.get(str(day)[:7], 0) + 1
    month = max(counts, key=lambda m: (counts[m], m))
    rows = _query(
        server,
        f"SELECT i.number, i.issue_date, i.total, i.buyer_name, i.buyer_tax_id {base} "
        "ORDER BY i.issue_date, i.number",
        (DEMO_ORG["tax_id"],),
    )
    return month, [r for r in rows if str(r[1]).startswith(month)]


def _ledger(tmp_path: Path, month: str, sales: list[tuple]) -> tuple[Path, dict]:
    """Every sale of the month but one; one with another total, one with a typo, one booked as
    two rows that add up to it; two more."""
    blue = [s for s in sales if Decimal(str(s[2])) > 1]
    assert len(blue) >= 5, sales
    left_out, changed, typo_of, split = blue[0], blue[1], blue[2], blue[3]
    typo = typo_of[0][:10] + str((int(typo_of[0][10]) + 1) % 10) + typo_of[0][11:]
    missing = [numbers.digital_number(int(month[:4]), "11", "2", 870_000 + i) for i in (1, 2)]
    rows = []
    for number, day, total, buyer, buyer_tax_id in sales:
        if number == left_out[0]:
            continue
        total = Decimal(str(total)).quantize(Decimal("0.01"))
        if number == changed[0]:
            total += 100
        if number == typo_of[0]:
            number = typo
        if number == split[0]:  # booked in two parts
            rows.append([number, str(day)[:10], buyer, buyer_tax_id, f"{total - 1:,.2f}"])
            total = Decimal("1.00")
        rows.append([number, str(day)[:10], buyer, buyer_tax_id, f"{total:,.2f}"])
    for i, number in enumerate(missing):
        rows.append([number, f"{month}-0{i + 2}", "线下客户有限公司", "", "530.00"])
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(HEADER)
    for i, values in enumerate(rows, 1):
        writer.writerow([str(i), *values, ""])
    path = tmp_path / f"{month}销项台账.csv"
    path.write_bytes(text.getvalue().encode("gbk"))
    facts = {"left_out": left_out[0], "changed": changed[0], "typo": typo,
             "typo_of": typo_of[0], "split": split[0], "missing": missing,
             "rows": len(rows)}  # fmt: skip
    return path, facts


def _count(page: Page, category: str) -> int:
    return int(page.locator(f'a.reconcile-card[data-category="{category}"]').get_attribute(
        "data-count"))  # fmt: skip


def test_ledger_categories_typo_export_and_recovery(page, server, screenshot, tmp_path):
    month, sales = _month_of_sales(server)
    path, facts = _ledger(tmp_path, month, sales)
    _login(page, server, "admin@yunfan.demo")
    page.get_by_role("link", name="对账", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("台账对账")
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_label("方向").select_option("seller")
    last = calendar.monthrange(int(month[:4]), int(month[5:]))[1]
    page.get_by_label("起始日期").fill(f"{month}-01")
    page.get_by_label("截止日期").fill(f"{month}-{last:02d}")
    screenshot("reconcile-1-upload")
    page.get_by_role("button", name="上传并对账").click()

    expect(page.locator("nav.reconcile-cards")).to_be_visible(timeout=60000)
    assert _count(page, "missing_on_platform") == 2
    assert _count(page, "missing_in_ledger") == 1
    assert _count(page, "mismatched") == 1
    assert _count(page, "probable_typo") == 1
    assert _count(page, "partial") == 1
    assert _count(page, "matched") == len(sales) - 4
    rows = page.locator("table.reconcile-rows tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("table.reconcile-rows")).to_contain_text(facts["missing"][0])
    screenshot("reconcile-2-missing-on-platform")

    page.locator('a.reconcile-card[data-category="probable_typo"]').click()
    typo_row = page.locator("table.reconcile-rows tbody tr").first
    expect(typo_row).to_contain_text(facts["typo"])
    expect(typo_row).to_contain_text(facts["typo_of"])
    expect(typo_row).to_contain_text("有一位数字输错")
    screenshot("reconcile-3-typo")
    page.locator('a.reconcile-card[data-category="mismatched"]').click()
    expect(page.locator("table.reconcile-rows tbody tr").first).to_contain_text(facts["changed"])
    expect(page.locator('li[data-field="total"]')).to_contain_text("价税合计")
    screenshot("reconcile-4-mismatched")
    page.locator('a.reconcile-card[data-category="partial"]').click()
    split_row = page.locator("table.reconcile-rows tbody tr").first
    expect(split_row).to_contain_text(facts["split"])
    expect(split_row).to_contain_text("一张发票分多行记账")
    screenshot("reconcile-4b-partial")

    with page.expect_download() as info:
        page.get_by_role("link", name="导出 Excel").click()
    book = fastexcel.read_excel(Path(info.value.path()).read_bytes())
    assert book.sheet_names == [
        "一致",
        "平台缺失",
        "账簿缺失",
        "信息不一致",
        "疑似录入错误",
        "部分匹配",
    ]
    missing_sheet = book.load_sheet("平台缺失").to_polars()
    assert sorted(missing_sheet["账簿发票号码"].to_list()) == sorted(facts["missing"])
    typo_sheet = book.load_sheet("疑似录入错误").to_polars().to_dicts()
    assert typo_sheet[0]["平台发票号码"] == facts["typo_of"]
    left_out = book.load_sheet("账簿缺失").to_polars()["平台发票号码"].to_list()
    assert facts["left_out"] in left_out
    (partial,) = book.load_sheet("部分匹配").to_polars().to_dicts()
    assert partial["平台发票号码"] == facts["split"]
    assert partial["账簿价税合计"] == partial["平台价税合计"]

    page.locator('a.reconcile-card[data-category="missing_on_platform"]').click()
    page.get_by_role("button", name="全部发起补录").click()
    expect(page.locator(".messages")).to_contain_text("已创建 2 份补录申请草稿")
    links = page.locator("table.reconcile-rows a.recovery-link")
    expect(links).to_have_count(2)
    expect(page.get_by_role("button", name="全部发起补录")).to_have_count(0)
    screenshot("reconcile-5-recovery-started")
    links.first.click()
    expect(page.locator("main")).to_contain_text(facts["missing"][0])
    screenshot("reconcile-6-recovery-draft")
