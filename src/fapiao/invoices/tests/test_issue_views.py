"""The issuing pages through the test client: drafting with live preview, review, the invoice page
with its documents and timeline, red letters, the catalogue and buyer directory, and who may see
and do what."""

import re
import urllib.parse
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.audit.models import Event
from fapiao.invoices import services
from fapiao.invoices.documents import parse_invoice_xml
from fapiao.invoices.models import (
    Buyer,
    Draft,
    DraftState,
    Invoice,
    InvoiceStatus,
    Item,
    RedLetterRequest,
    RedLetterStatus,
)
from fapiao.rules import uscc

pytestmark = pytest.mark.django_db

SERVICE = {
    "name": "*信息技术服务*软件开发服务",
    "tax_code": "3040201010000000000",
    "spec": "",
    "unit": "项",
    "quantity": "1",
    "unit_price": "10000",
    "money": "",
    "rate": "6%",
    "mode": "excl",
    "item_id": "",
}
# Entered including tax: 2 × 638.45 = 1276.90 → amount 1130.00, tax 146.90.
SCANNER = {
    "name": "*计算机外部设备*扫描枪",
    "tax_code": "1090512990000000000",
    "spec": "DS2208",
    "unit": "个",
    "quantity": "2",
    "unit_price": "638.45",
    "money": "",
    "rate": "13%",
    "mode": "incl",
    "item_id": "",
}


def form_data(*lines, type_code="31", buyer=None, action="save", **extra) -> dict:
    data = {"type_code": type_code, "remarks": "", "action": action, **(buyer or {}), **extra}
    for key in SERVICE:
        data[f"line_{key}"] = [line[key] for line in lines]
    return data


@pytest.fixture
def org():
    org = testing.organization("北京开票页面测试有限公司")
    org.address, org.phone = "北京市海淀区中关村大街1号", "010-62550000"
    org.save()
    return org


@pytest.fixture
def buyer_org():
    return testing.organization("上海明澜商贸测试有限公司", region="310115")


@pytest.fixture
def people(org, buyer_org):
    return {
        "issuer": testing.member(org, Role.ISSUER),
        "reviewer": testing.member(org, Role.REVIEWER),
        "viewer": testing.member(org, Role.VIEWER),
        "buyer_admin": testing.member(buyer_org, Role.ADMIN),
        "outsider": testing.member(testing.organization("无关单位有限公司"), Role.ADMIN),
    }


def buyer_of(org, email="") -> dict:
    return {"buyer_name": org.name, "buyer_tax_id": org.tax_id, "buyer_email": email}


def issue(org, people, buyer_org) -> Invoice:
    draft = services.draft_save(
        actor=people["issuer"],
        organization=org,
        type_code="31",
        buyer={"name": buyer_org.name, "tax_id": buyer_org.tax_id},
        lines=[
            {**SERVICE, "amount": ""},
            {
                **SCANNER,
                "unit_price": "565",
                "rate": "13%",
            },
        ],
    )
    draft = services.draft_submit(actor=people["issuer"], draft=draft)
    return services.draft_approve(actor=people["reviewer"], draft=draft)


def text_of(response) -> str:
    return response.content.decode()


def slot(body: str, element_id: str) -> str:
    """The text of the error slot or computed cell with that id."""
    match = re.search(rf'id="{re.escape(element_id)}"[^>]*>(.*?)</div>', body, re.S)
    assert match, f"no element #{element_id}"
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip()


# --- the journey ---------------------------------------------------------------------------


