"""The finder page: form, file upload, results; members only; the invoice list's link to it."""

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from fapiao import testing
from fapiao.accounts.models import Role, User
from fapiao.invoices.documents import invoice_pdf
from fapiao.rules import numbers

pytestmark = pytest.mark.django_db

DAY = dt.date.today() - dt.timedelta(days=20)


def number(serial: int, region: str = "11") -> str:
    return numbers.digital_number(DAY.year, region, "2", serial)


def test_a_member_finds_an_invoice_by_number(client, org):
    invoice = testing.invoice(seller=org, number=number(1234567), day=DAY)
    client.force_login(testing.member(org, Role.VIEWER))
    body = client.get(reverse("finder"), {"number": invoice.number}).content.decode()
    assert 'data-found="1"' in body
    assert reverse("invoice_detail", args=[invoice.pk]) in body


def test_the_page_proposes_the_near_match_with_its_link(client, org, admin):
    invoice = testing.invoice(seller=org, number=number(1234567), day=DAY)
    client.force_login(admin)
    body = client.get(reverse("finder"), {"number": invoice.number[:-1] + "0"}).content.decode()
    assert 'data-found="0"' in body and 'data-diagnosis="near_match"' in body
    assert f'data-proposal="{invoice.number}"' in body
    assert reverse("invoice_detail", args=[invoice.pk]) in body
    assert "第 20 位" in body


def test_not_found_offers_recovery_with_the_fields(client, org, admin):
    client.force_login(admin)
    wanted = number(4321)
    body = client.get(
        reverse("finder"),
        {"number": wanted, "date": DAY.isoformat(), "amount": "1060", "basis": "total"},
    ).content.decode()
    assert 'data-diagnosis="not_on_platform"' in body
    recovery = reverse("recovery_new")
    assert f"{recovery}?number={wanted}&amp;code=&amp;date={DAY.isoformat()}" not in body
    assert f"{recovery}?number={wanted}&amp;date={DAY.isoformat()}&amp;total=1060" in body


def test_bad_input_is_named(client, org, admin):
    client.force_login(admin)
    body = client.get(reverse("finder"), {"date": "2025-13-40", "amount": "abc"}).content.decode()
    assert "开票日期无效" in body and "金额无效" in body
    body = client.get(reverse("finder"), {"number": "  "}).content.decode()
    assert "请至少填写一项" in body


