"""补录 pages: the form (prefilled from the finder's query, or from a file), refusals with links,
the applicant's page, the staff queue with its timers, and the decision."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from fapiao import testing
from fapiao.invoices.models import Invoice
from fapiao.notices.models import Notice
from fapiao.recovery import services
from fapiao.recovery.models import RecoveryApplication, RecoveryStatus
from fapiao.recovery.tests.helpers import contract, fields, invoice_file, invoice_pdf_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _post_data(values: dict, **extra) -> dict:
    data = {k: ("" if v is None else str(v)) for k, v in values.items()}
    data.update({"reason": "offline", "reason_note": "断网", "action": "submit", **extra})
    return data


def _file(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def _submitted(org, issuer, values=None):
    values = values or fields(org)
    return services.recovery_create(
        actor=issuer,
        organization=org,
        data=values,
        reason="offline",
        evidence=[invoice_file(values), contract()],
    )


def test_the_form_is_prefilled_from_the_finders_query(client, org, issuer):
    client.force_login(issuer)
    query = (
        "?number=26312000000000123456&date=2026-11-20&total=1130.00&amount=1000.00"
        f"&seller_name=乙公司&buyer_tax_id={org.tax_id}&type_code=32"
    )
    response = client.get(reverse("recovery_new") + query)
    form = response.context["form"]
    assert form.initial["number"] == "26312000000000123456"
    assert form.initial["issue_date"] == dt.date(2026, 11, 20)
    assert form.initial["total"] == "1130.00" and form.initial["role"] == "buyer"
    body = response.content.decode()
    assert 'value="26312000000000123456"' in body and 'value="2026-11-20"' in body


def test_filing_with_evidence_submits_and_shows_progress(client, org, issuer):
    values = fields(org)
    client.force_login(issuer)
    data = _post_data(values)
    data["invoice_files"] = _file("fp.pdf", invoice_pdf_bytes(values))
    data["payment_files"] = _file("回单.png", contract().data)
    response = client.post(reverse("recovery_new"), data)
    application = RecoveryApplication.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/recovery/{application.pk}/"
    assert application.status == RecoveryStatus.SUBMITTED
    page = client.get(response["Location"]).content.decode()
    assert "待审核" in page and "fp.pdf" in page and "回单.png" in page
    assert 'data-step-state="current"' in page


def test_the_role_choice_fills_in_the_organization(client, org, issuer):
    values = fields(org, buyer_name="", buyer_tax_id="")
    client.force_login(issuer)
    data = _post_data(values, role="buyer", action="draft")
    client.post(reverse("recovery_new"), data)
    application = RecoveryApplication.objects.get()
    assert (application.buyer_name, application.buyer_tax_id) == (org.name, org.tax_id)
    assert application.status == RecoveryStatus.DRAFT


def test_bad_fields_are_shown_on_their_fields(client, org, issuer):
    values = fields(org, total="1131.00")
    client.force_login(issuer)
    data = _post_data(values)
    data["invoice_files"] = _file("fp.pdf", invoice_pdf_bytes(fields(org)))
    response = client.post(reverse("recovery_new"), data)
    assert response.status_code == 200
    assert "与价税合计 1131.00 不符" in str(response.context["form"].errors["total"])
    assert not RecoveryApplication.objects.exists()


def test_a_duplicate_is_refused_with_a_link_to_the_open_one(client, org, issuer):
    values = fields(org)
    first = _submitted(org, issuer, values)
    client.force_login(issuer)
    data = _post_data(values)
    data["invoice_files"] = _file("fp.pdf", invoice_pdf_bytes(values))
    body = client.post(reverse("recovery_new"), data).content.decode()
    assert 'data-refusal="duplicate"' in body and f'href="/recovery/{first.pk}/"' in body


def test_another_organizations_invoice_is_refused_without_its_content(client, org, issuer):
    a, b = testing.organization("丙单位有限公司"), testing.organization("丁单位有限公司")
    theirs = testing.invoice(seller=a, buyer=b, amount="777.77")
    values = fields(org, number=theirs.number, issue_date=theirs.issue_date)
    client.force_login(issuer)
    data = _post_data(values)
    data["invoice_files"] = _file("fp.pdf", invoice_pdf_bytes(values))
    body = client.post(reverse("recovery_new"), data).content.decode()
    assert 'data-refusal="already_on_platform_hidden"' in body
    assert a.name not in body and b.name not in body and f"/invoices/{theirs.pk}/" not in body


def test_from_a_file_to_a_prefilled_draft(client, org, issuer):
    values = fields(org)
    client.force_login(issuer)
    response = client.post(
        reverse("recovery_from_file"), {"file": _file("fp.pdf", invoice_pdf_bytes(values))}
    )
    draft = RecoveryApplication.objects.get()
    assert response["Location"] == reverse("recovery_edit", args=[draft.pk])
    edit = client.get(response["Location"])
    assert edit.context["form"].initial["number"] == values["number"]
    client.post(reverse("recovery_submit", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == RecoveryStatus.SUBMITTED


def test_evidence_refusals_are_explained(client, org, issuer):
    draft = services.recovery_create(
        actor=issuer, organization=org, data=fields(org), reason="other", submit=False
    )
    client.force_login(issuer)
    response = client.post(
        reverse("recovery_evidence_add", args=[draft.pk]),
        {"kind": "contract", "files": _file("合同.docx", b"PK\x03\x04xx")},
        follow=True,
    )
    assert "类型不支持" in response.content.decode()
    assert not draft.evidence.exists()


def test_downloads_and_previews_of_evidence(client, org, issuer):
    application = _submitted(org, issuer)
    pdf = application.evidence.get(kind="invoice")
    client.force_login(issuer)
    download = client.get(reverse("recovery_evidence", args=[pdf.pk]))
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    preview = client.get(reverse("recovery_evidence", args=[pdf.pk]) + "?preview=1")
    assert preview["Content-Type"] == "image/png" and preview.content.startswith(b"\x89PNG")


def test_staff_queue_highlights_overdue_applications(client, org, issuer, staff):
    late, fresh = _submitted(org, issuer), _submitted(org, issuer)
    RecoveryApplication.objects.filter(pk=late.pk).update(
        due_at=timezone.now() - dt.timedelta(hours=3)
    )
    client.force_login(staff)
    body = client.get(reverse("staff_recovery_queue")).content.decode()
    assert f'data-application="{late.pk}" class="overdue" data-overdue' in body
    assert f'data-application="{fresh.pk}">' in body
    assert "已超时 3 小时" in body and body.index(f"#{late.pk}") < body.index(f"#{fresh.pk}")
    home = client.get(reverse("staff_home")).content.decode()
    assert "补录申请" in home


def test_a_long_staff_queue_is_paged_and_counts_every_overdue_one(
    client, org, issuer, staff, monkeypatch
):
    from fapiao.recovery import views

    monkeypatch.setattr(views, "QUEUE_PAGE_SIZE", 2)
    applications = [_submitted(org, issuer) for _ in range(3)]
    RecoveryApplication.objects.filter(pk=applications[2].pk).update(
        due_at=timezone.now() + dt.timedelta(days=30)
    )
    RecoveryApplication.objects.filter(pk=applications[0].pk).update(
        due_at=timezone.now() - dt.timedelta(hours=1)
    )
    client.force_login(staff)
    first = client.get(reverse("staff_recovery_queue")).content.decode()
    assert f'data-application="{applications[0].pk}"' in first
    assert f'data-application="{applications[2].pk}"' not in first  # due last: next page
    assert '<span class="count">3</span>' in first and 'data-overdue-count="1"' in first
    second = client.get(reverse("staff_recovery_queue") + "?page=2").content.decode()
    assert f'data-application="{applications[2].pk}"' in second
    assert 'data-overdue-count="1"' in second  # the heading counts the whole queue


def test_staff_see_the_file_against_the_application_and_approve(client, org, issuer, staff):
    application = _submitted(org, issuer)
    client.force_login(staff)
    page = client.get(reverse("staff_recovery_detail", args=[application.pk])).content.decode()
    assert 'data-file-check="agrees"' in page
    response = client.post(
        reverse("staff_recovery_detail", args=[application.pk]), {"decision": "approve"}
    )
    assert response.status_code == 302
    invoice = Invoice.objects.get(number=application.number)
    client.force_login(issuer)
    page = client.get(reverse("recovery_detail", args=[application.pk])).content.decode()
    assert 'data-status="approved"' in page and f"/invoices/{invoice.pk}/" in page
    assert client.get(reverse("invoice_detail", args=[invoice.pk])).status_code == 200
    assert Notice.objects.filter(user=issuer, title__contains="已通过").exists()


def test_staff_decisions_need_a_message_where_due(client, org, issuer, staff):
    application = _submitted(org, issuer)
    client.force_login(staff)
    url = reverse("staff_recovery_detail", args=[application.pk])
    response = client.post(url, {"decision": "more_info", "message": ""})
    assert response.status_code == 200 and "请填写需要补充的材料" in response.content.decode()
    client.post(url, {"decision": "more_info", "message": "请补充合同"})
    application.refresh_from_db()
    assert application.status == RecoveryStatus.MORE_INFO
    client.force_login(issuer)
    page = client.get(reverse("recovery_detail", args=[application.pk])).content.decode()
    assert "请补充合同" in page and "重新提交" in page


def test_staff_cannot_open_drafts(client, org, issuer, staff):
    draft = services.recovery_create(
        actor=issuer, organization=org, data=fields(org), reason="other", submit=False
    )
    client.force_login(staff)
    assert client.get(reverse("staff_recovery_detail", args=[draft.pk])).status_code == 404


def test_the_list_filters_by_status(client, org, issuer):
    submitted = _submitted(org, issuer)
    draft = services.recovery_create(
        actor=issuer, organization=org, data=fields(org), reason="other", submit=False
    )
    client.force_login(issuer)
    body = client.get(reverse("recovery_list") + "?status=draft").content.decode()
    assert f'data-application="{draft.pk}"' in body
    assert f'data-application="{submitted.pk}"' not in body


def test_the_applicant_edits_a_draft_and_removes_a_file(client, org, issuer):
    values = fields(org)
    draft = services.recovery_create(
        actor=issuer,
        organization=org,
        data=values,
        reason="other",
        evidence=[invoice_file(values), contract()],
        submit=False,
    )
    client.force_login(issuer)
    data = _post_data({**values, "remarks": "项目 A"}, reason="migration")
    response = client.post(reverse("recovery_edit", args=[draft.pk]), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.remarks, draft.reason) == ("项目 A", "migration")
    bad = client.post(reverse("recovery_edit", args=[draft.pk]), {**data, "tax": "131.00"})
    assert "与价税合计" in str(bad.context["form"].errors["total"])
    contract_file = draft.evidence.get(kind="contract")
    client.post(reverse("recovery_evidence_remove", args=[contract_file.pk]))
    assert list(draft.evidence.values_list("kind", flat=True)) == ["invoice"]
    page = client.get(reverse("recovery_detail", args=[draft.pk])).content.decode()
    assert "修改补录申请：备注、原因" in page and "删除证明材料：合同" in page
