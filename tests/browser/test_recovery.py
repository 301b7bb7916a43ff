"""The 补录 journey in the browser: the demo issuer looks an invoice up in the finder, which cannot
find it and offers 补录; uploads the invoice's PDF (read into a prefilled draft), adds a contract
and submits; staff (staff@fapiao.demo) see the file agree with the application and approve; the
issuer is told in the site (the bell counts it) and by email, and the finder now finds it.

Screenshots: test-artifacts/screenshots/recovery-*.png.
"""

import time

import pytest
from playwright.sync_api import Page, expect

from fapiao.accounts.demo import DEMO_ORG, DEMO_PASSWORD

pytestmark = pytest.mark.browser

# Runs in the server's environment (`fapiao shell -c`): the PDF of an invoice the demo
# organization bought from a supplier not on the platform, never recorded, and a contract scan.
MAKE_FILES = """
import datetime as dt
from decimal import Decimal
from PIL import Image, ImageDraw
from django.utils import timezone
from fapiao.invoices.documents import invoice_pdf
from fapiao.invoices.models import Invoice, InvoiceLine
from fapiao.rules import numbers, uscc
day = timezone.localdate() - dt.timedelta(days=6)
number = numbers.digital_number(day.year, "11", "2", 880_001)
assert not Invoice.objects.filter(number=number).exists()
invoice = Invoice(type_code="32", number=number, issue_date=day,
    seller_name="北京晨光文具销售有限公司", seller_tax_id=uscc.make("91110105MA01CG5W8"),
    buyer_name={buyer_name!r}, buyer_tax_id={buyer_tax_id!r},
    amount=Decimal("2600.00"), tax=Decimal("338.00"), total=Decimal("2938.00"), source="recovered")
line = InvoiceLine(invoice=invoice, position=1, name="*文具*中性笔 0.5mm", unit="盒",
    quantity=Decimal("200"), unit_price=Decimal("13"), amount=Decimal("2600.00"),
    rate=Decimal("0.13"), tax=Decimal("338.00"))
open({out!r} + "/number.txt", "w").write(number)
open({out!r} + "/invoice.pdf", "wb").write(invoice_pdf(invoice, lines=[line]))
scan = Image.new("RGB", (600, 800), "white")
ImageDraw.Draw(scan).text((40, 40), "Purchase contract 2026-CG-118", fill="black")
scan.save({out!r} + "/contract.png")
"""


