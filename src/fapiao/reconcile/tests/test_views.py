"""The reconciliation pages: upload, mapping, the result by category, export and 补录."""

import fastexcel
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.reconcile import views
from fapiao.reconcile.models import Reconciliation, ReconciliationStatus
from fapiao.reconcile.tests.builders import csv_bytes, number, row_of, sold

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin)
    return client


def upload(client, rows, **fields):
    data = {"file": SimpleUploadedFile("台账.csv", csv_bytes(rows)), "side": "both", **fields}
    return client.post(reverse("reconcile_new"), data)


def test_the_page_offers_the_upload_and_lists_reconciliations(signed_in):
    body = signed_in.get(reverse("reconcile_list")).content.decode()
    assert "上传并对账" in body and "还没有对账记录" in body


def test_uploading_a_ledger_shows_the_categories_and_a_typo_pair(signed_in, org):
    matched = sold(org)
    typo_of = sold(org, number="25112000000000900001")
    missing = number()
    response = upload(signed_in, [
        row_of(matched),
        row_of(typo_of, 发票号码="25112000000000900007"),
        {"发票号码": missing, "开票日期": "2025-05-20", "价税合计": "5.00"},
    ])  # fmt: skip
    job = Reconciliation.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "reconcile_detail", args=[job.pk]
    )
    body = signed_in.get(response["Location"]).content.decode()
    for label in ("一致", "平台缺失", "账簿缺失", "信息不一致", "疑似录入错误", "部分匹配"):
        assert label in body
    assert 'data-category="probable_typo" data-count="1"' in body
    assert missing in body  # the first category with rows: missing on the platform
    body = signed_in.get(response["Location"] + "?category=probable_typo").content.decode()
    assert "25112000000000900007" in body and "25112000000000900001" in body
    assert "有一位数字输错" in body


def test_a_ledger_with_an_unclosed_quote_shows_why_it_failed(signed_in, org):
    data = f'发票号码,价税合计\r\n{number()},"106.00\r\n{number()},1.00\r\n'.encode()
    response = signed_in.post(
        reverse("reconcile_new"),
        {"file": SimpleUploadedFile("台账.csv", data), "side": "both"},
    )
    job = Reconciliation.objects.get()
    assert job.status == ReconciliationStatus.FAILED
    body = signed_in.get(response["Location"]).content.decode()
    assert "第 2 行" in body and "引号" in body and "ComputeError" not in body


def test_a_period_ending_before_it_starts_is_refused(signed_in):
    response = upload(signed_in, [], date_from="2025-05-02", date_to="2025-05-01")
    assert "截止日期早于起始日期" in response.content.decode()
    assert not Reconciliation.objects.exists()


def test_unclear_columns_go_through_the_mapping_page(signed_in, org):
    invoice = sold(org)
    data = csv_bytes([{"票据编号": invoice.number}], header=["票据编号"])
    response = signed_in.post(
        reverse("reconcile_new"),
        {"file": SimpleUploadedFile("a.csv", data), "side": "seller"},
    )
    job = Reconciliation.objects.get()
    assert response["Location"] == reverse("reconcile_mapping", args=[job.pk])
    body = signed_in.get(response["Location"]).content.decode()
    assert "没能自动识别：发票号码" in body
    response = signed_in.post(response["Location"], {"map_number": "票据编号"})
    job.refresh_from_db()
    assert job.status == ReconciliationStatus.DONE and job.count("matched") == 1


def test_rows_are_filtered_by_number_and_paged(signed_in, org, monkeypatch):
    monkeypatch.setattr(views, "PER_PAGE", 2)
    numbers = [number() for _ in range(5)]
    upload(signed_in, [{"发票号码": n, "价税合计": "1"} for n in numbers])
    url = reverse("reconcile_detail", args=[Reconciliation.objects.get().pk])
    body = signed_in.get(url + "?category=missing_on_platform&page=3").content.decode()
    assert "3 / 3" in body and numbers[4] in body and numbers[0] not in body
    body = signed_in.get(
        url + f"?category=missing_on_platform&q={numbers[2][-6:]}"
    ).content.decode()
    assert numbers[2] in body and numbers[1] not in body


def test_the_export_downloads_the_workbook(signed_in, org):
    upload(signed_in, [row_of(sold(org))])
    job = Reconciliation.objects.get()
    response = signed_in.get(reverse("reconcile_export", args=[job.pk]))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = fastexcel.read_excel(response.getvalue())
    assert book.load_sheet("一致").to_polars().height == 1


def test_starting_recovery_for_selected_rows_links_the_applications(signed_in, org):
    first, second = number(), number()
    upload(signed_in, [{"发票号码": first, "价税合计": "1"}, {"发票号码": second, "价税合计": "2"}])
    job = Reconciliation.objects.get()
    response = signed_in.post(
        reverse("reconcile_recover", args=[job.pk]),
        {"scope": "selected", "row": ["3"]},
        follow=True,
    )
    body = response.content.decode()
    assert "已创建 1 份补录申请草稿" in body
    job.refresh_from_db()
    application = job.recoveries["3"]
    assert reverse("recovery_detail", args=[application]) in body
    # nothing selected
    response = signed_in.post(
        reverse("reconcile_recover", args=[job.pk]), {"scope": "selected"}, follow=True
    )
    assert "请选择尚未发起补录" in response.content.decode()


def test_a_viewer_reads_but_neither_uploads_nor_starts_recovery(client, org, admin):
    viewer = testing.member(org, Role.VIEWER)
    client.force_login(admin)
    upload(client, [{"发票号码": number(), "价税合计": "1"}])
    job = Reconciliation.objects.get()
    client.force_login(viewer)
    assert "上传并对账" not in client.get(reverse("reconcile_list")).content.decode()
    body = client.get(reverse("reconcile_detail", args=[job.pk])).content.decode()
    assert "全部发起补录" not in body
    assert (
        client.post(reverse("reconcile_recover", args=[job.pk]), {"scope": "all"}).status_code
        == 403
    )


def test_a_queued_reconciliation_polls_and_reloads_when_done(signed_in, org, admin):
    from fapiao.reconcile import services

    job = services.reconciliation_create(
        actor=admin, organization=org, data=csv_bytes([row_of(sold(org))]), name="a.csv",
        background=True,
    )  # fmt: skip
    body = signed_in.get(reverse("reconcile_detail", args=[job.pk])).content.decode()
    assert 'hx-get="' + reverse("reconcile_progress", args=[job.pk]) in body
    assert "排队中" in body
    services.reconciliation_run(reconciliation_id=job.pk)
    response = signed_in.get(reverse("reconcile_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true"
