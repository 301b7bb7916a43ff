"""The import journey in the browser: the demo admin uploads a GBK CSV with some bad rows, watches
the progress turn into the summary, reads the reasons (row, column, code), downloads the rejected
rows (GBK CSV, with 错误原因) and imports the same file again: every valid row is a duplicate.
A file with unclear headers goes through the column-mapping page.

Screenshots: test-artifacts/screenshots/import-*.png.
"""

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from fapiao.accounts.demo import DEMO_ORG, DEMO_PASSWORD
from fapiao.rules import numbers, uscc

pytestmark = pytest.mark.browser

HEADER = ["发票类型", "发票号码", "开票日期", "销售方名称", "销售方纳税人识别号", "购买方名称",
          "购买方纳税人识别号", "项目名称", "金额", "税率", "税额", "价税合计"]  # fmt: skip
CUSTOMER = ("杭州启明网络科技有限公司", uscc.make("91330106MA2H00001"))
GOOD = 24


def _login(page: Page, server: str, email: str) -> None:
    page.goto(server + "/accounts/login/")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    expect(page.locator("details.usermenu")).to_have_count(1)


def _row(serial: int, **changes) -> list[str]:
    values = {
        "发票类型": "数电普票" if serial % 2 else "数电专票",
        "发票号码": numbers.digital_number(2025, "11", "9", 900_000 + serial),
        "开票日期": f"2025年{serial % 12 + 1}月{serial % 28 + 1}日",
        "销售方名称": DEMO_ORG["name"],
        "销售方纳税人识别号": DEMO_ORG["tax_id"],
        "购买方名称": CUSTOMER[0],
        "购买方纳税人识别号": CUSTOMER[1],
        "项目名称": "*信息技术服务*软件开发服务",
        "金额": f"{1000 + serial}.00",
        "税率": "6%",
        "税额": f"{(1000 + serial) * 0.06:.2f}",
        "价税合计": f"{(1000 + serial) * 1.06:.2f}",
        **changes,
    }
    return [values[h] for h in HEADER]


def _file(tmp_path: Path) -> tuple[Path, list[list[str]]]:
    rows = [_row(i) for i in range(GOOD)]
    bad = [
        _row(100, 税额="99.00"),  # tax ≠ amount × rate
        _row(101, 开票日期="2099-01-01"),  # in the future
        _row(102, 购买方纳税人识别号="91330106MA2H0000"),  # 16 characters
        _row(103, 销售方纳税人识别号=CUSTOMER[1], 购买方纳税人识别号=CUSTOMER[1]),  # not ours
    ]
    rows[3:3] = bad[:2]
    rows[10:10] = bad[2:]
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([HEADER, *rows])
    path = tmp_path / "2025年开具发票.csv"
    path.write_bytes(text.getvalue().encode("gbk"))
    return path, bad


def _upload(page: Page, server: str, path: Path) -> None:
    page.goto(server + "/imports/")
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_role("button", name="上传并导入").click()


def _wait_done(page: Page) -> None:
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "done", timeout=60000)


def _count(page: Page, name: str) -> int:
    return int(page.locator(f'dd[data-count="{name}"]').inner_text().replace(",", ""))


def test_upload_progress_summary_rejected_rows_and_reimport(page, server, screenshot, tmp_path):
    path, bad = _file(tmp_path)
    _login(page, server, "admin@yunfan.demo")
    page.goto(server + "/imports/")
    expect(page.locator("h1")).to_have_text("批量导入发票")
    screenshot("import-1-upload")

    _upload(page, server, path)
    expect(page.locator("#import-progress")).to_be_visible()
    _wait_done(page)
    assert _count(page, "rows") == GOOD + len(bad)
    assert _count(page, "imported") == GOOD
    assert _count(page, "duplicates") == 0
    assert _count(page, "rejected") == len(bad)
    errors = page.locator("table.import-errors").first
    expect(errors.locator('tr[data-code="tax_mismatch"]').first).to_contain_text("税额")
    expect(errors.locator('tr[data-code="date_future"]')).to_contain_text("开票日期")
    expect(errors.locator('tr[data-code="not_own_invoice"]')).to_contain_text("都不是本单位")
    assert errors.locator('tr[data-code="date_future"] td.row-no').inner_text() == "6"
    screenshot("import-2-summary")

    with page.expect_download() as info:
        page.get_by_role("link", name="下载未导入的行").click()
    download = info.value
    assert download.suggested_filename.endswith("_未导入的行.csv")
    text = Path(download.path()).read_bytes().decode("gbk")
    records = list(csv.reader(io.StringIO(text)))
    assert records[0] == [*HEADER, "错误原因"]
    assert sorted(r[:-1] for r in records[1:]) == sorted(bad)
    assert all(r[-1] for r in records[1:])

    _upload(page, server, path)
    _wait_done(page)
    assert _count(page, "imported") == 0
    assert _count(page, "duplicates") == GOOD
    assert _count(page, "rejected") == len(bad)
    screenshot("import-3-reimport")

    page.goto(server + "/imports/")
    expect(page.locator("table.import-history tbody tr")).to_have_count(2)
    screenshot("import-4-history")


def test_unclear_columns_are_mapped_by_the_user(page, server, screenshot, tmp_path):
    header = ["票据编号", "发票类型", "开票日期", "销售方名称", "销售方纳税人识别号", "客户",
              "购买方纳税人识别号", "金额", "税额", "价税合计"]  # fmt: skip
    values = _row(500)
    row = [values[1], values[0], values[2], values[3], values[4], values[5], values[6],
           values[8], values[10], values[11]]  # fmt: skip
    path = tmp_path / "clients.csv"
    path.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8-sig")
    _login(page, server, "admin@yunfan.demo")
    _upload(page, server, path)
    expect(page.locator("h1")).to_have_text("确认各列的含义")
    screenshot("import-5-mapping")
    page.get_by_label("发票号码", exact=True).select_option("票据编号")
    page.get_by_label("购买方名称", exact=True).select_option("客户")
    page.get_by_role("button", name="确认并开始导入").click()
    _wait_done(page)
    assert _count(page, "imported") == 1
