"""补录 notices and emails in the recipient's language: Chinese (the source text, unchanged) for a
user who chose none or Chinese, English for one who chose English — whatever language the sender
(a reviewer, a background task) happens to be working in."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone, translation

from fapiao.notices.models import Notice
from fapiao.recovery import services, sla
from fapiao.recovery.tests.helpers import contract, fields, invoice_file

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _language_reset():
    yield
    translation.deactivate()


def _choose(user, language):
    user.language = language
    user.save(update_fields=["language"])


def _apply(org, issuer):
    values = fields(org)
    return services.recovery_create(
        actor=issuer, organization=org, data=values, reason="offline", reason_note="断网",
        evidence=[invoice_file(values), contract()], submit=True,
    )  # fmt: skip


def test_step_texts_in_chinese_are_as_before(org, issuer):
    application = _apply(org, issuer)
    due = f"{timezone.localtime(application.due_at):%Y-%m-%d %H:%M}"
    days = sla.REVIEW_WORKING_DAYS
    expected = {
        "drafted": ("补录申请草稿已创建", "请核对发票信息、上传证明材料后提交审核。"),
        "submitted": ("已收到您的补录申请", f"工作人员会在 {days} 个工作日内审核（{due} 前）。"),
        "resubmitted": ("已收到您补充的材料", f"申请已重新进入审核队列，将在 {due} 前审核。"),
        "more_info": ("补录申请需要补充材料", "工作人员审核后，需要您补充材料后重新提交。"),
        "approved": ("补录申请已通过", "发票已记录到平台，现在可以查到。"),
        "rejected": ("补录申请被驳回", "很抱歉，您的补录申请未通过。"),
        "reminded": (
            "提醒：补录申请仍待您补充材料",
            "补充材料并重新提交后，工作人员才会继续审核。",
        ),
        "withdrawn": ("补录申请已撤回", "申请已由本单位的其他成员撤回。"),
    }
    assert {step: services.step_text(application, step) for step in expected} == expected


def test_step_texts_in_english_fill_in_the_days_and_the_deadline(org, issuer):
    application = _apply(org, issuer)
    due = f"{timezone.localtime(application.due_at):%Y-%m-%d %H:%M}"
    with translation.override("en"):
        texts = {step: services.step_text(application, step) for step in services.STEP_TEXT}
    assert texts["submitted"] == (
        "We have received your supplementary entry request",
        f"Staff will review it within {sla.REVIEW_WORKING_DAYS} working days (by {due}).",
    )
    assert texts["resubmitted"][1] == (
        f"Your request is back in the review queue and will be reviewed by {due}."
    )
    assert texts["rejected"] == (
        "Supplementary entry request rejected",
        "We’re sorry: your supplementary entry request was not approved.",
    )
    untranslated = [step for step, pair in texts.items() if pair in services.STEP_TEXT.values()]
    assert untranslated == []


def test_a_notice_is_written_in_the_applicants_language_not_the_reviewers(org, issuer, staff):
    application = _apply(org, issuer)
    with translation.override("en"):  # the reviewer works in English; the applicant chose none
        services.recovery_request_more(actor=staff, application=application, message="请补充合同")
    chinese = Notice.objects.filter(user=issuer).latest("id")
    assert (chinese.title, chinese.body) == (
        f"补录申请需要补充材料（#{application.pk}）",
        f"发票 {application.identity}：工作人员审核后，需要您补充材料后重新提交。\n"
        "需要补充：请补充合同",
    )
    _choose(issuer, "en")
    services.recovery_submit(actor=issuer, application=application, note="已补合同")
    application.refresh_from_db()
    services.recovery_reject(actor=staff, application=application, reason="金额不符")
    english = Notice.objects.filter(user=issuer).latest("id")
    assert (english.title, english.body) == (
        f"Supplementary entry request rejected (#{application.pk})",
        f"Invoice {application.identity}: We’re sorry: your supplementary entry request was "
        "not approved.\nReason for rejection: 金额不符",
    )
    assert translation.get_language() == "zh-hans"  # the sender's language is left as it was


def test_the_email_is_in_the_applicants_language(
    org, issuer, staff, django_capture_on_commit_callbacks
):
    _choose(issuer, "en")
    with django_capture_on_commit_callbacks(execute=True):
        application = _apply(org, issuer)
    (sent,) = mail.outbox
    assert sent.subject.startswith("[Invoice Platform] We have received your supplementary")
    assert f"Staff will review it within {sla.REVIEW_WORKING_DAYS} working days" in sent.body
    assert f"Request number: #{application.pk}" in sent.body
    assert "您好" not in sent.body and "申请编号" not in sent.body
    assert f"#{application.pk}" in sent.subject

    _choose(issuer, "")
    mail.outbox.clear()
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.recovery_reject(actor=staff, application=application, reason="金额不符")
    (sent,) = mail.outbox
    assert sent.subject.startswith("【发票平台】补录申请被驳回")
    assert "驳回原因：金额不符" in sent.body and "当前状态：已驳回" in sent.body


def test_draft_notices_and_reminders_count_in_either_language(org, issuer):
    _choose(issuer, "en")
    services.recovery_start_bulk(actor=issuer, organization=org, rows=[fields(org)])
    services.recovery_start_bulk(actor=issuer, organization=org, rows=[fields(org), fields(org)])
    created = list(
        Notice.objects.filter(user=issuer).order_by("id").values_list("title", flat=True)
    )
    assert created == [
        "Created 1 supplementary entry request draft",
        "Created 2 supplementary entry request drafts",
    ]
    later = timezone.now() + dt.timedelta(days=3, hours=1)
    assert services.recovery_remind(now=later) == 3  # a background task, no language active
    reminder = Notice.objects.filter(user=issuer).latest("id")
    assert reminder.title == "Reminder: 3 supplementary entry request drafts not yet submitted"
    assert reminder.body == (
        "Staff can review a request only once you have uploaded the invoice file and other "
        "supporting documents and submitted it."
    )

    Notice.objects.all().delete()
    _choose(issuer, "zh-hans")
    services.recovery_start_bulk(actor=issuer, organization=org, rows=[fields(org)])
    chinese = Notice.objects.get(user=issuer)
    assert (chinese.title, chinese.body) == (
        "已创建 1 份补录申请草稿",
        "来自对账的“平台缺失”发票：请逐份核对发票信息、上传发票文件等证明材料后提交。",
    )
    assert services.recovery_remind(now=later + dt.timedelta(days=3, hours=1)) == 4
    reminder = Notice.objects.filter(user=issuer).latest("id")
    assert (reminder.title, reminder.body) == (
        "提醒：4 份补录申请草稿尚未提交",
        "上传发票文件等证明材料并提交后，工作人员才会审核。",
    )
