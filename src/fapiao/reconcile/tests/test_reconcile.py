"""Reconciliation against the database: scoping by organization, period and side, red invoices,
the stored result, the Excel export, 补录 in bulk, the operation log and the command."""

import datetime as dt
import io
import json

import fastexcel
import polars as pl
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from fapiao import testing
from fapiao.audit.models import Event
from fapiao.invoices.models import InvoiceStatus
from fapiao.reconcile import engine, results, services
from fapiao.reconcile.models import Reconciliation, ReconciliationStatus
from fapiao.reconcile.tests.builders import DAY, csv_bytes, number, row_of, sold, xlsx_bytes
from fapiao.recovery.models import RecoveryApplication, RecoveryStatus

pytestmark = pytest.mark.django_db


def run(org, rows, actor=None, **options):
    return services.reconciliation_create(
        actor=actor, organization=org, data=csv_bytes(rows), name="台账.csv", background=False,
        **options,
    )  # fmt: skip


def frame_of(job):
    return results.scan(services.result_source(job)).collect()


def by_category(job) -> dict[str, list[dict]]:
    frame = frame_of(job)
    return {c: frame.filter(frame["category"] == c).to_dicts() for c in engine.CATEGORIES}


def exported(job, actor):
    """The export as the user downloads it: built (a small result: at once), then read back."""
    job = services.reconciliation_export_request(job=job)
    with services.reconciliation_export_open(actor=actor, job=job) as stream:
        return fastexcel.read_excel(stream.read())


def test_a_ledger_is_compared_with_the_organizations_invoices_only(org, admin):
    mine = sold(org)
    stranger = testing.organization()
    theirs = sold(stranger)
    job = run(org, [row_of(mine), row_of(theirs)], actor=admin)
    assert job.status == ReconciliationStatus.DONE
    out = by_category(job)
    assert [r["invoice_id"] for r in out["matched"]] == [mine.pk]
    assert [r["row"] for r in out["missing_on_platform"]] == [3]
    assert job.summary["matched"] == {"count": 1, "cents": 10600}
    assert (job.ledger_rows, job.invoices) == (2, 1)


def test_without_a_period_the_ledgers_dates_are_the_period(org):
    early = sold(org, day=DAY - dt.timedelta(days=40))
    inside = sold(org)
    job = run(org, [row_of(inside)])
    assert (job.date_from, job.date_to) == (DAY, DAY)
    assert by_category(job)["missing_in_ledger"] == []
    job = run(org, [row_of(inside)], date_from=DAY - dt.timedelta(days=60), date_to=DAY)
    assert [r["invoice_id"] for r in by_category(job)["missing_in_ledger"]] == [early.pk]


def test_the_side_chooses_sales_purchases_or_both(org):
    supplier = testing.organization()
    sale = sold(org)
    purchase = sold(supplier, buyer=org)
    rows = [row_of(sale)]
    job = run(org, rows, side="seller")
    assert job.count(engine.MISSING_IN_LEDGER) == 0 and job.count(engine.MATCHED) == 1
    job = run(org, rows, side="buyer")
    out = by_category(job)
    assert [r["invoice_id"] for r in out["missing_in_ledger"]] == [purchase.pk]
    # the sale is on the platform, on the other side: a side mismatch, not missing
    assert out["mismatched"][0]["fields"] == "side"
    job = run(org, [row_of(sale), row_of(purchase, bought=True)], side="both")
    assert job.count(engine.MATCHED) == 2


def test_a_row_dated_in_the_period_whose_invoice_is_outside_it_is_a_date_mismatch(org):
    invoice = sold(org, day=DAY - dt.timedelta(days=90))
    job = run(org, [row_of(invoice, 开票日期=DAY.isoformat())], date_from=DAY, date_to=DAY)
    (item,) = by_category(job)["mismatched"]
    assert item["fields"] == "issue_date" and item["invoice_id"] == invoice.pk


def test_a_blue_invoice_booked_net_of_its_red_invoice_from_the_database(org):
    blue = sold(org, amount="1000.00", status=InvoiceStatus.PARTLY_RED)
    sold(org, amount="-400.00", is_red=True, original=blue, day=DAY + dt.timedelta(days=30))
    job = run(org, [row_of(blue, 价税合计="636.00", 金额="600.00", 税额="36.00")])
    (item,) = by_category(job)["partial"]
    assert item["kind"] == engine.NET_OF_RED
    assert job.count(engine.MISMATCHED) == 0


def test_finishing_writes_the_operation_log(org, admin):
    job = run(org, [row_of(sold(org))], actor=admin)
    codes = list(Event.objects.filter(object_id=str(job.pk), object_type="reconciliation")
                 .order_by("sequence").values_list("code", flat=True))  # fmt: skip
    assert codes == ["reconcile.started", "reconcile.finished"]
    finished = Event.objects.get(code="reconcile.finished")
    assert finished.details["matched"] == 1 and finished.actor == admin