def test_an_uploaded_invoice_file_is_read_and_found(client, org, admin):
    invoice = testing.invoice(buyer=org, number=number(2468), day=DAY, amount="321.00")
    client.force_login(admin)
    response = client.post(
        reverse("finder"), {"file": SimpleUploadedFile("fapiao.pdf", invoice_pdf(invoice))}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-found="1"' in body and invoice.number in body


def test_an_unreadable_file_is_refused_with_a_reason(client, org, admin):
    client.force_login(admin)
    response = client.post(reverse("finder"), {"file": SimpleUploadedFile("a.txt", b"hello")})
    assert "类型不支持" in response.content.decode()


def test_another_organizations_invoice_is_never_shown_on_the_page(client, org, admin):
    other, third = testing.organization(), testing.organization()
    theirs = testing.invoice(seller=other, buyer=third, number=number(777), day=DAY,
                             amount="4321.00", buyer_name="秘密客户有限公司")  # fmt: skip
    client.force_login(admin)
    body = client.get(reverse("finder"), {"number": theirs.number}).content.decode()
    assert 'data-diagnosis="not_visible"' in body
    for secret in (other.name, third.name, "4321", "秘密客户", reverse("invoice_detail",
                   args=[theirs.pk])):  # fmt: skip
        assert secret not in body
    # Nor its neighbours' near matches.
    body = client.get(reverse("finder"), {"number": theirs.number[:-1] + "0"}).content.decode()
    assert theirs.number not in body.replace(f'value="{theirs.number[:-1]}0"', "")


def test_signed_out_and_outsiders(client, org):
    assert client.get(reverse("finder")).status_code == 302
    loner = User.objects.create_user(email="loner@example.com", password=testing.PASSWORD)
    client.force_login(loner)
    assert client.get(reverse("finder"), {"number": "1"}).status_code == 404
    assert client.post(reverse("finder"), {}).status_code == 404


def test_the_finder_is_in_the_navigation(client, org, admin):
    client.force_login(admin)
    body = client.get("/").content.decode()
    assert f'href="{reverse("finder")}"' in body and "发票查找" in body


def test_the_invoice_list_links_to_the_finder_when_nothing_is_found(client, org, admin):
    testing.invoice(seller=org, number=number(1), day=DAY)
    client.force_login(admin)
    wanted = number(2)
    body = client.get(reverse("invoice_list"), {"number": wanted}).content.decode()
    assert "找不到？让平台诊断原因" in body
    assert f"{reverse('finder')}?number={wanted}" in body
    body = client.get(reverse("invoice_list"), {"number": number(1)}).content.decode()
    assert "找不到？让平台诊断原因" not in body


# --- the command ---------------------------------------------------------------------------------


def run_find(*args) -> str:
    import io

    out = io.StringIO()
    call_command("find", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_json_shape(org):
    invoice = testing.invoice(seller=org, number=number(135), day=DAY)
    found = json.loads(run_find("--org", org.tax_id, "--number", invoice.number, "--json"))
    assert set(found) == {"found", "invoice", "diagnoses"}
    assert found["found"] is True and found["invoice"]["number"] == invoice.number
    assert found["diagnoses"] == []

    near = json.loads(
        run_find("--org", org.tax_id, "--number", invoice.number[:-1] + "9", "--json")
    )
    assert near["found"] is False and near["invoice"] is None
    first = near["diagnoses"][0]
    assert set(first) == {"code", "message", "evidence", "candidates"}
    assert first["code"] == "near_match" and first["candidates"] == [invoice.number]

    shanghai = json.loads(
        run_find(
            "--org",
            org.tax_id,
            "--number",
            number(999135, region="31"),
            "--date",
            DAY.isoformat(),
            "--amount",
            "106.00",
            "--json",
        )
    )
    assert shanghai["diagnoses"][0]["code"] == "other_region"
    assert "上海市" in shanghai["diagnoses"][0]["message"]


def test_the_command_in_words_and_its_errors(org):
    invoice = testing.invoice(seller=org, number=number(136), day=DAY)
    text = run_find("--org", org.tax_id, "--number", invoice.number)
    assert text.startswith(f"找到了：{invoice.number}")
    text = run_find("--org", org.tax_id, "--number", invoice.number[:-1] + "0")
    assert "[near_match]" in text and invoice.number in text
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="没有纳税人识别号"):
        run_find("--org", "91110108MA00000000", "--number", "1")
    with pytest.raises(CommandError, match="开票日期无效"):
        run_find("--org", org.tax_id, "--date", "2025-02-30")


def test_a_red_invoice_is_marked_red_with_its_blue_one(client, org, admin):
    from fapiao.invoices.models import InvoiceStatus

    blue = testing.invoice(
        seller=org,
        number=number(880001),
        day=DAY,
        amount="64103.82",
        status=InvoiceStatus.FULLY_RED,
    )
    red = testing.invoice(
        seller=org, number=number(880005), day=DAY, amount="-64103.82", is_red=True, original=blue
    )
    client.force_login(admin)
    body = client.get(reverse("finder"), {"number": red.number[:-1] + "9"}).content.decode()
    row = body.split(f'data-proposal="{red.number}"')[1].split("</tr>")[0]
    assert 'data-red="1"' in row and "红字" in row and "正常" not in row
    assert blue.number in row and reverse("invoice_detail", args=[blue.pk]) in row
    body = client.get(reverse("finder"), {"number": red.number}).content.decode()
    found = body.split('data-found="1"')[1].split("</section>")[0]
    assert "红字发票" in found and blue.number in found


def test_a_shared_legacy_number_lists_both_invoices_with_their_codes(client, org, admin):
    a = testing.invoice(seller=org, type_code="04", code="011001900104", number="34653717", day=DAY)
    b = testing.invoice(seller=org, type_code="04", code="011001900205", number="34653717", day=DAY)
    client.force_login(admin)
    body = client.get(reverse("finder"), {"number": "34653717"}).content.decode()
    assert 'data-found="0"' in body and 'data-diagnosis="several_matches"' in body
    assert 'data-diagnosis="amount_mismatch"' not in body
    for invoice in (a, b):
        assert f"发票代码 {invoice.code}" in body
        assert reverse("invoice_detail", args=[invoice.pk]) in body
