"""The pages: upload → progress → summary; mapping; downloads; who may see and do what."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.imports.models import ImportStatus, InvoiceImport
from fapiao.imports.tests.builders import csv_bytes, row, run
from fapiao.invoices.models import Invoice

pytestmark = pytest.mark.django_db


def _upload(client, data, name="发票.csv"):
    return client.post(reverse("import_new"), {"file": SimpleUploadedFile(name, data)})


def test_it_uploads_runs_in_the_background_and_shows_the_summary(
    client, org, admin, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    data = csv_bytes([row(org), row(org, 开票日期="2099-01-01")], encoding="gbk")
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, data)
    job = InvoiceImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "import_detail", args=[job.pk]
    )
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    page = client.get(reverse("import_detail", args=[job.pk])).content.decode()
    assert 'data-count="imported">1<' in page and 'data-count="rejected">1<' in page
    assert 'data-row="3" data-code="date_future"' in page
    fragment = client.get(reverse("import_progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in fragment  # finished: the polling stops
    download = client.get(reverse("import_rejected", args=[job.pk]))
    assert download.status_code == 200 and "错误原因" in download.content.decode("gbk")


def test_a_running_import_is_polled(client, org, admin):
    client.force_login(admin)
    job = InvoiceImport.objects.create(
        organization=org, file_name="a.csv", file_format="csv", status=ImportStatus.RUNNING,
        rows=100, rows_done=40,
    )  # fmt: skip
    fragment = client.get(reverse("import_progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "width: 40%" in fragment


def test_unreadable_files_are_refused_on_the_form(client, org, admin):
    client.force_login(admin)
    response = _upload(client, b"PK\x03\x04broken", "x.xlsx")
    assert response.status_code == 200 and "无法读取" in response.content.decode()
    assert not InvoiceImport.objects.exists()


def test_the_mapping_page_settles_unclear_columns(
    client, org, admin, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    values = row(org)
    header = ["票据号", "发票类型", "日期", "卖方", "卖方税号", "买方", "金额", "税额", "价税合计"]
    data = csv_bytes([[values[1], "数电普票", values[2], org.name, org.tax_id, "客户", "1000",
                       "60", "1060"]], header=header)  # fmt: skip
    response = _upload(client, data)
    job = InvoiceImport.objects.get()
    assert response["Location"] == reverse("import_mapping", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    assert "票据号" in page and "发票号码" in page
    form = {"map_number": "票据号", "map_type_code": "发票类型", "map_issue_date": "日期",
            "map_seller_name": "卖方", "map_seller_tax_id": "卖方税号", "map_buyer_name": "买方",
            "map_amount": "金额", "map_tax": "税额", "map_total": "价税合计"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("import_mapping", args=[job.pk]), form)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.imported == 1
    assert job.mapping["number"] == "票据号"


def test_the_templates_download(client, org, admin):
    client.force_login(admin)
    xlsx = client.get(reverse("import_template_xlsx"))
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    text = client.get(reverse("import_template_csv")).content.decode("utf-8-sig")
    assert text.startswith("发票类型,发票代码,发票号码,开票日期") and org.tax_id in text


def test_another_organizations_imports_are_404(client, org, admin):
    job = run(org, csv_bytes([row(org, 税额="1.00")]), actor=admin)
    stranger = testing.member(testing.organization(), Role.ADMIN)
    client.force_login(stranger)
    for name in ("import_detail", "import_progress", "import_rejected"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404, name
    for name in ("import_mapping", "import_resume"):
        assert client.post(reverse(name, args=[job.pk])).status_code == 404, name


def test_a_viewer_sees_imports_but_cannot_upload(client, org, admin):
    job = run(org, csv_bytes([row(org)]), actor=admin)
    viewer = testing.member(org, Role.VIEWER)
    client.force_login(viewer)
    page = client.get(reverse("import_list")).content.decode()
    assert "上传并导入" not in page and job.file_name in page
    assert _upload(client, csv_bytes([row(org)])).status_code == 403
    assert client.get(reverse("import_new")).status_code == 403
    assert client.post(reverse("import_resume", args=[job.pk])).status_code == 403
    assert client.get(reverse("import_detail", args=[job.pk])).status_code == 200


def test_the_command_prints_the_summary_as_json(org, capsys, tmp_path):
    path = tmp_path / "发票.csv"
    path.write_bytes(csv_bytes([row(org), row(org, 开票日期="2099-01-01")], encoding="gbk"))
    call_command("import", str(path), org=org.tax_id, json=True)
    summary = json.loads(capsys.readouterr().out)
    assert {k: summary[k] for k in ("rows", "imported", "duplicates", "rejected")} == {
        "rows": 2, "imported": 1, "duplicates": 0, "rejected": 1,
    }  # fmt: skip
    assert summary["errors"] == [
        {"row": 3, "column": "开票日期", "code": "date_future",
         "message": summary["errors"][0]["message"]}
    ]  # fmt: skip
    call_command("import", str(path), org=org.tax_id, json=True)
    again = json.loads(capsys.readouterr().out)
    assert (again["imported"], again["duplicates"], again["rejected"]) == (0, 1, 1)
    assert Invoice.objects.count() == 1


def test_the_command_explains_unclear_columns_and_unknown_organizations(org, tmp_path):
    from django.core.management.base import CommandError

    path = tmp_path / "x.csv"
    path.write_bytes("号,日\n1,2\n".encode())
    with pytest.raises(CommandError, match="缺少"):
        call_command("import", str(path), org=org.tax_id)
    with pytest.raises(CommandError, match="没有纳税人识别号"):
        call_command("import", str(path), org="91110000000000000X")