def test_a_large_ledger_waits_for_the_task_queue(org, admin):
    rows = [row_of(sold(org))]
    job = services.reconciliation_create(
        actor=admin, organization=org, data=csv_bytes(rows), name="a.csv", background=True
    )
    assert job.status == ReconciliationStatus.QUEUED
    job = services.reconciliation_run(reconciliation_id=job.pk)
    assert job.status == ReconciliationStatus.DONE and job.count(engine.MATCHED) == 1


def test_an_unreadable_ledger_is_refused_with_its_reason(org, admin):
    for data, message in (
        (b"", "文件是空的"),
        (b"\x00\x01", "无法读取这个文件：请上传 CSV 或 Excel 格式的台账"),
    ):
        with pytest.raises(services.ReconcileRefused) as refused:
            services.reconciliation_create(
                actor=admin, organization=org, data=data, name="x.csv", background=False
            )
        assert refused.value.message == message
    assert not org.reconciliations.exists()


def test_unclear_columns_wait_for_the_mapping(org, admin):
    invoice = sold(org)
    data = csv_bytes([{"票据编号": invoice.number, "开票日期": "2025-05-20"}],
                     header=["票据编号", "开票日期"])  # fmt: skip
    job = services.reconciliation_create(
        actor=admin, organization=org, data=data, name="a.csv", background=False
    )
    assert job.status == ReconciliationStatus.MAPPING
    with pytest.raises(services.ReconcileRefused) as refused:
        services.reconciliation_map(actor=admin, job=job, mapping={"issue_date": "开票日期"})
    assert refused.value.message == "还缺少：发票号码"
    job = services.reconciliation_map(actor=admin, job=job, mapping={"number": "票据编号"})
    assert job.status == ReconciliationStatus.DONE and job.count(engine.MATCHED) == 1


def test_problems_in_the_ledger_are_kept_on_the_reconciliation(org):
    job = run(org, [row_of(sold(org), 价税合计="12,3x")])
    assert job.problem_count == 1
    assert job.problems == [{"row": 2, "column": "价税合计", "code": "amount_invalid",
                             "message": "无法识别的金额“12,3x”"}]  # fmt: skip


def test_the_export_has_one_sheet_per_category_and_is_logged(org, admin):
    typo_of = sold(org, number="25112000000000700001")
    matched = sold(org)
    rows = [row_of(matched), row_of(typo_of, 发票号码="25112000000000700002"),
            {"发票号码": number(), "开票日期": "2025-05-20", "价税合计": "=1+1"}]  # fmt: skip
    job = run(org, rows, actor=admin)
    book = exported(job, admin)
    assert book.sheet_names == [
        "一致",
        "平台缺失",
        "账簿缺失",
        "信息不一致",
        "疑似录入错误",
        "部分匹配",
    ]
    typos = book.load_sheet("疑似录入错误").to_polars().to_dicts()
    assert typos[0]["账簿发票号码"] == "25112000000000700002"
    assert typos[0]["平台发票号码"] == "25112000000000700001"
    assert typos[0]["类型"] == "有一位数字输错"
    missing = book.load_sheet("平台缺失").to_polars().to_dicts()
    assert missing[0]["账簿行号"] == 4
    assert Event.objects.filter(code="reconcile.exported", actor=admin).count() == 1


def test_the_partial_sheet_has_both_amounts_and_the_fields_that_differ(org, admin):
    first, second = sold(org, number="25112000000000600001"), sold(org)
    booked_twice = sold(org, amount="42486.50")
    rows = [row_of(first, 发票号码=f"{first.number}/{second.number}", 价税合计="200.00",
                   金额="", 税额=""),
            row_of(booked_twice, 金额="", 税额="", 价税合计="40000.00"),
            row_of(booked_twice, 金额="", 税额="", 价税合计="5035.69")]  # fmt: skip
    job = run(org, rows, actor=admin)
    book = exported(job, admin)
    items = {i["类型"]: i for i in book.load_sheet("部分匹配").to_polars().to_dicts()}
    split = items["一行对多张发票"]
    assert (split["账簿价税合计"], split["平台价税合计"]) == (200.0, 212.0)
    assert split["不一致的字段（账簿 → 平台）"] == "价税合计：200.00 → 212.00"
    many = items["一张发票分多行记账"]
    assert (many["账簿行号"], many["平台发票号码"]) == ("3,4", booked_twice.number)
    assert many["账簿价税合计"] == many["平台价税合计"] == 45035.69