@pytest.fixture(scope="module")
def files(server, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("recovery-files")
    server.command(
        "shell",
        "-c",
        MAKE_FILES.format(
            buyer_name=DEMO_ORG["name"], buyer_tax_id=DEMO_ORG["tax_id"], out=str(folder)
        ),
    )
    return {
        "number": (folder / "number.txt").read_text(),
        "pdf": folder / "invoice.pdf",
        "contract": folder / "contract.png",
    }


def _login(page: Page, server: str, email: str) -> None:
    page.goto(server + "/accounts/login/")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    expect(page.locator("details.usermenu")).to_have_count(1)


def _logout(page: Page) -> None:
    page.locator("details.usermenu > summary").click()
    page.locator(".usermenu").get_by_role("button", name="退出").click()


def _find(page: Page, server: str, number: str) -> None:
    page.goto(server + "/finder/")
    page.locator("#id_number").fill(number)
    page.locator("form.finder-form").get_by_role("button", name="查找").click()


def _shot(page: Page, screenshot, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(name)


def _mails(server) -> int:
    folder = server.var_dir / "mail"
    return len(list(folder.glob("*"))) if folder.exists() else 0


def test_recovery_journey(server, page: Page, screenshot, files):
    number = files["number"]
    mails_before = _mails(server)

    # The issuer cannot find the invoice; the finder offers 补录, prefilled.
    _login(page, server, "issuer@yunfan.demo")
    _find(page, server, number)
    expect(page.locator("[data-found='0']")).to_be_visible()
    apply_link = page.locator("main a[href^='/recovery/new/']").first
    expect(apply_link).to_be_visible()
    apply_link.click()
    expect(page.locator("#id_number")).to_have_value(number)
    _shot(page, screenshot, "recovery-form")

    # The invoice file fills a draft in; the issuer checks it and gives the reason.
    page.set_input_files("form[data-from-file] input[type=file]", str(files["pdf"]))
    page.get_by_role("button", name="上传并识别").click()
    expect(page.locator(".message.success")).to_contain_text("已从文件识别")
    expect(page.locator("#id_number")).to_have_value(number)
    expect(page.locator("#id_total")).to_have_value("2938.00")
    expect(page.locator("#id_buyer_tax_id")).to_have_value(DEMO_ORG["tax_id"])
    expect(page.locator("input[name=role][value=buyer]")).to_be_checked()
    _shot(page, screenshot, "recovery-draft-from-file")
    page.locator("#id_reason").select_option("offline")
    page.locator("#id_reason_note").fill("供应商断网期间离线开具，恢复联网后未上传。")
    page.get_by_role("button", name="保存").click()

    # Evidence: the contract too; then submit.
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "draft")
    page.locator("#id_kind").select_option("contract")
    page.set_input_files("input[name=files]", str(files["contract"]))
    page.get_by_role("button", name="上传材料").click()
    expect(page.locator("[data-evidence=contract]")).to_contain_text("contract.png")
    expect(page.locator("[data-evidence=invoice]")).to_contain_text("invoice.pdf")
    page.locator("form[data-submit-form]").get_by_role("button", name="提交审核").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "submitted")
    expect(page.locator("[data-due]")).to_contain_text("前审核")
    expect(page.locator(".notice-bell")).not_to_have_attribute("data-unread", "0")
    _shot(page, screenshot, "recovery-submitted")
    _logout(page)

    # Staff: the queue with its timers; the file agrees with the application; approve.
    _login(page, server, "staff@fapiao.demo")
    page.goto(server + "/accounts/staff/")
    _shot(page, screenshot, "recovery-staff-home")
    # The working-day calendar the deadlines are counted on: 2026 as shipped, 10 October worked.
    page.goto(server + "/accounts/staff/calendar/?year=2026")
    expect(page.locator("main h1")).to_have_text("节假日安排")
    expect(page.locator('[data-day="2026-10-10"]')).to_contain_text("调休上班")
    _shot(page, screenshot, "staff-calendar")
    page.goto(server + "/accounts/staff/")
    page.get_by_role("link", name="补录申请").first.click()
    row = page.locator("tr[data-application]", has_text=number)
    expect(row).to_be_visible()
    expect(row.locator(".timer")).to_contain_text("剩")
    _shot(page, screenshot, "recovery-staff-queue")
    row.locator("a").first.click()
    expect(page.locator("[data-file-check]").first).to_have_attribute("data-file-check", "agrees")
    page.wait_for_function(
        "[...document.querySelectorAll('img.evidence-preview')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    _shot(page, screenshot, "recovery-staff-detail")
    page.get_by_label("通过（记录发票）").check()
    page.get_by_role("button", name="提交处理结果").click()
    expect(page.locator(".message.success")).to_contain_text("已处理")
    _logout(page)

    # The issuer is told in the site; the application is approved; the finder finds the invoice.
    _login(page, server, "issuer@yunfan.demo")
    page.locator(".notice-bell").click()
    approved = page.locator(".notice-items li.unread", has_text="补录申请已通过").first
    expect(approved).to_be_visible()
    _shot(page, screenshot, "recovery-notices")
    approved.locator("button.title").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "approved")
    expect(page.locator("[data-recorded]")).to_contain_text(number)
    _shot(page, screenshot, "recovery-approved")
    _find(page, server, number)
    expect(page.locator("[data-found='1']")).to_contain_text(number)
    _shot(page, screenshot, "recovery-found")

    # The invoice list finds it too.
    page.goto(server + f"/invoices/?number={number}")
    expect(page.locator("table.data tbody")).to_contain_text(number)

    # The top bar with the bell still fits a narrow phone screen.
    page.set_viewport_size({"width": 420, "height": 800})
    page.goto(server + "/recovery/")
    overflow = page.evaluate(
        "document.querySelector('.topbar-inner').scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, f"the top bar is {overflow}px too wide at 420px"
    _shot(page, screenshot, "recovery-narrow")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _mails(server) < mails_before + 2:
        time.sleep(0.5)  # submitted and approved: sent by the task worker
    assert _mails(server) >= mails_before + 2, "the applicant was not emailed"
