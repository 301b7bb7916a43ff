"""查验 by fields: each result category of the national platform, the inputs per type, the
record kept, and what is (not) shown of another company's invoice."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.audit.models import Event
from fapiao.invoices.models import InvoiceStatus
from fapiao.verification.models import Verification, VerificationResult
from fapiao.verification.tests.helpers import URLS, days_ago, digital_invoice, org_with_member

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


@pytest.fixture
def me(client):
    org, user = org_with_member(Role.VIEWER)  # any member may verify, a viewer too
    client.force_login(user)
    return org


def verify(client, **fields) -> Verification:
    response = client.post(reverse("verify_fields"), fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Verification.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def digital_fields(invoice, **overrides):
    fields = {
        "number": invoice.number,
        "issue_date": invoice.issue_date.isoformat(),
        "total": str(invoice.total),
    }
    return {**fields, **overrides}


def test_it_matches_a_digital_invoice_by_number_date_and_total(client, me):
    invoice = digital_invoice(buyer=me)
    v = verify(client, **digital_fields(invoice))
    assert v.result == VerificationResult.MATCH and v.invoice == invoice
    assert v.organization == me and v.source == "fields" and v.code == ""
    assert len(v.public_id) >= 22
    page = client.get(reverse("verification_detail", args=[v.pk])).content.decode()
    assert 'data-result="match"' in page and "data-platform-copy" in page
    assert invoice.lines.get().name in page  # the platform's copy, with its lines
    event = Event.objects.get(code="verification.done")
    assert event.organization == me and event.details["result"] == "match"


def test_a_match_shows_the_copy_even_to_a_stranger(client, me):
    invoice = digital_invoice(seller=testing.organization(), amount="777.00")
    v = verify(client, **digital_fields(invoice))
    assert v.result == VerificationResult.MATCH and not v.is_party
    page = client.get(reverse("verification_detail", args=[v.pk])).content.decode()
    assert "data-platform-copy" in page and invoice.seller_name in page


def test_a_mismatch_names_each_field_with_both_values_for_a_party(client, me):
    invoice = digital_invoice(buyer=me, amount="1000.00")  # total 1060.00
    v = verify(
        client,
        **digital_fields(invoice, total="1600.00", issue_date=days_ago(11).isoformat()),
    )
    assert v.result == VerificationResult.MISMATCH
    by_field = {d["field"]: d for d in v.differences}
    assert set(by_field) == {"total", "issue_date"}
    assert by_field["total"]["input"] == "1600.00" and by_field["total"]["platform"] == "1060.00"
    page = client.get(reverse("verification_detail", args=[v.pk])).content.decode()
    assert "1600.00" in page and "1060.00" in page and "价税合计" in page


def test_a_mismatch_never_shows_another_companys_invoice(client, me):
    stranger = testing.organization("别家商贸有限公司")
    invoice = digital_invoice(seller=stranger, buyer=testing.organization(), amount="4321.00")
    v = verify(client, **digital_fields(invoice, total="1.00"))
    assert v.result == VerificationResult.MISMATCH
    page = client.get(reverse("verification_detail", args=[v.pk])).content.decode()
    assert "价税合计" in page and "不一致" in page  # the field is named...
    for secret in (
        "4580.26",
        "4,580.26",
        "4321.00",
        "别家商贸有限公司",
        invoice.buyer_name,
        invoice.lines.get().name,
    ):
        assert secret not in page  # ...but nothing of the record is shown
    assert "data-platform-copy" not in page and "不予显示" in page
    report = client.get(reverse("verification_report", args=[v.pk]))
    assert report.status_code == 200 and b"4580.26" not in report.content


def test_not_found(client, me):
    v = verify(
        client, number="25112000000099999999", issue_date=days_ago(3).isoformat(), total="10.00"
    )
    assert v.result == VerificationResult.NOT_FOUND and v.invoice is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (InvoiceStatus.VOIDED, VerificationResult.VOIDED),
        (InvoiceStatus.PARTLY_RED, VerificationResult.RED_PARTIAL),
        (InvoiceStatus.FULLY_RED, VerificationResult.RED_FULL),
    ],
)
def test_the_status_speaks_once_the_inputs_agree(client, me, status, expected):
    invoice = digital_invoice(buyer=me, status=status)
    assert verify(client, **digital_fields(invoice)).result == expected
    # With a wrong input, the status is not revealed: just 不一致.
    assert verify(client, **digital_fields(invoice, total="1.00")).result == "mismatch"


def test_a_same_day_invoice_says_t_plus_1_and_still_shows_our_copy(client, me):
    invoice = digital_invoice(buyer=me, day=days_ago(0))
    v = verify(client, **digital_fields(invoice))
    assert v.result == VerificationResult.SAME_DAY
    page = client.get(reverse("verification_detail", args=[v.pk])).content.decode()
    assert "T+1" in page and "data-platform-copy" in page and "当天开具" in page


def test_older_than_five_years_is_not_verified(client, me):
    old = dt.date(timezone_year() - 6, 3, 1)
    invoice = testing.invoice(
        buyer=me,
        type_code="04",
        code="011001900104",
        number="00001234",
        day=old,
        check_code="12345678901234567890",
    )
    v = verify(
        client,
        code=invoice.code,
        number=invoice.number,
        issue_date=old.isoformat(),
        check_code="567890",
    )
    assert v.result == VerificationResult.TOO_OLD and v.invoice is None


def timezone_year() -> int:
    from django.utils import timezone

    return timezone.localdate().year


@pytest.mark.parametrize(
    "fields",
    [
        {"number": "2511200000001234567", "issue_date": "2026-01-05", "total": "1"},  # 19 digits
        {"number": "25112OOOOO0012345678", "issue_date": "2026-01-05", "total": "1"},  # letters O
        {"number": "25112000000012345678", "issue_date": "2026-02-30", "total": "1"},  # no such day
        {"number": "25112000000012345678", "issue_date": "2026-01-05", "total": "1.234"},
        {
            "code": "011001900104",
            "number": "00001234",
            "issue_date": "2026-01-05",
            "check_code": "12ab",
        },
    ],
)
def test_malformed_input_is_bad_format_with_reasons(client, me, fields):
    v = verify(client, **fields)
    assert v.result == VerificationResult.BAD_FORMAT and v.problems
    page = client.get(reverse("verification_detail", args=[v.pk])).content.decode()
    assert v.problems[0]["message"] in page


def test_a_future_date_is_bad_format(client, me):
    invoice = digital_invoice(buyer=me)
    tomorrow = days_ago(-1).isoformat()
    assert verify(client, **digital_fields(invoice, issue_date=tomorrow)).result == "bad_format"


def test_the_type_decides_the_required_input(client, me):
    # 专票 (10-digit code, 8th digit 1): code + number + date + amount excluding tax.
    special = testing.invoice(
        buyer=me,
        type_code="01",
        code="1100191130",
        number="00004321",
        amount="500.00",
        day=days_ago(30),
        source="imported",
    )
    response = client.post(
        reverse("verify_fields"),
        {"code": special.code, "number": special.number, "issue_date": special.issue_date},
    )
    assert response.status_code == 200 and "须填写金额（不含税）" in response.content.decode()
    v = verify(
        client,
        code=special.code,
        number=special.number,
        issue_date=special.issue_date.isoformat(),
        amount="500",
    )
    assert v.result == VerificationResult.MATCH
    # 普票 (12-digit code, kind 04): last six digits of the check code.
    plain = testing.invoice(
        buyer=me,
        type_code="04",
        code="011001900104",
        number="00001234",
        day=days_ago(30),
        check_code="12345678901234567890",
        source="imported",
    )
    response = client.post(
        reverse("verify_fields"),
        {
            "code": plain.code,
            "number": plain.number,
            "issue_date": plain.issue_date,
            "amount": "100",
        },
    )
    assert "须填写校验码后六位" in response.content.decode()
    v = verify(
        client,
        code=plain.code,
        number=plain.number,
        issue_date=plain.issue_date.isoformat(),
        check_code="567890",
    )
    assert v.result == VerificationResult.MATCH
    v = verify(
        client,
        code=plain.code,
        number=plain.number,
        issue_date=plain.issue_date.isoformat(),
        check_code="000000",
    )
    assert v.result == "mismatch" and v.differences[0]["label"] == "校验码后六位"


def test_the_inputs_fragment_shows_only_what_the_type_needs(client, me):
    url = reverse("verify_fields_inputs")
    digital = client.get(url, {"number": "25112000000012345678"}).content.decode()
    assert 'data-input="total">' in digital and 'data-input="amount" hidden' not in digital
    assert 'hidden data-input="amount"' in digital and 'hidden data-input="check_code"' in digital
    special = client.get(url, {"code": "1100191130", "number": "00004321"}).content.decode()
    assert "增值税专用发票" in special and 'hidden data-input="total"' in special
    assert 'hidden data-input="amount"' not in special
    plain = client.get(url, {"code": "011001900104", "number": "00001234"}).content.decode()
    assert 'hidden data-input="check_code"' not in plain and 'hidden data-input="amount"' in plain
    wrong = client.get(url, {"number": "123"}).content.decode()
    assert "3 位" in wrong


def test_every_verification_is_recorded_and_listed(client, me):
    invoice = digital_invoice(buyer=me)
    verify(client, **digital_fields(invoice))
    verify(client, **digital_fields(invoice, total="2.00"))
    page = client.get(reverse("verification_list")).content.decode()
    assert page.count("data-verification=") == 2
    filtered = client.get(reverse("verification_list"), {"result": "mismatch"}).content.decode()
    assert filtered.count("data-verification=") == 1


def test_amounts_compare_as_decimals(client, me):
    invoice = digital_invoice(buyer=me, amount="1000.00")
    assert invoice.total == Decimal("1060.00")
    assert verify(client, **digital_fields(invoice, total="1,060")).result == "match"
    assert verify(client, **digital_fields(invoice, total="¥1060.0")).result == "match"