def test_a_category_longer_than_a_sheet_continues_on_another(org, admin, monkeypatch):
    rows = [{"发票号码": number(), "开票日期": "2025-05-20", "价税合计": f"{i}.00"}
            for i in range(1, 6)]  # fmt: skip
    job = run(org, rows, actor=admin)
    monkeypatch.setattr(results, "SHEET_ROWS", 2)
    book = exported(job, admin)
    assert book.sheet_names[1:4] == ["平台缺失", "平台缺失 (2)", "平台缺失 (3)"]
    rows_seen = [r["账簿行号"] for name in book.sheet_names[1:4]
                 for r in book.load_sheet(name).to_polars().to_dicts()]  # fmt: skip
    assert rows_seen == [2, 3, 4, 5, 6]
    assert book.sheet_names[4] == "账簿缺失"


def test_recovery_in_bulk_from_the_rows_missing_on_the_platform(org, admin):
    customer = testing.organization("杭州启明网络科技有限公司")
    first, second = number(), number()
    rows = [
        {"发票号码": first, "开票日期": "2025-05-20", "客户名称": customer.name,
         "客户税号": customer.tax_id, "金额": "100.00", "税额": "6.00", "价税合计": "106.00"},
        {"发票号码": second, "开票日期": "2025-05-21", "价税合计": "10.00"},
    ]  # fmt: skip
    job = run(org, rows, actor=admin, side="seller")
    created = services.reconciliation_recover(actor=admin, job=job, rows=[2])
    (application,) = created
    assert application.status == RecoveryStatus.DRAFT and application.number == first
    assert (application.seller_tax_id, application.buyer_tax_id) == (org.tax_id, customer.tax_id)
    assert str(application.total) == "106.00" and application.issue_date == DAY
    job.refresh_from_db()
    assert job.recoveries == {"2": application.pk}
    # all the others; the row already started is not started again
    created = services.reconciliation_recover(actor=admin, job=job, rows=None)
    assert [a.number for a in created] == [second]
    assert services.reconciliation_recover(actor=admin, job=job, rows=None) == []
    assert RecoveryApplication.objects.filter(organization=org).count() == 2
    events = Event.objects.filter(code="reconcile.recovery_started").order_by("sequence")
    assert [e.details["created"] for e in events] == [1, 1]


def test_the_command_prints_the_issue_json_and_writes_the_workbook(org, tmp_path, capsys):
    matched = sold(org)
    differs = sold(org)
    typo_of = sold(org, number="25112000000000800001")
    unbooked = sold(org)
    missing_number = number()
    rows = [
        row_of(matched),
        row_of(differs, 价税合计="1.00"),
        row_of(typo_of, 发票号码="25112000000000800010"),
        {"发票号码": missing_number, "开票日期": "2025-05-20", "价税合计": "8.00"},
        row_of(matched),
    ]
    path = tmp_path / "台账.xlsx"
    path.write_bytes(xlsx_bytes(rows))
    out_xlsx = tmp_path / "结果.xlsx"
    call_command("reconcile", str(path), "--org", org.tax_id, "--from", "2025-05-01",
                 "--to", "2025-05-31", "--json", "--xlsx", str(out_xlsx))  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"matched", "missing_on_platform", "missing_in_ledger", "mismatched",
                        "probable_typos", "partial", "problems"}  # fmt: skip
    assert out["problems"] == []
    assert out["matched"] == 1
    assert out["missing_on_platform"] == [
        {"row": 5, "code": "", "number": missing_number, "issue_date": "2025-05-20",
         "total": "8.00"}
    ]  # fmt: skip
    assert [(i["number"], i["total"]) for i in out["missing_in_ledger"]] == [
        (unbooked.number, "106.00")
    ]
    assert out["mismatched"] == [
        {"row": 3, "code": "", "number": differs.number,
         "fields": [{"field": "total", "label": "价税合计", "ledger": "1.00",
                     "platform": "106.00"}]}
    ]  # fmt: skip
    (typo,) = out["probable_typos"]
    assert (typo["row"], typo["ledger_number"], typo["number"], typo["pattern"]) == (
        4, "25112000000000800010", typo_of.number, "adjacent_swap")  # fmt: skip
    assert typo["fields"][0] == {"field": "number", "label": "发票号码",
                                 "ledger": "25112000000000800010",
                                 "platform": typo_of.number}  # fmt: skip
    assert out["partial"] == [
        {"row": 6, "kind": "duplicate_row", "rows": [2, 6], "numbers": [matched.number],
         "ledger_number": matched.number,
         "message": f"与第 2 行是同一张发票 {matched.number}，重复记账"}
    ]  # fmt: skip
    book = fastexcel.read_excel(out_xlsx.read_bytes())
    assert book.load_sheet("一致").to_polars().height == 1
    assert book.load_sheet("信息不一致").to_polars().to_dicts()[0][
        "不一致的字段（账簿 → 平台）"
    ] == ("价税合计：1.00 → 106.00")


