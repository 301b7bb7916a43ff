"""The verification journey in the browser: the demo admin types a 数电 number and sees the form ask
for 价税合计; uploads a PDF the platform issued → 一致, with the file beside the result, and its
report, whose QR code opens the public page; uploads the same invoice again → 查重 warning, and
claims it; uploads an altered copy (amount changed) → 不一致 naming the amount; uploads a ZIP of
the real-invoice corpus → a results table, exported to Excel.

Screenshots: test-artifacts/screenshots/verify-*.png.
"""

import io
import json
import re
import time
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from playwright.sync_api import Page, expect

from fapiao.accounts.demo import DEMO_ORG, DEMO_PASSWORD
from fapiao.rules.tests import realdata

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# Runs in the server's environment (`fapiao shell -c`): an issued, normal 数电 invoice of the
# demo organization from before today, and the PDF of an unsaved copy whose amount (and so its
# total) is 1,000.00 higher: a forged file.
FIND_AND_FORGE = """
from decimal import Decimal
from django.utils import timezone
from fapiao.invoices.documents import invoice_pdf
from fapiao.invoices.models import Invoice
invoice = (Invoice.objects.filter(seller_org__tax_id={tax_id!r}, status=0, is_red=False,
           type_code="31", source="issued", issue_date__lt=timezone.localdate())
           .order_by("-issue_date", "id").first())
lines = list(invoice.lines.order_by("position"))
lines[0].amount += Decimal("1000.00")
invoice.amount += Decimal("1000.00")
invoice.total += Decimal("1000.00")
open({out!r} + "/number.txt", "w").write(invoice.number)
open({out!r} + "/amount.txt", "w").write(str(invoice.amount))
open({out!r} + "/altered.pdf", "wb").write(invoice_pdf(invoice, lines=lines))
"""


