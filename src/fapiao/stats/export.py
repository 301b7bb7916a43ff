"""The statistics tables as an Excel workbook (one sheet per view) or one view as CSV.

Numbers stay numbers (money with two places, counts whole, changes as percentages); text that a
spreadsheet would run as a formula is made inert (fapiao.core.excel).
"""

import csv
import io
from decimal import Decimal

import xlsxwriter

from fapiao.core.excel import neutralised
from fapiao.stats.report import Cell, Percent, StatsReport, Table

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
HEADER_ROW = 3  # title, selection, blank, then the header


def workbook_bytes(report: StatsReport) -> bytes:
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        output,
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    formats = {
        "title": workbook.add_format({"bold": True, "font_size": 13}),
        "muted": workbook.add_format({"font_color": "#6B7280"}),
        "header": workbook.add_format(
            {"bold": True, "bg_color": "#F3F4F6", "border": 1, "text_wrap": True}
        ),
        "count": workbook.add_format({"num_format": "#,##0"}),
        "money": workbook.add_format({"num_format": "#,##0.00;[Red]-#,##0.00"}),
        "percent": workbook.add_format({"num_format": "0.0%;[Red]-0.0%"}),
        "text": workbook.add_format({}),
    }
    formats.update(
        {
            f"total_{kind}": workbook.add_format({**props, "bold": True, "top": 1})
            for kind, props in {
                "count": {"num_format": "#,##0"},
                "money": {"num_format": "#,##0.00;[Red]-#,##0.00"},
                "percent": {"num_format": "0.0%"},
                "text": {},
            }.items()
        }
    )
    organization = report.organization
    for table in report.workbook_tables():
        sheet = workbook.add_worksheet(table.title)
        sheet.write_string(
            0, 0, neutralised(f"{organization.name} · {table.title}"), formats["title"]
        )
        sheet.write_string(
            1,
            0,
            neutralised(f"{organization.tax_id} · {report.selection.description}"),
            formats["muted"],
        )
        for col, title in enumerate(table.columns):
            sheet.write_string(HEADER_ROW, col, title, formats["header"])
            sheet.set_column(col, col, _width(table, col))
        row = HEADER_ROW
        for row, cells in enumerate(table.rows, start=HEADER_ROW + 1):
            _write_row(sheet, row, cells, formats, "")
        if table.footer:
            row += 1
            _write_row(sheet, row, table.footer, formats, "total_")
        if table.note:
            sheet.write_string(row + 2, 0, table.note, formats["muted"])
        sheet.freeze_panes(HEADER_ROW + 1, 1)
    workbook.close()
    return output.getvalue()


def _write_row(sheet, row: int, cells: list[Cell], formats: dict, prefix: str) -> None:
    for col, value in enumerate(cells):
        if value is None:
            continue
        if isinstance(value, Percent):
            if value.value is not None:
                sheet.write_number(row, col, float(value.value / 100), formats[f"{prefix}percent"])
        elif isinstance(value, bool):  # not a count
            sheet.write_string(row, col, str(value), formats[f"{prefix}text"])
        elif isinstance(value, int):
            sheet.write_number(row, col, value, formats[f"{prefix}count"])
        elif isinstance(value, Decimal):
            sheet.write_number(row, col, float(value), formats[f"{prefix}money"])
        else:
            sheet.write_string(row, col, neutralised(str(value)), formats[f"{prefix}text"])


def _width(table: Table, col: int) -> int:
    texts = [table.columns[col]] + [
        str(cells[col]) for cells in table.rows if col < len(cells) and isinstance(cells[col], str)
    ]
    # A CJK character is about two columns wide.
    widest = max((sum(2 if ord(ch) > 0x2E7F else 1 for ch in text) for text in texts), default=8)
    return min(max(widest + 2, 12), 48)


def csv_bytes(table: Table) -> bytes:
    """One view as CSV: UTF-8 with a BOM (Excel then reads the Chinese right), plain numbers."""
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\r\n")
    writer.writerow(table.columns)
    for cells in table.rows:
        writer.writerow([_csv_cell(value) for value in cells])
    if table.footer:
        writer.writerow([_csv_cell(value) for value in table.footer])
    return ("\ufeff" + output.getvalue()).encode("utf-8")


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Percent):
        return "" if value.value is None else f"{value.value}%"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))}"
    return neutralised(value)