def test_the_command_json_lists_the_values_it_could_not_read(org, tmp_path, capsys):
    invoice = sold(org)
    path = tmp_path / "l.csv"
    path.write_bytes(csv_bytes([row_of(invoice, 价税合计="12,3x"), {"价税合计": "5.00"}]))
    call_command("reconcile", str(path), "--org", org.tax_id, "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["problems"] == [
        {"row": 2, "column": "价税合计", "code": "amount_invalid",
         "message": "无法识别的金额“12,3x”"},
        {"row": 3, "column": "发票号码", "code": "number_missing",
         "message": "没有发票号码，这一行未参与对账"},
    ]  # fmt: skip
    assert out["matched"] == 1


def test_one_invoice_booked_as_two_rows_is_one_partial_item_in_the_json(org, tmp_path, capsys):
    invoice = sold(org, number="26112000000000889710", amount="42486.50")
    assert str(invoice.total) == "45035.69"
    rows = [row_of(invoice, 金额="", 税额="", 价税合计="40,000.00"),
            row_of(invoice, 金额="", 税额="", 价税合计="5,035.69")]  # fmt: skip
    path = tmp_path / "l.csv"
    path.write_bytes(csv_bytes(rows))
    call_command("reconcile", str(path), "--org", org.tax_id, "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["mismatched"] == [] and out["matched"] == 0
    (item,) = out["partial"]
    assert (item["kind"], item["rows"], item["numbers"]) == (
        "many_rows_one_invoice",
        [2, 3],
        [invoice.number],
    )


def test_an_unclosed_quote_is_refused_naming_the_line(org, admin, tmp_path):
    invoice = sold(org)
    data = (
        f'发票号码,价税合计,备注\r\n{invoice.number},106.00,"说明\r\n{number()},1.00,正常\r\n'
    ).encode()
    path = tmp_path / "l.csv"
    path.write_bytes(data)
    with pytest.raises(CommandError, match=r"第 2 行.*引号"):
        call_command("reconcile", str(path), "--org", org.tax_id)
    job = services.reconciliation_create(
        actor=admin, organization=org, data=data, name="台账.csv", background=False
    )
    assert job.status == ReconciliationStatus.FAILED
    assert job.error.startswith("第 2 行") and "引号" in job.error


def test_recovery_marks_rows_whose_number_is_written_in_full_width(org, admin):
    full_width = "２５１１２００００００００００７７７７１"
    frame = engine.compare(
        pl.DataFrame({"row": [2], "code": [""], "number": [full_width],
                      "issue_date": [DAY], "total": [10600]}),
        engine.empty_platform(),
        scope=engine.Scope(tax_id=org.tax_id, side="seller"),
    ).frame()  # fmt: skip
    job = Reconciliation.objects.create(
        organization=org, created_by=admin, file_name="台账.csv", side="seller",
        status=ReconciliationStatus.DONE,
    )  # fmt: skip
    job.result.save("result.parquet", ContentFile(results.write(frame)))
    (application,) = services.reconciliation_recover(actor=admin, job=job, rows=None)
    assert application.number == "25112000000000077771"
    job.refresh_from_db()
    assert job.recoveries == {"2": application.pk}


def test_the_command_summary_and_its_errors(org, tmp_path, capsys):
    path = tmp_path / "l.csv"
    path.write_bytes(csv_bytes([row_of(sold(org), 价税合计="x")]))
    call_command("reconcile", str(path), "--org", org.tax_id, "--side", "seller")
    captured = capsys.readouterr()
    assert "一致：1 条" in captured.out
    assert "第 2 行“价税合计”：无法识别的金额“x”" in captured.err
    bad = tmp_path / "bad.csv"
    bad.write_bytes(io.BytesIO(b"a,b\n1,2\n").getvalue())
    with pytest.raises(CommandError, match="发票号码"):
        call_command("reconcile", str(bad), "--org", org.tax_id)
    with pytest.raises(CommandError, match="平台上没有"):
        call_command("reconcile", str(path), "--org", "91110000000000000X")


def test_the_stored_result_is_the_same_from_the_categories_or_one_frame():
    result = engine.compare(
        pl.DataFrame({"row": [3, 2, 4], "code": ["", "", ""],
                      "number": ["25112000000000000003", "25112000000000000002",
                                 "25112000000000000001"], "total": [1, 2, 3]}),
        pl.DataFrame([{"id": 1, "code": "", "number": "25112000000000000001", "total": 3,
                       "status": 0, "is_red": False}], schema=engine.PLATFORM_COLUMNS),
        scope=engine.Scope(tax_id="91110108MA01YF8K3U"),
    )  # fmt: skip
    whole = pl.read_parquet(io.BytesIO(results.write(result.frame())))
    parts = pl.read_parquet(io.BytesIO(results.write(result.frames)))
    assert parts.equals(whole)
    assert parts["row"].to_list() == [4, 2, 3]