@pytest.fixture(scope="module")
def invoice_files(server, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("verify-files")
    server.command("shell", "-c", FIND_AND_FORGE.format(tax_id=DEMO_ORG["tax_id"], out=str(folder)))
    number = (folder / "number.txt").read_text()
    server.command("invoice", "pdf", number, "-o", str(folder / "issued.pdf"))
    manifest = json.loads(realdata.manifest_path().read_text())
    corpus = realdata.manifest_path().parent
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for entry in manifest:
            zf.write(corpus / entry["path"], entry["path"])
    (folder / "realdata.zip").write_bytes(archive.getvalue())
    return {
        "number": number,
        "forged_amount": (folder / "amount.txt").read_text(),
        "issued": folder / "issued.pdf",
        "altered": folder / "altered.pdf",
        "zip": folder / "realdata.zip",
        "zip_count": len(manifest),
        "folder": folder,
    }


def _login(page: Page, server: str, email: str) -> None:
    page.goto(server + "/accounts/login/")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    expect(page.locator("details.usermenu")).to_have_count(1)


@pytest.fixture
def shot(page, screenshot):
    def take(name: str) -> None:
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(name)

    return take


def _upload(page: Page, path: Path) -> None:
    page.locator("nav.subnav").get_by_role("link", name="按文件查验").click()
    page.set_input_files("input[name=file]", str(path))
    page.get_by_role("button", name="上传并查验").click()
    expect(page.locator(".result-head .result")).to_be_visible()
    _preview_loaded(page)


def _preview_loaded(page: Page) -> None:
    page.wait_for_function(
        "[...document.querySelectorAll('.file-preview img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )


def _pdf_text_and_codes(data: bytes) -> tuple[str, list[str]]:
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[0]
        text = page.get_textpage().get_text_range()
        image = page.render(scale=3).to_pil()
    finally:
        pdf.close()
    return text, [r.text for r in zxingcpp.read_barcodes(image)]


def test_verification_journey(server, page: Page, browser, shot, invoice_files, tmp_path):
    _login(page, server, "admin@yunfan.demo")
    page.locator("nav.mainnav").get_by_role("link", name="查验").click()
    expect(page.locator("h1")).to_have_text("发票查验")

    # By fields: a 20-digit number asks for 价税合计, not the amount or the check code.
    page.get_by_label("发票号码").fill(invoice_files["number"])
    expect(page.locator('[data-input="total"]')).to_be_visible()
    expect(page.locator('[data-input="amount"]')).to_be_hidden()
    expect(page.locator('[data-input="check_code"]')).to_be_hidden()
    expect(page.locator(".detected strong")).to_have_text("数电发票（电子发票）")
    shot("verify-fields")

    # The platform's own PDF: 一致, the file beside the result, the platform's copy below.
    _upload(page, invoice_files["issued"])
    expect(page.locator(".result-head [data-result]")).to_have_attribute("data-result", "match")
    expect(page.locator(".file-preview img").first).to_be_visible()
    expect(page.locator("[data-platform-copy]")).to_contain_text(invoice_files["number"])
    expect(page.locator("[data-duplicate]")).to_have_count(0)
    shot("verify-file-match")
    public_id = page.locator("[data-public-id]").inner_text().strip()

    with page.expect_download() as info:
        page.get_by_role("link", name="下载查验报告（PDF）").click()
    report = tmp_path / "report.pdf"
    info.value.save_as(report)
    text, codes = _pdf_text_and_codes(report.read_bytes())
    public_url = f"{server.url}/verification/r/{public_id}/"
    assert public_id in text and "一致" in text and codes == [public_url]

    # A third party opens the report's page, signed out: the summary only.
    stranger = browser.new_context(viewport={"width": 1000, "height": 700}, locale="zh-CN")
    try:
        outside = stranger.new_page()
        outside.goto(codes[0])
        expect(outside.locator(".public-summary [data-result]")).to_have_attribute(
            "data-result", "match"
        )
        expect(outside.locator("[data-field=number]")).to_have_text(invoice_files["number"])
        assert DEMO_ORG["name"] not in outside.content()
        outside.screenshot(path=str(SCREENSHOTS / "verify-public.png"), full_page=True)
    finally:
        stranger.close()

    # The same invoice again: 查重, with a link to the first verification; then claim it.
    _upload(page, invoice_files["issued"])
    warning = page.locator(".dup-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("查重提示")
    expect(warning.locator("[data-earlier]")).to_have_count(1)
    page.get_by_role("button", name="登记报销/入账").click()
    expect(page.locator(".message.success")).to_contain_text("已登记报销")
    expect(page.locator("[data-claimed]")).to_be_visible()
    _preview_loaded(page)
    shot("verify-duplicate")

    # The altered copy: 不一致, naming the amount with both values.
    _upload(page, invoice_files["altered"])
    expect(page.locator(".result-head [data-result]")).to_have_attribute("data-result", "mismatch")
    amount_row = page.locator('tr[data-row="amount"]')
    expect(amount_row).to_have_class(re.compile("differs"))
    expect(amount_row).to_contain_text("金额（不含税）")
    expect(amount_row).to_contain_text(invoice_files["forged_amount"])
    expect(amount_row.locator(".verdict")).to_have_text("不一致")
    shot("verify-file-mismatch")

    # A ZIP of the real-invoice corpus: processed in the background, a row per file.
    page.locator("nav.subnav").get_by_role("link", name="批量查验").click()
    page.set_input_files("input[name=files]", str(invoice_files["zip"]))
    page.get_by_role("button", name="开始批量查验").click()
    expect(page.locator(".progress")).to_be_visible()
    expect(page.locator("#batch-progress")).to_have_attribute("data-status", "done", timeout=90_000)
    rows = page.locator("table.batch-results tbody tr")
    expect(rows).to_have_count(invoice_files["zip_count"])
    expect(page.locator(".progress-count")).to_have_text(
        f"{invoice_files['zip_count']} / {invoice_files['zip_count']}"
    )
    expect(page.locator('tr[data-result="not_found"]').first).to_be_visible()
    expect(page.locator('tr[data-result="unreadable"]').first).to_be_visible()
    shot("verify-batch")
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 Excel").click()
    exported = tmp_path / "batch.xlsx"
    info.value.save_as(exported)
    with zipfile.ZipFile(exported) as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == invoice_files["zip_count"] + 1


def test_authentication_request_journey(server, page: Page, shot, invoice_files):
    """An issuer submits a 认证申请; staff with the review queue approve it with the report; the
    issuer sees it approved, with the report to download."""
    mail = server.var_dir / "mail"
    mails_before = len(list(mail.glob("*"))) if mail.exists() else 0
    _login(page, server, "issuer@yunfan.demo")
    page.goto(server + "/verification/requests/new/")
    page.get_by_label("申请事项").fill("11 月差旅费发票认证")
    page.set_input_files("input[name=invoice_files]", str(invoice_files["issued"]))
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "pending")
    page.locator("details.usermenu > summary").click()
    page.locator(".usermenu").get_by_role("button", name="退出").click()

    _login(page, server, "staff@fapiao.demo")
    page.goto(server + "/accounts/staff/")
    page.get_by_role("link", name="认证申请").click()
    page.locator("tr[data-request] a").first.click()
    expect(page.locator(".staff-attachments .result")).to_have_text("一致")
    shot("verify-staff-request")
    page.get_by_label("通过（附查验报告）").check()
    page.get_by_role("button", name="提交处理结果").click()
    expect(page.locator(".message.success")).to_contain_text("已处理")
    page.locator("details.usermenu > summary").click()
    page.locator(".usermenu").get_by_role("button", name="退出").click()

    _login(page, server, "issuer@yunfan.demo")
    page.goto(server + "/verification/requests/")
    page.locator("tr[data-request] a").first.click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "approved")
    expect(page.locator("[data-reports]")).to_contain_text("一致")
    shot("verify-request-approved")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # submitted and approved: sent by the task worker
        if len(list(mail.glob("*"))) >= mails_before + 2:
            break
        time.sleep(0.5)
    assert len(list(mail.glob("*"))) >= mails_before + 2, "the requester was not emailed"
