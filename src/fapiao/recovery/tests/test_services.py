"""补录 services: each transition, the refusals (fields, evidence, duplicates, invoices already on
the platform), the approval recording the invoice once, reminders, and bulk drafts."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from fapiao import testing
from fapiao.accounts.models import Role, StaffRole, User
from fapiao.audit.models import Event
from fapiao.invoices.models import Invoice, InvoiceSource
from fapiao.notices.models import Notice
from fapiao.recovery import services, sla
from fapiao.recovery.models import EvidenceKind, RecoveryApplication, RecoveryStatus
from fapiao.recovery.selectors import recovery_open_for
from fapiao.recovery.services import EvidenceUpload, RecoveryError
from fapiao.recovery.tests.helpers import contract, fields, invoice_file, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _apply(org, issuer, values=None, *, submit=True, evidence=None):
    values = values or fields(org)
    return services.recovery_create(
        actor=issuer,
        organization=org,
        data=values,
        reason="offline",
        reason_note="断网期间离线开具",
        evidence=evidence if evidence is not None else [invoice_file(values), contract()],
        submit=submit,
    )


def _codes(application) -> list[str]:
    return list(
        Event.objects.filter(object_type="recoveryapplication", object_id=str(application.pk))
        .order_by("id")
        .values_list("code", flat=True)
    )


# --- filing ----------------------------------------------------------------------------------


def test_it_submits_with_evidence_a_timer_a_notice_and_an_email(
    org, issuer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application = _apply(org, issuer)
    application.refresh_from_db()
    assert application.status == RecoveryStatus.SUBMITTED
    assert application.applicant == issuer and application.reason == "offline"
    assert application.due_at == sla.working_days_after(application.submitted_at)
    kinds = sorted(application.evidence.values_list("kind", "content_type"))
    assert kinds == [("contract", "image/png"), ("invoice", "application/pdf")]
    assert _codes(application) == ["recovery.drafted", "recovery.submitted"]
    notice = Notice.objects.get(user=issuer)
    assert "已收到您的补录申请" in notice.title
    assert notice.link == f"/recovery/{application.pk}/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [issuer.email]
    assert application.number in mail.outbox[0].body


def test_working_days_skip_the_weekend():
    friday = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)
    assert sla.working_days_after(friday, 2) == dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
    saturday = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
    assert sla.working_days_after(saturday, 1).date() == dt.date(2026, 12, 1)
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    assert sla.remaining_label(now + dt.timedelta(hours=26), now) == "剩 1 天 2 小时"
    assert sla.remaining_label(now - dt.timedelta(hours=5), now) == "已超时 5 小时 0 分"


@pytest.mark.parametrize(
    ("override", "field", "words"),
    [
        ({"number": "1234"}, "number", "发票号码"),
        ({"total": Decimal("1131.00")}, "total", "与价税合计 1131.00 不符"),
        ({"issue_date": dt.date.today() + dt.timedelta(days=3)}, "issue_date", "晚于今天"),
        ({"seller_tax_id": "91310115MA1K7777"}, "seller_tax_id", "销售方纳税人识别号"),
        ({"amount": Decimal("-1000.00"), "total": Decimal("-870.00")}, "amount", "不能为负数"),
        ({"type_code": "99"}, "type_code", "发票种类代码"),
        ({"seller_name": ""}, "seller_name", "请填写销售方名称"),
    ],
)
def test_it_refuses_fields_the_rules_reject(org, issuer, override, field, words):
    values = fields(org, **override)
    with pytest.raises(RecoveryError) as refused:
        _apply(org, issuer, values)
    problems = {p["field"]: p["message"] for p in refused.value.problems}
    assert field in problems and words in problems[field], problems
    assert not RecoveryApplication.objects.exists()


def test_a_digital_number_must_carry_the_issue_year(org, issuer):
    values = fields(org)
    values["issue_date"] = values["issue_date"].replace(year=values["issue_date"].year - 1)
    with pytest.raises(RecoveryError) as refused:
        _apply(org, issuer, values)
    assert refused.value.problems[0]["code"] == "number_year"


def test_the_organization_must_be_seller_or_buyer(org, issuer):
    stranger = testing.organization()
    values = fields(org, buyer_name=stranger.name, buyer_tax_id=stranger.tax_id)
    with pytest.raises(RecoveryError) as refused:
        _apply(org, issuer, values)
    assert refused.value.problems[0]["code"] == "not_a_party"
    assert org.tax_id in refused.value.problems[0]["message"]


def test_as_seller_is_fine_too(org, issuer):
    assert _apply(org, issuer, fields(org, as_seller=True)).status == RecoveryStatus.SUBMITTED


def test_submitting_needs_the_invoice_file(org, issuer):
    with pytest.raises(RecoveryError) as refused:
        _apply(org, issuer, evidence=[contract()])
    assert refused.value.code == "no_invoice_file"


@pytest.mark.parametrize(
    ("upload", "words"),
    [
        (EvidenceUpload("contract", "合同.pdf", b""), "空文件"),
        (EvidenceUpload("contract", "合同.docx", b"PK\x03\x04rest"), "类型不支持"),
        (EvidenceUpload("payment", "回单.zip", b"PK\x03\x04rest"), "压缩包"),
        (EvidenceUpload("payment", "回单.pdf", b"just some text, no pdf"), "与扩展名不符"),
        (EvidenceUpload("payment", "回单.pdf", b"%PDF-1.7\nbroken"), "无法打开"),
        (EvidenceUpload("other", "x.png", b"\x89PNG" + b"0" * (10 * 1024 * 1024)), "过大"),
        (EvidenceUpload("bogus", "x.png", png_bytes()), "类别无效"),
    ],
)
def test_evidence_is_checked_for_kind_size_and_type(org, issuer, upload, words):
    values = fields(org)
    with pytest.raises(RecoveryError) as refused:
        _apply(org, issuer, values, evidence=[invoice_file(values), upload])
    assert refused.value.code == "evidence" and words in refused.value.message
    assert not RecoveryApplication.objects.exists()


# --- duplicates and invoices already on the platform -----------------------------------------


def test_a_second_open_application_is_refused_with_a_link(org, issuer):
    values = fields(org)
    first = _apply(org, issuer, values)
    with pytest.raises(RecoveryError) as refused:
        _apply(org, issuer, dict(values))
    assert refused.value.code == "duplicate"
    assert refused.value.link == f"/recovery/{first.pk}/"
    assert Event.objects.filter(code="recovery.refused", organization=org).count() == 1
    # Once that one is closed, the invoice may be applied for again.
    services.recovery_withdraw(actor=issuer, application=first)
    assert _apply(org, issuer, dict(values)).pk != first.pk


def test_an_invoice_on_the_platform_is_refused_with_its_link(org, issuer):
    recorded = testing.invoice(buyer=org, day=dt.date.today() - dt.timedelta(days=3))
    values = fields(org, number=recorded.number, issue_date=recorded.issue_date)
    with pytest.raises(RecoveryError) as refused:
        _apply(org, issuer, values)
    assert refused.value.code == "already_on_platform"
    assert refused.value.link == f"/invoices/{recorded.pk}/"


def test_an_invoice_of_others_on_the_platform_is_refused_without_its_content(org, issuer):
    a, b = testing.organization("丙单位有限公司"), testing.organization("丁单位有限公司")
    theirs = testing.invoice(seller=a, buyer=b, amount="777.77")
    values = fields(org, number=theirs.number, issue_date=theirs.issue_date)
    with pytest.raises(RecoveryError) as refused:
        _apply(org, issuer, values)
    assert refused.value.code == "already_on_platform_hidden" and not refused.value.link
    for secret in (a.name, b.name, "777.77", theirs.number):
        assert secret not in refused.value.message


# --- drafts, edits, evidence, (re)submission ---------------------------------------------------


def test_a_draft_is_completed_then_submitted(org, issuer):
    values = fields(org)
    draft = _apply(org, issuer, {**values, "amount": None, "tax": None}, submit=False, evidence=[])
    assert draft.status == RecoveryStatus.DRAFT and draft.due_at is None
    with pytest.raises(RecoveryError) as refused:
        services.recovery_submit(actor=issuer, application=draft)
    assert refused.value.code == "invalid" and "请填写金额" in refused.value.message
    services.recovery_update(actor=issuer, application=draft, data=values, reason="network")
    with pytest.raises(RecoveryError) as refused:
        services.recovery_submit(actor=issuer, application=draft)
    assert refused.value.code == "no_invoice_file"
    services.evidence_add(actor=issuer, application=draft, uploads=[invoice_file(values)])
    submitted = services.recovery_submit(actor=issuer, application=draft)
    assert submitted.status == RecoveryStatus.SUBMITTED and submitted.reason == "network"
    assert _codes(draft) == [
        "recovery.drafted",
        "recovery.updated",
        "recovery.evidence_added",
        "recovery.submitted",
    ]
    with pytest.raises(RecoveryError) as refused:
        services.evidence_add(actor=issuer, application=draft, uploads=[contract()])
    assert refused.value.code == "wrong_status"


def test_more_material_then_resubmission(org, issuer, staff):
    application = _apply(org, issuer)
    services.recovery_request_more(actor=staff, application=application, message="请补充付款回单")
    application.refresh_from_db()
    assert application.status == RecoveryStatus.MORE_INFO and application.due_at is None
    assert "请补充付款回单" in Notice.objects.filter(user=issuer).first().body
    with pytest.raises(RecoveryError) as refused:
        services.recovery_submit(actor=issuer, application=application)
    assert refused.value.code == "nothing_added"
    reviewed = application.evidence.first()
    with pytest.raises(RecoveryError):
        services.evidence_remove(actor=issuer, evidence=reviewed)
    services.evidence_add(
        actor=issuer,
        application=application,
        uploads=[EvidenceUpload(EvidenceKind.PAYMENT, "回单.png", png_bytes("gray"))],
    )
    services.recovery_submit(actor=issuer, application=application, note="已补充回单")
    application.refresh_from_db()
    assert application.status == RecoveryStatus.SUBMITTED and application.due_at is not None
    assert _codes(application)[-2:] == ["recovery.evidence_added", "recovery.resubmitted"]
    event = Event.objects.filter(code="recovery.resubmitted").get()
    assert event.details["message"] == "已补充回单"


def test_staff_may_not_ask_more_of_a_draft_nor_approve_it(org, issuer, staff):
    draft = _apply(org, issuer, submit=False)
    with pytest.raises(RecoveryError):
        services.recovery_request_more(actor=staff, application=draft, message="x")
    with pytest.raises(RecoveryError):
        services.recovery_approve(actor=staff, application=draft)
    with pytest.raises(RecoveryError):
        services.recovery_reject(actor=staff, application=draft, reason="x")


def test_reject_needs_a_reason_and_notifies(org, issuer, staff):
    application = _apply(org, issuer)
    with pytest.raises(RecoveryError):
        services.recovery_reject(actor=staff, application=application, reason=" ")
    services.recovery_reject(actor=staff, application=application, reason="材料不能证明交易")
    application.refresh_from_db()
    assert application.status == RecoveryStatus.REJECTED and application.decided_by == staff
    assert Notice.objects.filter(user=issuer, title__contains="被驳回").exists()
    with pytest.raises(RecoveryError):
        services.recovery_withdraw(actor=issuer, application=application)


# --- approval --------------------------------------------------------------------------------


def test_approval_records_the_invoice_once(org, issuer, staff):
    seller = testing.organization("乙供应商有限公司")
    values = fields(org, seller_name=seller.name, seller_tax_id=seller.tax_id)
    application = _apply(org, issuer, values)
    invoice = services.recovery_approve(actor=staff, application=application, message="材料齐全")
    application.refresh_from_db()
    assert application.status == RecoveryStatus.APPROVED and application.invoice == invoice
    assert invoice.source == InvoiceSource.RECOVERED
    assert (invoice.seller_org, invoice.buyer_org) == (seller, org)
    assert (invoice.number, invoice.total) == (values["number"], Decimal("1130.00"))
    line = invoice.lines.get()
    assert line.rate == Decimal("0.13") and line.amount + line.tax == invoice.total
    assert set(
        Event.objects.filter(code="invoice.recovered").values_list("organization", flat=True)
    ) == {org.pk, seller.pk}
    assert Notice.objects.filter(user=issuer, title__contains="已通过").exists()
    with pytest.raises(RecoveryError) as refused:
        services.recovery_approve(actor=staff, application=application)
    assert refused.value.code == "wrong_status"
    assert Invoice.objects.filter(number=values["number"]).count() == 1


def test_approval_is_refused_when_the_invoice_got_recorded_meanwhile(org, issuer, staff):
    values = fields(org)
    application = _apply(org, issuer, values)
    testing.invoice(buyer=org, number=values["number"], day=values["issue_date"])
    with pytest.raises(RecoveryError) as refused:
        services.recovery_approve(actor=staff, application=application)
    assert refused.value.code == "already_recorded"
    application.refresh_from_db()
    assert application.status == RecoveryStatus.SUBMITTED


def test_both_parties_may_apply_and_only_the_first_approval_records(org, issuer, staff):
    seller = testing.organization("乙供应商有限公司")
    seller_issuer = testing.member(seller, Role.ISSUER)
    values = fields(org, seller_name=seller.name, seller_tax_id=seller.tax_id)
    mine = _apply(org, issuer, values)
    theirs = _apply(seller, seller_issuer, dict(values))
    services.recovery_approve(actor=staff, application=theirs)
    with pytest.raises(RecoveryError) as refused:
        services.recovery_approve(actor=staff, application=mine)
    assert refused.value.code == "already_recorded"


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_record_one_invoice(org, issuer, staff):
    application = _apply(org, issuer)
    other_staff = User.objects.create_user(
        email="reviewer2@example.com", password=testing.PASSWORD, staff_role=StaffRole.REVIEWER
    )
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(actor):
        try:
            barrier.wait()
            services.recovery_approve(actor=actor, application=application)
            outcomes.append("approved")
        except RecoveryError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(a,)) for a in (staff, other_staff)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["approved", "refused"]
    assert Invoice.objects.filter(number=application.number).count() == 1
    assert Event.objects.filter(code="recovery.approved").count() == 1


# --- reminders, bulk, selectors ----------------------------------------------------------------


def test_applicants_owing_material_are_reminded_once_a_day(org, issuer, staff):
    application = _apply(org, issuer)
    services.recovery_request_more(actor=staff, application=application, message="请补充合同")
    now = timezone.now()
    assert services.recovery_remind(now=now + dt.timedelta(hours=3)) == 0
    assert services.recovery_remind(now=now + dt.timedelta(days=1, hours=1)) == 1
    assert services.recovery_remind(now=now + dt.timedelta(days=1, hours=5)) == 0
    assert services.recovery_remind(now=now + dt.timedelta(days=2, hours=2)) == 1
    reminders = Notice.objects.filter(user=issuer, title__startswith="提醒")
    assert reminders.count() == 2 and "请补充合同" in reminders.first().body
    assert Event.objects.filter(code="recovery.reminded").count() == 2


def test_a_request_for_material_queues_its_own_reminders(
    org, issuer, staff, settings, django_capture_on_commit_callbacks
):
    """No cron: asking for material queues a reminder a day later, each reminder queues the
    next, and the chain ends once the applicant answers (or is asked again: a new chain)."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    path = "fapiao.recovery.tasks.recovery_remind_due"
    application = _apply(org, issuer)
    with django_capture_on_commit_callbacks(execute=True):
        services.recovery_request_more(actor=staff, application=application, message="请补充合同")
    application.refresh_from_db()
    queued = DBTaskResult.objects.get(task_path=path)
    assert queued.run_after == application.decided_at + services.REMIND_EVERY
    kwargs = queued.args_kwargs["kwargs"]
    assert kwargs == {
        "application_id": application.pk,
        "episode": application.decided_at.isoformat(),
    }

    due = application.decided_at + dt.timedelta(days=1, minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.recovery_remind_one(**kwargs, now=due)
    reminders = Notice.objects.filter(user=issuer, title__startswith="提醒")
    assert reminders.count() == 1 and "请补充合同" in reminders.get().body
    following = DBTaskResult.objects.filter(task_path=path).order_by("-run_after").first()
    assert following.run_after == due + services.REMIND_EVERY
    # Run early (a worker's clock, a duplicate): nothing is sent twice.
    with django_capture_on_commit_callbacks(execute=True):
        services.recovery_remind_one(**kwargs, now=due + dt.timedelta(hours=2))
    assert reminders.count() == 1

    # The applicant answers: the chain ends without a word.
    services.recovery_submit(actor=issuer, application=application, note="合同已在原材料中")
    queued_before = DBTaskResult.objects.filter(task_path=path).count()
    with django_capture_on_commit_callbacks(execute=True):
        services.recovery_remind_one(**kwargs, now=due + dt.timedelta(days=3))
    assert reminders.count() == 1
    assert DBTaskResult.objects.filter(task_path=path).count() == queued_before


def test_bulk_drafts_skip_recorded_and_open_ones(org, issuer):
    recorded = testing.invoice(buyer=org)
    open_one = _apply(org, issuer)
    new = fields(org)
    rows = [
        {**new, "note": ""},
        dict(new),  # the same row twice
        {**fields(org), "number": recorded.number},
        {**fields(org), "number": open_one.number},
        {**fields(org), "number": "  "},
    ]
    created = services.recovery_start_bulk(actor=issuer, organization=org, rows=rows)
    assert [a.number for a in created] == [new["number"]]
    draft = created[0]
    assert draft.status == RecoveryStatus.DRAFT and draft.reason == "other"
    assert draft.reason_note == "来自对账" and draft.total == new["total"]
    assert recovery_open_for(organization=org, number=new["number"]) == draft
    assert recovery_open_for(organization=testing.organization(), number=new["number"]) is None
    assert Notice.objects.filter(user=issuer, title="已创建 1 份补录申请草稿").exists()
    assert services.recovery_start_bulk(actor=issuer, organization=org, rows=rows) == []


def test_a_draft_from_an_invoice_file_is_prefilled(org, issuer):
    values = fields(org)
    pdf = invoice_file(values)
    draft = services.recovery_from_file(
        actor=issuer, organization=org, name=pdf.name, data=pdf.data
    )
    assert draft.status == RecoveryStatus.DRAFT
    assert (draft.number, draft.issue_date, draft.total) == (
        values["number"],
        values["issue_date"],
        values["total"],
    )
    assert (draft.seller_tax_id, draft.buyer_tax_id) == (values["seller_tax_id"], org.tax_id)
    assert draft.evidence.get().kind == EvidenceKind.INVOICE
    services.recovery_submit(actor=issuer, application=draft)
    with pytest.raises(RecoveryError) as refused:
        services.recovery_from_file(actor=issuer, organization=org, name=pdf.name, data=pdf.data)
    assert refused.value.code == "duplicate"


def test_a_file_that_is_no_invoice_is_refused(org, issuer):
    with pytest.raises(RecoveryError) as refused:
        services.recovery_from_file(
            actor=issuer, organization=org, name="photo.png", data=png_bytes()
        )
    assert refused.value.code == "unreadable" and "请手工填写" in refused.value.message


def test_a_legacy_invoice_keeps_its_code(org, issuer, staff):
    values = fields(org, type_code="", code="011001900104", number="00001235")
    application = _apply(org, issuer, values)
    assert (application.code, application.number, application.type_code) == (
        "011001900104",
        "00001235",
        "04",
    )
    invoice = services.recovery_approve(actor=staff, application=application)
    assert (invoice.code, invoice.number, invoice.type_code) == ("011001900104", "00001235", "04")


def test_a_withdrawal_by_another_member_tells_the_applicant(org, issuer):
    application = _apply(org, issuer)
    colleague = testing.member(org, Role.ADMIN)
    services.recovery_withdraw(actor=colleague, application=application)
    application.refresh_from_db()
    assert application.status == RecoveryStatus.WITHDRAWN and application.due_at is None
    assert Notice.objects.filter(user=issuer, title__startswith="补录申请已撤回").exists()


def test_the_remind_command(org, issuer, staff):
    from io import StringIO

    from django.core.management import call_command

    application = _apply(org, issuer)
    services.recovery_request_more(actor=staff, application=application, message="请补充合同")
    RecoveryApplication.objects.filter(pk=application.pk).update(
        decided_at=timezone.now() - dt.timedelta(days=2)
    )
    out = StringIO()
    call_command("recovery", "remind", stdout=out)
    assert "已提醒 1 份" in out.getvalue()


def test_bulk_drafts_leave_out_values_they_cannot_hold(org, issuer):
    row = {**fields(org), "amount": Decimal("1e20"), "tax": Decimal("1.005"), "issue_date": "x"}
    draft = services.recovery_start_bulk(actor=issuer, organization=org, rows=[row])[0]
    draft.refresh_from_db()
    assert (draft.amount, draft.tax, draft.issue_date) == (None, None, None)
    assert draft.total == row["total"]


def test_stale_drafts_are_reminded_in_one_notice(org, issuer):
    rows = [fields(org), fields(org)]
    services.recovery_start_bulk(actor=issuer, organization=org, rows=rows)
    now = timezone.now()
    assert services.recovery_remind(now=now + dt.timedelta(days=1)) == 0
    assert services.recovery_remind(now=now + dt.timedelta(days=3, hours=1)) == 2
    assert services.recovery_remind(now=now + dt.timedelta(days=4)) == 0
    notice = Notice.objects.get(user=issuer, title__startswith="提醒")
    assert notice.title == "提醒：2 份补录申请草稿尚未提交"
    assert notice.link == "/recovery/?status=draft"