def test_draft_preview_submit_approve_and_the_invoice_page(
    client, org, buyer_org, people, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(people["issuer"])
    page = client.get(reverse("draft_new"))
    assert page.status_code == 200 and "提交审核" in text_of(page)
    buyer = buyer_of(buyer_org, email="finance@minglan.example")

    preview = client.post(reverse("draft_preview"), form_data(SERVICE, SCANNER, buyer=buyer))
    body = text_of(preview)
    assert preview.status_code == 200
    assert "¥11,130.00" in body and "¥746.90" in body and "¥11,876.90" in body
    assert "⊗ 壹万壹仟捌佰柒拾陆圆玖角" in body
    assert "1,130.00" in slot(body, "calc-1") and "146.90" in slot(body, "calc-1")
    assert all(not slot(body, f"err-lines-{i}-{f}") for i in (0, 1) for f in ("name", "rate"))

    response = client.post(
        reverse("draft_new"), form_data(SERVICE, SCANNER, buyer=buyer, action="submit")
    )
    draft = Draft.objects.get(organization=org)
    assert response.status_code == 302 and response["Location"] == reverse(
        "draft_detail", args=[draft.pk]
    )
    assert draft.state == DraftState.SUBMITTED and draft.prices_include_tax
    assert [(line.amount, line.tax) for line in draft.lines.all()] == [
        (Decimal("10000.00"), Decimal("600.00")),
        (Decimal("1130.00"), Decimal("146.90")),
    ]

    client.force_login(people["reviewer"])
    listing = text_of(client.get(reverse("draft_list")))
    assert buyer_org.name in listing and reverse("draft_approve", args=[draft.pk]) in listing
    review = text_of(client.get(reverse("draft_detail", args=[draft.pk])))
    assert "审核通过并开具" in review and "退回原因" in review
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("draft_approve", args=[draft.pk]))
    invoice = Invoice.objects.get(seller_org=org)
    assert response["Location"] == reverse("invoice_detail", args=[invoice.pk])

    page = text_of(client.get(response["Location"]))
    assert invoice.number in page and "电子发票（增值税专用发票）" in page
    assert "¥11,130.00" in page and "¥746.90" in page and "¥11,876.90" in page
    assert "⊗ 壹万壹仟捌佰柒拾陆圆玖角" in page
    assert people["issuer"].name in page and people["reviewer"].name in page  # 开票人, 复核人
    assert "*计算机外部设备*扫描枪" in page and "DS2208" in page
    timeline = page.split("操作记录", 1)[1]
    for step in ("保存发票草稿", f"开具发票 {invoice.number}", "finance@minglan.example"):
        assert step in timeline, step
    assert timeline.index("保存发票草稿") < timeline.index(f"开具发票 {invoice.number}")
    assert mailoutbox[-1].to == ["finance@minglan.example"]


