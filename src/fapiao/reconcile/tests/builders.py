"""Ledgers for tests: a row per invoice, as a company's 台账 has it."""

import csv
import datetime as dt
import io

import xlsxwriter

from fapiao import testing
from fapiao.rules import numbers

HEADER = ["序号", "发票代码", "发票号码", "开票日期", "客户名称", "客户税号", "金额", "税额",
          "价税合计", "备注"]  # fmt: skip
DAY = dt.date(2025, 5, 20)
_serial = iter(range(500_000, 10**9))


def number(serial: int | None = None) -> str:
    return numbers.digital_number(2025, "11", "2", serial if serial is not None else next(_serial))


def sold(org, **fields):
    """An invoice the organization sold, on DAY unless told."""
    fields.setdefault("day", DAY)
    fields.setdefault("number", number())
    return testing.invoice(seller=org, **fields)


def row_of(invoice, *, bought: bool = False, **changes) -> dict:
    """The ledger row that books `invoice` as the platform has it (a sale, or a purchase)."""
    if bought:
        counterpart = invoice.seller_name, invoice.seller_tax_id
    else:
        counterpart = invoice.buyer_name, invoice.buyer_tax_id
    values = {
        "发票代码": invoice.code,
        "发票号码": invoice.number,
        "开票日期": invoice.issue_date.isoformat(),
        "客户名称": counterpart[0],
        "客户税号": counterpart[1],
        "金额": f"{invoice.amount:.2f}",
        "税额": f"{invoice.tax:.2f}",
        "价税合计": f"{invoice.total:.2f}",
        "备注": "",
    }
    values.update(changes)
    return values


def csv_bytes(rows: list[dict], *, header=HEADER, encoding="utf-8") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    for i, values in enumerate(rows, 1):
        writer.writerow([values.get(h, str(i) if h == "序号" else "") for h in header])
    return text.getvalue().encode(encoding)


def xlsx_bytes(rows: list[dict], *, header=HEADER) -> bytes:
    output = io.BytesIO()
    book = xlsxwriter.Workbook(output, {"in_memory": True})
    sheet = book.add_worksheet("台账")
    sheet.write_row(0, 0, header)
    for r, values in enumerate(rows, 1):
        for c, h in enumerate(header):
            value = values.get(h, str(r) if h == "序号" else "")
            if h in ("金额", "税额", "价税合计") and value:
                sheet.write_number(r, c, float(value))
            else:
                sheet.write_string(r, c, value)
    book.close()
    return output.getvalue()
