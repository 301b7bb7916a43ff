import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.audit.models import Event
from fapiao.invoices import services
from fapiao.invoices.models import (
    Draft,
    DraftState,
    Invoice,
    InvoiceStatus,
    NumberSequence,
    RedLetterRequest,
    RedLetterStatus,
)
from fapiao.invoices.services import InvoiceError
from fapiao.rules import numbers, uscc

pytestmark = pytest.mark.django_db

BUYER = {
    "name": "上海明澜商贸有限公司",
    "tax_id": uscc.make("91310115MA1K4LPB0"),
    "email": "finance@minglan.example",
}
TWO_LINES = [
    {
        "name": "*信息技术服务*软件开发服务",
        "tax_code": "3040201010000000000",
        "unit": "项",
        "quantity": "1",
        "unit_price": "10000",
        "rate": "6%",
    },
    {
        "name": "*计算机外部设备*扫描枪",
        "tax_code": "1090512990000000000",
        "unit": "个",
        "quantity": "2",
        "unit_price": "565",
        "rate": "13%",
    },
]


@pytest.fixture
def org():
    return testing.organization("北京开票测试有限公司")


@pytest.fixture
def issuer(org):
    return testing.member(org, Role.ISSUER)


@pytest.fixture
def reviewer(org):
    return testing.member(org, Role.REVIEWER)


def save(org, issuer, lines=TWO_LINES, **kwargs):
    params = {"type_code": "31", "buyer": BUYER, "lines": lines, **kwargs}
    return services.draft_save(actor=issuer, organization=org, **params)


def test_a_mixed_rate_draft_computes_each_line(org, issuer):
    draft = save(org, issuer)
    lines = list(draft.lines.all())
    assert [(line.amount, line.tax) for line in lines] == [
        (Decimal("10000.00"), Decimal("600.00")),
        (Decimal("1130.00"), Decimal("146.90")),
    ]
    assert Event.objects.filter(code="invoice.draft_saved", organization=org).exists()


def test_tax_inclusive_entry(org, issuer):
    line = {**TWO_LINES[0], "quantity": "1", "unit_price": "", "total": "10600", "rate": "0.06"}
    draft = save(org, issuer, lines=[line], prices_include_tax=True)
    only = draft.lines.get()
    assert (only.amount, only.tax) == (Decimal("10000.00"), Decimal("600.00"))


def test_errors_name_their_fields_in_chinese(org, issuer):
    bad = [{**TWO_LINES[0], "rate": "7%"}, {**TWO_LINES[1], "name": "扫描枪"}]
    with pytest.raises(InvoiceError) as caught:
        save(org, issuer, lines=bad, buyer={"name": "", "tax_id": "91ABC"})
    fields = caught.value.by_field()
    assert "lines[0].rate" in fields and "税率" in fields["lines[0].rate"][0]
    assert "lines[1].name" in fields and "*分类简称*名称" in fields["lines[1].name"][0]
    assert "buyer_name" in fields and "buyer_tax_id" in fields
    assert not Draft.objects.exists()


def test_a_special_invoice_needs_the_buyers_tax_id_but_an_ordinary_one_does_not(org, issuer):
    with pytest.raises(InvoiceError):
        save(org, issuer, buyer={"name": "个人"})
    assert save(org, issuer, type_code="32", buyer={"name": "个人"}).buyer_tax_id == ""


def test_submit_then_another_person_approves_and_the_invoice_is_issued(
    org, issuer, reviewer, mailoutbox, django_capture_on_commit_callbacks
):
    draft = save(org, issuer)
    draft = services.draft_submit(actor=issuer, draft=draft)
    assert draft.state == DraftState.SUBMITTED
    with pytest.raises(InvoiceError, match="审核员"):
        services.draft_approve(actor=issuer, draft=draft)  # an issuer may not approve
    with django_capture_on_commit_callbacks(execute=True):
        invoice = services.draft_approve(actor=reviewer, draft=draft)
    assert invoice.seller_org == org and invoice.buyer_name == BUYER["name"]
    assert (invoice.amount, invoice.tax, invoice.total) == (
        Decimal("11130.00"),
        Decimal("746.90"),
        Decimal("11876.90"),
    )
    info = numbers.parse("", invoice.number)
    assert info.ok and info.region.digital_code == "11" and info.year == timezone.localdate().year
    assert invoice.drawer == issuer.name and invoice.reviewer_name == reviewer.name
    assert invoice.lines.count() == 2
    draft.refresh_from_db()
    assert draft.state == DraftState.ISSUED and draft.issued_invoice == invoice
    assert Event.objects.filter(code="invoice.issued", object_id=str(invoice.pk)).exists()
    # The buyer got both files.
    assert mailoutbox[-1].to == [BUYER["email"]]
    names = sorted(name for name, _, _ in mailoutbox[-1].attachments)
    assert names[0].endswith(".pdf") and names[1].endswith(".xml")


