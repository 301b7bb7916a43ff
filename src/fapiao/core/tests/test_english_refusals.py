"""Refusals raised by the services reach the user in the language of the request (the original
Chinese otherwise), while what is kept of them in the operation log stays Chinese."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from fapiao import testing
from fapiao.accounts import services as accounts
from fapiao.accounts.models import Role
from fapiao.audit.models import Event
from fapiao.invoices import services as invoices
from fapiao.recovery import services as recovery
from fapiao.recovery.tests.helpers import contract, fields, invoice_file
from fapiao.verification import services as verification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def org():
    return testing.organization("英文提示测试有限公司")


def _refusal(error_class, call):
    with pytest.raises(error_class) as raised:
        call()
    return raised.value


def test_joining_an_organization_one_belongs_to_is_refused_in_the_users_language(org):
    user = testing.member(org, Role.VIEWER)

    def join():
        accounts.join_request_create(user=user, organization=org)

    with translation.override("en"):
        english = _refusal(ValidationError, join)
    assert english.messages == ["You are already a member of this organization."]
    assert english.code == "already_member"
    assert _refusal(ValidationError, join).messages == ["您已经是该组织的成员。"]


def test_invoice_refusals_are_english_with_their_values_filled_in(org):
    issuer = testing.member(org, Role.ISSUER)
    electronic = testing.invoice(seller=org)

    def void():
        invoices.invoice_void(actor=issuer, organization=org, invoice=electronic)

    with translation.override("en"):
        assert _refusal(invoices.InvoiceError, void).messages == [
            "An electronic invoice cannot be voided: reverse it with a red-letter confirmation."
        ]
        lines = _refusal(
            invoices.InvoiceError,
            lambda: invoices.lines_prepare([{"name": "", "rate": "6%"}], prices_include_tax=False),
        )
    assert "Row 1: Enter the item name." in lines.messages
    assert _refusal(invoices.InvoiceError, void).messages == [
        "电子发票不能作废，请通过红字确认单红冲。"
    ]
    chinese = _refusal(
        invoices.InvoiceError,
        lambda: invoices.lines_prepare([{"name": "", "rate": "6%"}], prices_include_tax=False),
    )
    assert "第 1 行：请填写项目名称。" in chinese.messages


def test_a_recovery_refusal_is_english_but_the_operation_log_keeps_it_in_chinese(org):
    issuer = testing.member(org, Role.ISSUER)
    recorded = testing.invoice(buyer=org, day=dt.date.today() - dt.timedelta(days=3))
    values = fields(org, number=recorded.number, issue_date=recorded.issue_date)

    def apply():
        recovery.recovery_create(
            actor=issuer,
            organization=org,
            data=dict(values),
            reason="offline",
            evidence=[invoice_file(values), contract()],
        )

    with translation.override("en"):
        english = _refusal(recovery.RecoveryError, apply)
    assert english.code == "already_on_platform"
    assert english.message == (
        f"Invoice {recorded} is already on the platform: no supplementary entry is needed"
    )
    assert english.link == f"/invoices/{recorded.pk}/"
    logged = Event.objects.get(code="recovery.refused", organization=org)
    assert logged.description == f"补录申请被拒绝：发票 {recorded} 已在平台上，无需补录"
    assert _refusal(recovery.RecoveryError, apply).message == (
        f"发票 {recorded} 已在平台上，无需补录"
    )


def test_a_recovery_request_in_the_wrong_status_names_the_action_in_english(org):
    issuer = testing.member(org, Role.ISSUER)
    values = fields(org)
    application = recovery.recovery_create(
        actor=issuer,
        organization=org,
        data=values,
        reason="offline",
        evidence=[invoice_file(values), contract()],
    )
    recovery.recovery_withdraw(actor=issuer, application=application)

    def submit():
        recovery.recovery_submit(actor=issuer, application=application)

    with translation.override("en"):
        english = _refusal(recovery.RecoveryError, submit)
        missing = recovery.fields_check(organization=org, data={**values, "amount": None})[1]
    assert english.code == "wrong_status"
    assert english.message == (
        f"Supplementary entry request #{application.pk} is “Withdrawn”: you cannot submit it"
    )
    assert [p["message"] for p in missing] == ["Please fill in “Amount excl. tax”"]
    assert _refusal(recovery.RecoveryError, submit).message == (
        f"补录申请 #{application.pk} 的状态为“已撤回”，不能提交"
    )


def test_verification_refusals_are_english(org):
    user = testing.member(org, Role.ISSUER)

    def batch():
        verification.batch_create(actor=user, organization=org, uploads=[])

    with translation.override("en"):
        english = _refusal(verification.VerificationError, batch)
        __, problems = verification.attachments_check(invoice_files=[], support_files=[])
    assert (english.code, english.field) == ("no_files", "files")
    assert english.message == "Choose the files to verify"
    assert english.as_dict()["message"] == "Choose the files to verify"
    assert problems == [
        "Upload at least one invoice file (PDF, OFD, XML or an image of the invoice)"
    ]
    assert _refusal(verification.VerificationError, batch).message == "请选择要查验的文件"


def test_a_lines_message_on_its_own_field_drops_the_row_in_either_language():
    from fapiao.invoices.forms import without_row

    assert without_row("第 2 行：请填写项目名称") == "请填写项目名称"
    assert without_row("Row 2: Enter the item name.") == "Enter the item name."
    assert without_row("Rows must add up") == "Rows must add up"
