"""End to end: files stored as invoices; duplicates, conflicts, re-import, interruption,
the rejected rows' file, the operation log."""

import csv
import io

import pytest
from django.db import connection

from fapiao import testing
from fapiao.audit.models import Event
from fapiao.imports import reading, services, writing
from fapiao.imports.models import ImportStatus, InvoiceImport
from fapiao.imports.tests.builders import (
    CUSTOMER,
    csv_bytes,
    killed_at_chunk,
    number,
    problems,
    row,
    run,
    xlsx_bytes,
)
from fapiao.invoices.models import Invoice, InvoiceLine, InvoiceSource

pytestmark = pytest.mark.django_db


def test_valid_rows_are_imported_even_when_others_fail(org, admin):
    rows = [row(org), row(org, 税额="99.00"), row(org)]
    job = run(org, csv_bytes(rows, encoding="gbk"), actor=admin)
    assert job.status == ImportStatus.DONE
    assert job.summary() == {"rows": 3, "imported": 2, "duplicates": 0, "rejected": 1}
    assert job.encoding == "GBK"
    assert {(r, c) for r, c, _ in problems(job)} >= {(3, "税额")}
    assert {p.invoice_number for p in job.problems.all()} == {rows[1][1]}
    stored = Invoice.objects.get(number=rows[0][1])
    assert stored.source == InvoiceSource.IMPORTED and stored.seller_org == org
    assert stored.total == stored.amount + stored.tax
    line = stored.lines.get()
    assert line.name == "*信息技术服务*软件开发服务" and str(line.rate) == "0.060"


def test_re_importing_the_same_file_adds_nothing(org, admin):
    data = csv_bytes([row(org) for _ in range(4)] + [row(org, 金额="x")])
    run(org, data, actor=admin)
    count, lines = Invoice.objects.count(), InvoiceLine.objects.count()
    again = run(org, data, actor=admin)
    assert again.summary() == {"rows": 5, "imported": 0, "duplicates": 4, "rejected": 1}
    assert (Invoice.objects.count(), InvoiceLine.objects.count()) == (count, lines)


def test_a_stored_invoice_with_other_values_is_a_conflicting_duplicate(org, admin):
    stored = testing.invoice(seller=org, amount="1000.00", rate="0.06")
    conflicting = row(org, 发票号码=stored.number, 开票日期="2025-01-02", 金额="900.00",
                      发票类型="31", 税额="54.00", 价税合计="954.00")  # fmt: skip
    job = run(org, csv_bytes([conflicting]), actor=admin)
    assert job.summary()["rejected"] == 1
    problem = job.problems.get()
    assert (problem.row, problem.code, problem.column) == (2, "duplicate_conflict", "开票日期")
    assert (problem.invoice_number, problem.invoice_code) == (stored.number, stored.code)
    assert "金额（文件：900.00，已存储：1000.00）" in problem.message
    assert "开票日期" in problem.message
    stored.refresh_from_db()
    assert stored.amount == 1000


def test_an_identical_stored_invoice_is_a_duplicate_and_becomes_visible(org, admin):
    other = testing.organization("明德贸易有限公司")
    stored = testing.invoice(buyer=other, seller_name=org.name, seller_tax_id=org.tax_id,
                             amount="1000.00", rate="0.06", buyer_name="上海明德贸易有限公司",
                             buyer_tax_id=other.tax_id)  # fmt: skip
    assert stored.seller_org is None
    same = row(org, 发票号码=stored.number, 开票日期=stored.issue_date.isoformat(),
               发票类型="数电专票", 购买方纳税人识别号=other.tax_id)  # fmt: skip
    job = run(org, csv_bytes([same]), actor=admin)
    assert job.summary() == {"rows": 1, "imported": 0, "duplicates": 1, "rejected": 0}
    stored.refresh_from_db()
    assert stored.seller_org == org and stored.buyer_org == other


def test_received_invoices_are_the_buyers_and_platform_sellers_are_linked(org, admin):
    seller = testing.organization("供应商有限公司")
    bought = row(org, 销售方名称=seller.name, 销售方纳税人识别号=seller.tax_id,
                 购买方名称=org.name, 购买方纳税人识别号=org.tax_id)  # fmt: skip
    run(org, csv_bytes([bought]), actor=admin)
    invoice = Invoice.objects.get(number=bought[1])
    assert invoice.buyer_org == org and invoice.seller_org == seller