def test_the_buyers_email_is_in_chinese_unless_the_address_is_a_user_who_chose_english(
    org, issuer, reviewer, mailoutbox, django_capture_on_commit_callbacks
):
    from django.utils import translation

    from fapiao.accounts.models import User

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        invoice = services.draft_approve(
            actor=reviewer, draft=services.draft_submit(actor=issuer, draft=save(org, issuer))
        )
    chinese = mailoutbox[-1]
    assert chinese.subject == f"【发票平台】{org.name} 向您开具了电子发票 {invoice.number}"
    assert f"价税合计 ¥{invoice.total}" in chinese.body

    User.objects.create_user(email=BUYER["email"].upper(), password=testing.PASSWORD, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        invoice = services.draft_approve(
            actor=reviewer, draft=services.draft_submit(actor=issuer, draft=save(org, issuer))
        )
    english = mailoutbox[-1]
    assert english.subject == (
        f"[Invoice Platform] {org.name} has issued you an electronic invoice {invoice.number}"
    )
    assert f"total ¥{invoice.total}" in english.body and "您好" not in english.body
    names = sorted(name for name, _, _ in english.attachments)
    assert names[0].endswith(".pdf") and names[1].endswith(".xml")


def test_nobody_approves_what_they_submitted(org):
    admin = testing.member(org, Role.ADMIN)  # admins may review, but not their own submission
    draft = services.draft_submit(actor=admin, draft=save(org, admin))
    with pytest.raises(InvoiceError, match="同一人"):
        services.draft_approve(actor=admin, draft=draft)


def test_the_reviewer_sends_a_draft_back_with_a_reason(org, issuer, reviewer):
    draft = services.draft_submit(actor=issuer, draft=save(org, issuer))
    with pytest.raises(InvoiceError):
        services.draft_reject(actor=reviewer, draft=draft, reason=" ")
    services.draft_reject(actor=reviewer, draft=draft, reason="税率填错了")
    draft.refresh_from_db()
    assert draft.state == DraftState.DRAFT and draft.review_reason == "税率填错了"
    viewer = testing.member(org, Role.VIEWER)
    draft = services.draft_submit(actor=issuer, draft=draft)
    with pytest.raises(InvoiceError, match="审核员"):
        services.draft_approve(actor=viewer, draft=draft)


def test_an_organization_without_review_issues_on_submit(org, issuer):
    org.issue_requires_review = False
    org.save()
    invoice = services.draft_submit(actor=issuer, draft=save(org, issuer))
    assert isinstance(invoice, Invoice) and invoice.reviewer_name == ""


def test_copy_an_invoice_and_save_a_template(org, issuer, reviewer):
    invoice = services.draft_approve(
        actor=reviewer, draft=services.draft_submit(actor=issuer, draft=save(org, issuer))
    )
    copy = services.draft_from_invoice(actor=issuer, organization=org, invoice=invoice)
    assert (
        copy.state == DraftState.DRAFT and copy.lines.count() == 2 and copy.copied_from == invoice
    )
    template = services.draft_save_template(actor=issuer, draft=copy, name="月度软件服务")
    assert template.is_template and template.lines.count() == 2
    fresh = services.draft_from_template(actor=issuer, template=template)
    assert not fresh.is_template and fresh.lines.count() == 2
    with pytest.raises(InvoiceError):
        services.draft_submit(actor=issuer, draft=template)


def test_numbers_follow_each_other_and_skip_numbers_already_recorded(org):
    year = timezone.localdate().year
    first = services.number_allocate(region="11", year=year)
    taken = numbers.digital_number(year, "11", services.ISSUE_CHANNEL, int(first[-15:]) + 1)
    testing.invoice(seller=testing.organization(), number=taken, source="imported")
    second = services.number_allocate(region="11", year=year)
    assert int(second[-15:]) == int(first[-15:]) + 2
    assert NumberSequence.objects.get(region="11", year=year).last_value == int(second[-15:])


@pytest.mark.django_db(transaction=True)
def test_parallel_issuing_never_duplicates_or_skips_a_number():
    org = testing.organization("并发开票有限公司")
    org.issue_requires_review = False
    org.save()
    issuer = testing.member(org, Role.ISSUER)
    drafts = [save(org, issuer) for _ in range(16)]
    issued, failures = [], []
    barrier = threading.Barrier(8)

    def work(chunk):
        try:
            barrier.wait()
            for draft in chunk:
                issued.append(services.draft_submit(actor=issuer, draft=draft).number)
        except Exception as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(drafts[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(issued) == len(set(issued)) == 16
    sequences = sorted(int(number[-15:]) for number in issued)
    assert sequences == list(range(sequences[0], sequences[0] + 16))  # no gap
    assert connection.vendor in ("sqlite", "postgresql")


def issued_invoice(org, issuer, reviewer, buyer_org=None):
    buyer = {"name": buyer_org.name, "tax_id": buyer_org.tax_id} if buyer_org else BUYER
    draft = services.draft_submit(actor=issuer, draft=save(org, issuer, buyer=buyer))
    return services.draft_approve(actor=reviewer, draft=draft)


def test_red_letter_with_a_buyer_on_the_platform_waits_for_its_confirmation(org, issuer, reviewer):
    buyer_org = testing.organization("购买方单位有限公司")
    buyer_admin = testing.member(buyer_org, Role.ADMIN)
    blue = issued_invoice(org, issuer, reviewer, buyer_org)
    assert blue.buyer_org == buyer_org
    request = services.red_letter_request_create(
        actor=issuer, organization=org, blue=blue, reason="2"
    )
    assert request.status == RedLetterStatus.AWAITING_BUYER
    wait = request.deadline - request.created_at
    assert abs(wait - datetime.timedelta(hours=72)) < datetime.timedelta(seconds=1)
    with pytest.raises(InvoiceError, match="对方"):
        services.red_letter_confirm(actor=issuer, organization=org, request=request)
    red = services.red_letter_confirm(actor=buyer_admin, organization=buyer_org, request=request)
    blue.refresh_from_db()
    assert red.is_red and red.original == blue and red.total == -blue.total
    assert blue.status == InvoiceStatus.FULLY_RED
    assert f"被红冲蓝字数电发票号码：{blue.number}" in red.remarks
    assert [line.amount for line in red.lines.all()] == [-line.amount for line in blue.lines.all()]


def test_partial_red_letter_without_a_platform_buyer_is_issued_at_once(org, issuer, reviewer):
    blue = issued_invoice(org, issuer, reviewer)
    request = services.red_letter_request_create(
        actor=issuer, organization=org, blue=blue, reason="4", line_amounts={1: Decimal("1000.00")}
    )
    assert request.status == RedLetterStatus.NO_CONFIRMATION and request.red_invoice
    red = request.red_invoice
    assert (red.amount, red.tax) == (Decimal("-1000.00"), Decimal("-60.00"))
    blue.refresh_from_db()
    assert blue.status == InvoiceStatus.PARTLY_RED
    with pytest.raises(InvoiceError, match=r"剩余可红冲金额 9000\.00"):
        services.red_letter_request_create(
            actor=issuer,
            organization=org,
            blue=blue,
            reason="4",
            line_amounts={1: Decimal("10000.00")},
        )


def test_red_letter_requests_lapse_after_72_hours_or_are_refused(org, issuer, reviewer):
    buyer_org = testing.organization("购买方单位有限公司")
    buyer_admin = testing.member(buyer_org, Role.ADMIN)
    blue = issued_invoice(org, issuer, reviewer, buyer_org)
    request = services.red_letter_request_create(
        actor=issuer, organization=org, blue=blue, reason="1"
    )
    later = timezone.now() + datetime.timedelta(hours=73)
    assert services.red_letter_lapse_overdue(now=later) == 1
    request.refresh_from_db()
    assert request.status == RedLetterStatus.LAPSED
    again = services.red_letter_request_create(
        actor=issuer, organization=org, blue=blue, reason="1"
    )
    services.red_letter_refuse(actor=buyer_admin, organization=buyer_org, request=again)
    again.refresh_from_db()
    assert again.status == RedLetterStatus.REFUSED_BY_BUYER
    blue.refresh_from_db()
    assert (
        blue.status == InvoiceStatus.NORMAL
        and not RedLetterRequest.objects.filter(red_invoice__isnull=False).exists()
    )


def test_only_paper_invoices_are_voided(org, issuer, reviewer):
    electronic = issued_invoice(org, issuer, reviewer)
    with pytest.raises(InvoiceError, match="红冲"):
        services.invoice_void(actor=issuer, organization=org, invoice=electronic)
    paper = testing.invoice(
        seller=org, type_code="04", code="011001900104", number="00001234", source="imported"
    )
    services.invoice_void(actor=issuer, organization=org, invoice=paper)
    paper.refresh_from_db()
    assert paper.status == InvoiceStatus.VOIDED
    assert Event.objects.filter(code="invoice.voided", object_id=str(paper.pk)).exists()


def test_a_request_schedules_its_own_lapse_in_the_task_queue(
    org, issuer, reviewer, settings, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    buyer_org = testing.organization("购买方单位有限公司")
    testing.member(buyer_org, Role.ADMIN)
    blue = issued_invoice(org, issuer, reviewer, buyer_org)
    with django_capture_on_commit_callbacks(execute=True):
        request = services.red_letter_request_create(
            actor=issuer, organization=org, blue=blue, reason="1"
        )
    queued = DBTaskResult.objects.get(task_path="fapiao.invoices.tasks.red_letter_lapse")
    assert queued.run_after == request.deadline
    assert queued.args_kwargs["kwargs"] == {"request_id": request.pk}


def test_drafts_and_templates_are_deleted_but_submitted_ones_stay(org, issuer):
    draft = save(org, issuer)
    services.draft_delete(actor=issuer, draft=draft)
    assert not Draft.objects.filter(pk=draft.pk).exists()
    assert Event.objects.filter(code="invoice.draft_deleted", organization=org).exists()
    submitted = services.draft_submit(actor=issuer, draft=save(org, issuer))
    with pytest.raises(InvoiceError):
        services.draft_delete(actor=issuer, draft=submitted)


def test_directory_changes_are_logged(org, issuer):
    from fapiao.invoices.models import Buyer

    buyer = services.directory_save(
        actor=issuer, organization=org, entry=Buyer(name="目录单位有限公司")
    )
    services.directory_delete(actor=issuer, organization=org, entry=buyer)
    codes = list(Event.objects.filter(organization=org).values_list("code", flat=True))
    assert "invoice.directory_saved" in codes and "invoice.directory_deleted" in codes


def test_an_overdue_request_lapses_even_when_someone_tries_to_confirm_it(org, issuer, reviewer):
    buyer_org = testing.organization("购买方单位有限公司")
    buyer_admin = testing.member(buyer_org, Role.ADMIN)
    blue = issued_invoice(org, issuer, reviewer, buyer_org)
    request = services.red_letter_request_create(
        actor=issuer, organization=org, blue=blue, reason="1"
    )
    RedLetterRequest.objects.filter(pk=request.pk).update(
        deadline=timezone.now() - datetime.timedelta(minutes=1)
    )
    with pytest.raises(InvoiceError, match="72"):
        services.red_letter_confirm(actor=buyer_admin, organization=buyer_org, request=request)
    request.refresh_from_db()
    assert request.status == RedLetterStatus.LAPSED


def test_the_red_invoice_is_drawn_by_the_sellers_person(org, issuer, reviewer):
    buyer_org = testing.organization("购买方单位有限公司")
    buyer_admin = testing.member(buyer_org, Role.ADMIN)
    blue = issued_invoice(org, issuer, reviewer, buyer_org)
    request = services.red_letter_request_create(
        actor=issuer, organization=org, blue=blue, reason="1"
    )
    red = services.red_letter_confirm(actor=buyer_admin, organization=buyer_org, request=request)
    assert red.drawer == issuer.name