def test_the_pdf_and_xml_download_with_the_tax_bureaus_file_names(client, org, buyer_org, people):
    invoice = issue(org, people, buyer_org)
    client.force_login(people["viewer"])  # reading is enough
    stamp = timezone.localtime(invoice.issued_at).strftime("%Y%m%d%H%M%S")
    name = f"dzfp_{invoice.number}_{buyer_org.name}_{stamp}"

    pdf = client.get(reverse("invoice_pdf", args=[invoice.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    disposition = pdf["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{urllib.parse.quote(name + '.pdf')}" in disposition
    assert f'filename="dzfp_{invoice.number}_{stamp}.pdf"' in disposition  # ASCII fallback
    assert pdf.content.startswith(b"%PDF")

    xml = client.get(reverse("invoice_xml", args=[invoice.pk]))
    assert xml.status_code == 200 and xml["Content-Type"] == "application/xml"
    assert urllib.parse.quote(name + ".xml") in xml["Content-Disposition"]
    parsed = parse_invoice_xml(xml.content)
    assert parsed["number"] == invoice.number and parsed["total"] == invoice.total


# --- validation on the fields --------------------------------------------------------------


def test_rule_errors_show_on_their_fields_in_chinese(client, org, buyer_org, people):
    client.force_login(people["issuer"])
    bad_rate = {**SERVICE, "rate": "7%"}
    bad_name = {**SCANNER, "name": "扫描枪"}
    mismatch = {**SERVICE, "mode": "excl", "quantity": "3", "unit_price": "10", "money": "40"}
    body = text_of(
        client.post(
            reverse("draft_preview"),
            form_data(bad_rate, bad_name, mismatch, buyer=buyer_of(buyer_org)),
        )
    )
    assert "税率" in slot(body, "err-lines-0-rate")
    assert "*分类简称*名称" in slot(body, "err-lines-1-name")
    assert "数量×单价" in slot(body, "err-lines-2-money")
    assert "第 1 行" not in slot(body, "err-lines-0-rate")  # the row needs no saying
    assert not slot(body, "err-lines-1-rate") and not slot(body, "err-lines-0-name")

    # Saving re-shows the form with every problem in place, the buyer's too; nothing is saved.
    response = client.post(
        reverse("draft_new"),
        form_data(bad_rate, SCANNER, buyer={"buyer_name": "", "buyer_tax_id": "91ABC"}),
    )
    page = text_of(response)
    assert response.status_code == 200 and not Draft.objects.exists()
    assert "税率" in slot(page, "err-lines-0-rate")
    assert "请填写购买方名称" in slot(page, "err-buyer_name")
    assert slot(page, "err-buyer_tax_id")
    assert 'value="*计算机外部设备*扫描枪"' in page  # what was typed stays


def test_a_special_invoice_needs_the_buyers_tax_id_an_ordinary_one_may_go_to_a_person(
    client, people
):
    client.force_login(people["issuer"])
    person = {"buyer_name": "张三", "buyer_tax_id": ""}
    page = text_of(client.post(reverse("draft_new"), form_data(SERVICE, buyer=person)))
    assert "增值税专用发票须填写购买方" in slot(page, "err-buyer_tax_id")
    response = client.post(reverse("draft_new"), form_data(SERVICE, type_code="32", buyer=person))
    assert response.status_code == 302
    assert Draft.objects.get().buyer_name == "张三"


def test_blank_rows_are_ignored_and_an_empty_draft_is_refused(client, buyer_org, people):
    client.force_login(people["issuer"])
    blank = dict.fromkeys(SERVICE, "") | {"rate": "13%", "mode": "excl"}
    page = text_of(client.post(reverse("draft_new"), form_data(blank, buyer=buyer_of(buyer_org))))
    assert "至少需要一行项目" in page and not Draft.objects.exists()
    response = client.post(
        reverse("draft_new"), form_data(blank, SERVICE, blank, buyer=buyer_of(buyer_org))
    )
    assert response.status_code == 302 and Draft.objects.get().lines.count() == 1


def test_a_saved_draft_reopens_with_its_lines(client, buyer_org, people):
    client.force_login(people["issuer"])
    client.post(reverse("draft_new"), form_data(SERVICE, SCANNER, buyer=buyer_of(buyer_org)))
    draft = Draft.objects.get()
    page = text_of(client.get(reverse("draft_edit", args=[draft.pk])))
    # Saved with one 含税 row, the draft shows its rows 含税 with their totals.
    assert 'value="10600.00"' in page and 'value="1276.90"' in page
    assert 'value="638.45"' in page and "¥11,876.90" in page
    assert page.count('<option value="incl" selected>') == 2


# --- review --------------------------------------------------------------------------------


def test_the_reviewer_returns_a_draft_with_a_reason(client, org, buyer_org, people):
    client.force_login(people["issuer"])
    client.post(
        reverse("draft_new"), form_data(SERVICE, buyer=buyer_of(buyer_org), action="submit")
    )
    draft = Draft.objects.get()
    client.force_login(people["reviewer"])
    page = text_of(client.post(reverse("draft_reject", args=[draft.pk]), {"reason": "  "}))
    assert "请填写退回原因" in page
    draft.refresh_from_db()
    assert draft.state == DraftState.SUBMITTED
    response = client.post(reverse("draft_reject", args=[draft.pk]), {"reason": "税率填错了"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.state == DraftState.DRAFT and draft.review_reason == "税率填错了"
    client.force_login(people["issuer"])
    assert "税率填错了" in text_of(client.get(reverse("draft_edit", args=[draft.pk])))
    assert "税率填错了" in text_of(client.get(reverse("draft_list")))


def test_nobody_approves_their_own_submission(client, org, buyer_org):
    admin = testing.member(org, Role.ADMIN)
    client.force_login(admin)
    client.post(
        reverse("draft_new"), form_data(SERVICE, buyer=buyer_of(buyer_org), action="submit")
    )
    draft = Draft.objects.get()
    assert "提交人和审核人不能是同一人" in text_of(
        client.get(reverse("draft_detail", args=[draft.pk]))
    )
    response = client.post(reverse("draft_approve", args=[draft.pk]), follow=True)
    assert "同一人" in text_of(response) and not Invoice.objects.exists()


def test_an_organization_without_review_issues_at_once(client, org, buyer_org, people):
    org.issue_requires_review = False
    org.save()
    client.force_login(people["issuer"])
    page = text_of(client.get(reverse("draft_new")))
    assert 'value="submit" class="button">开具<' in page
    response = client.post(
        reverse("draft_new"), form_data(SERVICE, buyer=buyer_of(buyer_org), action="submit")
    )
    invoice = Invoice.objects.get()
    assert response["Location"] == reverse("invoice_detail", args=[invoice.pk])


def test_copy_an_invoice_save_a_template_and_start_from_it(client, org, buyer_org, people):
    invoice = issue(org, people, buyer_org)
    client.force_login(people["issuer"])
    response = client.post(reverse("invoice_copy", args=[invoice.pk]))
    copy = Draft.objects.get(copied_from=invoice)
    assert response["Location"] == reverse("draft_edit", args=[copy.pk])
    page = text_of(client.get(response["Location"]))
    assert "*计算机外部设备*扫描枪" in page and buyer_org.tax_id in page

    data = form_data(
        SERVICE, buyer=buyer_of(buyer_org), action="template", template_name="月度软件服务"
    )
    client.post(reverse("draft_edit", args=[copy.pk]), data)
    template = Draft.objects.get(is_template=True)
    assert template.template_name == "月度软件服务"
    listing = text_of(client.get(reverse("draft_list")))
    assert "月度软件服务" in listing
    response = client.post(reverse("template_use", args=[template.pk]))
    fresh = Draft.objects.filter(is_template=False).latest("pk")
    assert response["Location"] == reverse("draft_edit", args=[fresh.pk])
    assert fresh.buyer_name == buyer_org.name and fresh.lines.count() == 1


# --- red letters ---------------------------------------------------------------------------


def test_red_letter_by_the_seller_confirmed_by_the_buyer_organization(
    client, org, buyer_org, people
):
    blue = issue(org, people, buyer_org)
    client.force_login(people["issuer"])
    assert reverse("red_letter_new", args=[blue.pk]) in text_of(
        client.get(reverse("invoice_detail", args=[blue.pk]))
    )
    form = text_of(client.get(reverse("red_letter_new", args=[blue.pk])))
    assert "销货退回" in form and "10,000.00" in form
    response = client.post(
        reverse("red_letter_new", args=[blue.pk]), {"reason": "2", "scope": "full"}
    )
    request = RedLetterRequest.objects.get()
    assert response["Location"] == reverse("red_letter_detail", args=[request.pk])
    assert request.status == RedLetterStatus.AWAITING_BUYER
    mine = text_of(client.get(response["Location"]))
    assert "撤销" in mine and reverse("red_letter_confirm", args=[request.pk]) not in mine
    assert "71 小时" in mine  # the countdown

    client.force_login(people["buyer_admin"])
    listing = text_of(client.get(reverse("red_letter_list")))
    assert blue.number in listing.split("待本单位确认", 1)[1].split("本单位发起", 1)[0]
    assert "1 张红字确认单等待本单位确认" in text_of(client.get(reverse("draft_list")))
    theirs = text_of(client.get(reverse("red_letter_detail", args=[request.pk])))
    assert reverse("red_letter_confirm", args=[request.pk]) in theirs
    assert reverse("red_letter_refuse", args=[request.pk]) in theirs
    client.post(reverse("red_letter_confirm", args=[request.pk]))
    blue.refresh_from_db()
    red = Invoice.objects.get(is_red=True)
    assert red.original == blue and blue.status == InvoiceStatus.FULLY_RED

    buyer_page = text_of(client.get(reverse("invoice_detail", args=[blue.pk])))
    assert "确认红字确认单" in buyer_page and "保存发票草稿" not in buyer_page  # own chain only

    client.force_login(people["issuer"])
    page = text_of(client.get(reverse("invoice_detail", args=[blue.pk])))
    assert reverse("invoice_detail", args=[red.pk]) in page and red.number in page
    assert "全额红冲" in page and reverse("red_letter_new", args=[blue.pk]) not in page
    timeline = page.split("操作记录", 1)[1]
    assert "提交红字确认单" in timeline and f"红字发票 {red.number}" in timeline
    red_page = text_of(client.get(reverse("invoice_detail", args=[red.pk])))
    assert reverse("invoice_detail", args=[blue.pk]) in red_page and "红字" in red_page
    assert "¥-11,876.90" in red_page


def test_a_partial_red_letter_too_large_is_refused_on_its_line(client, org, people):
    blue = issue(org, people, testing.organization())
    client.force_login(people["issuer"])
    url = reverse("red_letter_new", args=[blue.pk])
    page = text_of(client.post(url, {"reason": "4", "scope": "partial", "line_1": "20000"}))
    assert "剩余可红冲金额 10000.00" in page.split('data-line="1"', 1)[1].split("</tr>", 1)[0]
    page = text_of(client.post(url, {"reason": "", "scope": "partial"}))
    assert "请选择红冲原因" in page and "至少填写一行" in page
    response = client.post(url, {"reason": "4", "scope": "partial", "line_1": "1000"})
    assert response.status_code == 302
    request = RedLetterRequest.objects.get()
    assert request.amount == Decimal("-1000.00") and not request.full


def test_the_initiator_withdraws_and_the_buyer_may_also_ask(client, org, buyer_org, people):
    blue = issue(org, people, buyer_org)
    client.force_login(people["buyer_admin"])  # the buyer asks, the seller confirms
    client.post(reverse("red_letter_new", args=[blue.pk]), {"reason": "1", "scope": "full"})
    request = RedLetterRequest.objects.get()
    assert request.status == RedLetterStatus.AWAITING_SELLER
    client.post(reverse("red_letter_withdraw", args=[request.pk]))
    request.refresh_from_db()
    assert request.status == RedLetterStatus.WITHDRAWN
    client.force_login(people["issuer"])
    response = client.post(reverse("red_letter_confirm", args=[request.pk]), follow=True)
    assert "已处理" in text_of(response) and not Invoice.objects.filter(is_red=True).exists()


def test_only_paper_invoices_offer_void(client, org, buyer_org, people):
    electronic = issue(org, people, buyer_org)
    paper = testing.invoice(
        seller=org, type_code="04", code="011001900104", number="00001234", source="imported"
    )
    client.force_login(people["issuer"])
    assert "作废" not in text_of(client.get(reverse("invoice_detail", args=[electronic.pk])))
    page = text_of(client.get(reverse("invoice_detail", args=[paper.pk])))
    assert reverse("invoice_void", args=[paper.pk]) in page
    assert reverse("red_letter_new", args=[paper.pk]) not in page
    client.post(reverse("invoice_void", args=[paper.pk]))
    paper.refresh_from_db()
    assert paper.status == InvoiceStatus.VOIDED
    assert "作废发票" in text_of(client.get(reverse("invoice_detail", args=[paper.pk])))


# --- catalogue and buyer directory ---------------------------------------------------------


def test_catalogue_items_are_added_and_found_while_typing(client, org, people):
    client.force_login(people["issuer"])
    response = client.post(
        reverse("item_new"),
        {
            "category": "*计算机外部设备*",
            "name": "扫描枪",
            "tax_code": "1090512990000000000",
            "spec": "DS2208",
            "unit": "个",
            "unit_price": "565",
            "rate_choice": "13%",
        },
    )
    assert response.status_code == 302
    item = Item.objects.get()
    assert item.line_name == "*计算机外部设备*扫描枪" and item.rate == Decimal("0.13")
    for i in range(12):
        Item.objects.create(
            organization=org, category="信息技术服务", name=f"服务{i}", tax_code="3" * 19,
            rate=Decimal("0.06"),
        )  # fmt: skip
    found = text_of(client.get(reverse("item_search"), {"line_name": "外部设备"}))
    assert "*计算机外部设备*扫描枪" in found and "服务1" not in found
    assert "&quot;price_incl&quot;: &quot;638.45&quot;" in found
    assert "&quot;line_rate&quot;: &quot;13%&quot;" in found
    many = text_of(client.get(reverse("item_search"), {"q": "*信息技术*服务"}))
    assert many.count('class="suggestion"') == 10
    bad = client.post(reverse("item_new"), {"category": "x", "name": "y", "tax_code": "123"})
    assert "19 位数字" in text_of(bad)
    edit = client.post(
        reverse("item_edit", args=[item.pk]),
        {"category": "计算机外部设备", "name": "扫描枪", "tax_code": item.tax_code,
         "rate_choice": "免税"},
    )  # fmt: skip
    assert edit.status_code == 302
    item.refresh_from_db()
    assert item.rate == 0 and item.exemption == "exempt"
    client.post(reverse("item_delete", args=[item.pk]))
    assert not Item.objects.filter(pk=item.pk).exists()


def test_buyers_are_checked_added_and_found_by_name_or_tax_id(client, org, people):
    client.force_login(people["issuer"])
    malformed = client.post(reverse("buyer_new"), {"name": "坏税号公司", "tax_id": "91ABC"})
    assert malformed.status_code == 200 and not Buyer.objects.exists()
    good = uscc.make("91310115MA1K4LPB0")
    wrong_check = good[:-1] + ("1" if good[-1] != "1" else "2")
    response = client.post(
        reverse("buyer_new"), {"name": "校验位不符有限公司", "tax_id": wrong_check}, follow=True
    )
    assert Buyer.objects.get().tax_id == wrong_check
    assert "校验位不符" in text_of(response)  # warned, not refused
    client.post(
        reverse("buyer_new"),
        {"name": "上海明澜商贸有限公司", "tax_id": good, "email": "finance@minglan.example"},
    )
    by_name = text_of(client.get(reverse("buyer_search"), {"buyer_name": "明澜"}))
    assert "上海明澜商贸有限公司" in by_name and "校验位不符" not in by_name
    assert "finance@minglan.example" in by_name
    by_tax_id = text_of(client.get(reverse("buyer_search"), {"buyer_tax_id": good[:8].lower()}))
    assert "上海明澜商贸有限公司" in by_tax_id
    check = text_of(client.get(reverse("buyer_tax_id_check"), {"tax_id": wrong_check}))
    assert "hint warn" in check
    duplicate = client.post(reverse("buyer_new"), {"name": "上海明澜商贸有限公司", "tax_id": good})
    assert "已有同名称" in text_of(duplicate)


# --- who sees and does what ----------------------------------------------------------------


def test_another_organization_gets_404_on_every_object(client, org, buyer_org, people):
    blue = issue(org, people, buyer_org)
    draft = services.draft_from_invoice(actor=people["issuer"], organization=org, invoice=blue)
    request = services.red_letter_request_create(
        actor=people["issuer"], organization=org, blue=blue, reason="1"
    )
    item = Item.objects.create(
        organization=org, category="a", name="b", tax_code="1" * 19, rate=Decimal("0.13")
    )
    buyer = Buyer.objects.create(organization=org, name="某某公司")
    client.force_login(people["outsider"])
    for name, pk in [
        ("invoice_detail", blue.pk),
        ("invoice_pdf", blue.pk),
        ("invoice_xml", blue.pk),
        ("red_letter_new", blue.pk),
        ("draft_detail", draft.pk),
        ("draft_edit", draft.pk),
        ("red_letter_detail", request.pk),
        ("item_edit", item.pk),
        ("buyer_edit", buyer.pk),
    ]:
        assert client.get(reverse(name, args=[pk])).status_code == 404, name
    for name in ("item_search", "buyer_search"):
        body = text_of(client.get(reverse(name), {"q": ""}))
        assert "某某公司" not in body and "*a*b" not in body
    # The buyer organization sees the invoice it bought, but not the seller's drafts.
    client.force_login(people["buyer_admin"])
    assert client.get(reverse("invoice_detail", args=[blue.pk])).status_code == 200
    assert client.get(reverse("draft_detail", args=[draft.pk])).status_code == 404
    assert client.post(reverse("invoice_copy", args=[blue.pk])).status_code == 302
    assert not Draft.objects.filter(organization=buyer_org).exists()  # only the seller copies


def test_a_viewer_reads_but_cannot_write(client, org, buyer_org, people):
    blue = issue(org, people, buyer_org)
    draft = services.draft_from_invoice(actor=people["issuer"], organization=org, invoice=blue)
    client.force_login(people["viewer"])
    for name in ("draft_list", "item_list", "buyer_list", "red_letter_list"):
        assert client.get(reverse(name)).status_code == 200, name
    page = text_of(client.get(reverse("invoice_detail", args=[blue.pk])))
    assert "申请红冲" not in page and "复制为新草稿" not in page
    assert "新增" not in text_of(client.get(reverse("draft_list"))).split("</h1>", 1)[1][:400]
    for name, args in [
        ("draft_new", []),
        ("draft_edit", [draft.pk]),
        ("item_new", []),
        ("buyer_new", []),
        ("red_letter_new", [blue.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 403, name
    for name, args in [
        ("draft_preview", []),
        ("draft_approve", [draft.pk]),
        ("invoice_copy", [blue.pk]),
        ("invoice_void", [blue.pk]),
    ]:
        assert client.post(reverse(name, args=args)).status_code == 403, name
    assert Draft.objects.count() == 2  # the issued one and its copy: nothing new
    assert not Event.objects.filter(actor=people["viewer"], code__startswith="invoice.").exists()