def test_an_interrupted_import_resumes_from_its_checkpoint(org, admin, monkeypatch):
    monkeypatch.setattr(writing, "CHUNK", 3)
    rows = [row(org) for _ in range(7)] + [row(org, 开票日期="x")]
    n = number()
    rows += [row(org, 发票号码=n, 项目名称="*a*甲"), row(org, 发票号码=n, 项目名称="*a*乙")]
    killed_at_chunk(monkeypatch, 2)
    job = services.import_create(actor=admin, organization=org, data=csv_bytes(rows),
                                 name="a.csv", background=False)  # fmt: skip
    with pytest.raises(ConnectionError):
        services.import_run(import_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and job.checkpoint == 3
    assert Invoice.objects.count() == 3 and job.imported == 3
    assert Event.objects.filter(code="import.failed").exists()
    # A half-written chunk left nothing behind: every invoice has all its lines.
    assert not Invoice.objects.filter(lines__isnull=True).exists()

    services.import_resume(actor=admin, job=job)
    job = services.import_run(import_id=job.pk)
    assert job.status == ImportStatus.DONE
    assert job.summary() == {"rows": 10, "imported": 9, "duplicates": 0, "rejected": 1}
    assert Invoice.objects.count() == 8
    assert Invoice.objects.get(number=n).lines.count() == 2
    assert job.problems.filter(is_warning=False).count() == 1


def test_the_rejected_rows_download_round_trips_in_the_same_format(org, admin):
    good, bad = row(org), row(org, 税额="99.00", 购买方名称="错误的客户有限公司")
    job = run(org, csv_bytes([good, bad], encoding="gbk"), actor=admin)
    download = services.rejected_rows(job=job)
    assert download.filename.endswith(".csv")
    text = download.content.decode("gbk")
    records = list(csv.reader(io.StringIO(text)))
    assert records[0][-1] == "错误原因" and len(records) == 2
    assert records[1][:-1] == bad and "税额" in records[1][-1]
    # Fixed and uploaded again: the good row is a duplicate now, the fixed one imported.
    records[1][records[0].index("税额")] = "60.00"
    fixed = csv_bytes([records[1]], header=records[0], encoding="gbk")
    again = run(org, fixed, actor=admin)
    assert again.summary() == {"rows": 1, "imported": 1, "duplicates": 0, "rejected": 0}


@pytest.mark.parametrize("calamine", [True, False])
def test_xlsx_imports_and_its_rejected_rows_come_back_as_xlsx(org, admin, monkeypatch, calamine):
    monkeypatch.setattr(reading, "USE_CALAMINE", calamine)
    data = xlsx_bytes([row(org), row(org, 开票日期="2099-01-01")])
    job = run(org, data, name="发票.xlsx", actor=admin)
    assert job.summary() == {"rows": 2, "imported": 1, "duplicates": 0, "rejected": 1}
    download = services.rejected_rows(job=job)
    assert download.filename.endswith(".xlsx")
    table = reading.read(download.content)
    assert table.headers[-1] == "错误原因"
    assert table.frame.height == 1 and "晚于今天" in table.frame[f"c{len(table.headers) - 1}"][0]


def test_unclear_columns_wait_for_the_mapping(org, admin):
    header = ["票据号", "日期", "卖方", "卖方税号", "买方", "金额", "税额", "价税合计"]
    values = row(org)
    data = csv_bytes([[values[1], values[2], values[3], values[4], values[5], "1000", "60",
                       "1060"]], header=header)  # fmt: skip
    job = services.import_create(actor=admin, organization=org, data=data, name="x.csv")
    assert job.status == ImportStatus.MAPPING
    mapping = {"number": "票据号", "issue_date": "日期", "seller_name": "卖方",
               "seller_tax_id": "卖方税号", "buyer_name": "买方", "amount": "金额", "tax": "税额",
               "total": "价税合计"}  # fmt: skip
    with pytest.raises(services.ImportRefused):
        services.import_map(actor=admin, job=job, mapping={"number": "票据号"})
    services.import_map(actor=admin, job=job, mapping=mapping, default_type="32")
    job = services.import_run(import_id=job.pk)
    assert job.mapping == mapping
    assert job.summary() == {"rows": 1, "imported": 1, "duplicates": 0, "rejected": 0}
    assert Invoice.objects.get().type_code == "32"


def test_the_operation_log_records_start_and_end(org, admin):
    job = run(org, csv_bytes([row(org)]), actor=admin)
    codes = list(
        Event.objects.filter(organization=org, object_id=str(job.pk))
        .order_by("sequence")
        .values_list("code", flat=True)
    )
    assert codes == ["import.started", "import.finished"]
    finished = Event.objects.get(code="import.finished")
    assert finished.details["imported"] == 1 and finished.actor == admin


def test_the_templates_import_as_they_are(org, admin):
    for file_format in ("xlsx", "csv"):
        Invoice.objects.all().delete()
        download = services.template(organization=org, file_format=file_format)
        job = run(org, download.content, name=download.filename, actor=admin)
        assert job.summary()["imported"] == 1, list(job.problems.values("message"))


def test_a_2000_row_file_goes_through_the_whole_pipeline(org, admin, monkeypatch):
    monkeypatch.setattr(writing, "CHUNK", 500)
    rates = [("13%", "0.13"), ("9%", "0.09"), ("6%", "0.06"), ("1%", "0.01")]
    rows = []
    for i in range(2000):
        label, rate = rates[i % 4]
        amount = 100 + i
        tax = (amount * float(rate) * 100 + 0.5) // 1 / 100
        rows.append(row(org, 税率=label, 金额=f"{amount:.2f}", 税额=f"{tax:.2f}",
                        价税合计=f"{amount + tax:.2f}",
                        购买方纳税人识别号=CUSTOMER if i % 2 else ""))  # fmt: skip
    job = run(org, csv_bytes(rows), actor=admin)
    assert job.summary() == {"rows": 2000, "imported": 2000, "duplicates": 0, "rejected": 0}
    assert Invoice.objects.filter(seller_org=org).count() == 2000
    assert InvoiceLine.objects.count() == 2000


def test_imported_invoices_are_found_by_the_name_search(org, admin):
    from fapiao.invoices import search

    rows = [row(org, 购买方名称=f"杭州启明星辰{i}号有限公司", 项目名称=f"*五金*扳手{i}号")
            for i in range(3)]  # fmt: skip
    run(org, csv_bytes(rows), actor=admin)
    invoices = Invoice.objects.all()
    found = search.name_filter(invoices, "启明星辰1号", field="buyer")
    assert [i.number for i in found] == [rows[1][1]]
    assert [i.number for i in search.name_filter(invoices, "扳手2号", field="item")] == [rows[2][1]]
    assert search.name_filter(invoices, "启明星辰", field="party").count() == 3
    # The index's per-row triggers are back after the import: a later invoice is found too.
    later = testing.invoice(seller=org, buyer_name="苏州海纳百川有限公司")
    assert list(search.name_filter(Invoice.objects.all(), "海纳百川", field="party")) == [later]


def _session_settings() -> tuple:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA cache_size")
            cache = cursor.fetchone()[0]
            cursor.execute("PRAGMA wal_autocheckpoint")
            return cache, cursor.fetchone()[0]
        cursor.execute("SHOW gin_pending_list_limit")
        return (cursor.fetchone()[0],)


def test_the_bulk_write_leaves_the_connections_settings_as_they_were(org, admin, monkeypatch):
    monkeypatch.setattr(writing, "CHUNK", 2)
    before = _session_settings()
    job = run(org, csv_bytes([row(org) for _ in range(5)]), actor=admin)
    assert job.summary()["imported"] == 5
    assert _session_settings() == before


def test_a_broken_quote_fails_the_import_with_the_line_and_stores_nothing(org, admin):
    good = row(org)
    lines = csv_bytes([good]).decode("utf-8-sig").splitlines()
    broken = lines[0] + "\n" + lines[1].replace(",", ',"', 1) + "\n"  # a quote that never closes
    with pytest.raises(reading.FileError):
        run(org, broken.encode(), actor=admin)
    job = InvoiceImport.objects.get(organization=org)
    assert job.status == ImportStatus.FAILED
    assert job.error.startswith("第 2 行的引号没有配对")
    assert not Invoice.objects.exists()
    assert Event.objects.filter(code="import.failed").exists()


def test_new_invoices_go_straight_in_and_a_stored_one_sends_the_chunk_the_staged_way(
    org, admin, monkeypatch
):
    staged = []
    real = writing._insert_staged
    monkeypatch.setattr(
        writing, "_insert_staged", lambda *a, **k: staged.append(1) or real(*a, **k)
    )
    first = [row(org) for _ in range(3)]
    job = run(org, csv_bytes(first), actor=admin)
    assert job.imported == 3
    second = [*first[1:], row(org), row(org)]  # two stored, two new
    job = run(org, csv_bytes(second), actor=admin)
    assert (job.imported, job.duplicates, job.rejected) == (2, 2, 0)
    assert Invoice.objects.count() == 5 and InvoiceLine.objects.count() == 5
    # PostgreSQL: the first file by COPY alone; the second refused there, then staged.
    assert staged == ([1] if connection.vendor == "postgresql" else [])
