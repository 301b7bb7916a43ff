"""Import files for tests: rows of invoices sold by (or bought by) an organization."""

import csv
import io

import xlsxwriter

from fapiao.rules import numbers, uscc

HEADER = ["发票类型", "发票号码", "开票日期", "销售方名称", "销售方纳税人识别号", "购买方名称",
          "购买方纳税人识别号", "项目名称", "金额", "税率", "税额", "价税合计"]  # fmt: skip
CUSTOMER = uscc.make("91310115MA1K00000")
_serial = iter(range(1, 10**9))


def number(serial: int | None = None, year: int = 2025) -> str:
    return numbers.digital_number(year, "11", "2", serial if serial is not None else next(_serial))


def run(org, data: bytes, *, name: str = "发票.csv", actor=None, default_type: str = ""):
    """Import a file as the command line does (in this process) and return the import."""
    from fapiao.imports import services

    job = services.import_create(
        actor=actor, organization=org, data=data, name=name, background=False,
        default_type=default_type,
    )  # fmt: skip
    if job.status == "queued":
        job = services.import_run(import_id=job.pk)
    return job


def killed_at_chunk(monkeypatch, n: int = 2) -> None:
    """The import's writer fails at its `n`th chunk, as a killed connection would."""
    from fapiao.imports import writing

    real, calls = writing._write, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise ConnectionError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(writing, "_write", failing)


def problems(job) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.code) for p in job.problems.filter(is_warning=False)]


def row(org, **fields) -> list[str]:
    values = {
        "发票类型": "数电普票",
        "发票号码": number(),
        "开票日期": "2025-05-30",
        "销售方名称": org.name,
        "销售方纳税人识别号": org.tax_id,
        "购买方名称": "上海明德贸易有限公司",
        "购买方纳税人识别号": CUSTOMER,
        "项目名称": "*信息技术服务*软件开发服务",
        "金额": "1000.00",
        "税率": "6%",
        "税额": "60.00",
        "价税合计": "1060.00",
        **fields,
    }
    header = fields.get("_header", HEADER)
    return [values.get(h, "") for h in header]


def csv_bytes(rows, *, header=HEADER, encoding="utf-8") -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([header, *rows])
    return text.getvalue().encode(encoding)


def xlsx_bytes(rows, *, header=HEADER, numbers_as_numbers=True) -> bytes:
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, header)
    for r, values in enumerate(rows, 1):
        for c, value in enumerate(values):
            if numbers_as_numbers and header[c] in ("金额", "税额", "价税合计"):
                try:
                    sheet.write_number(r, c, float(value))
                    continue
                except ValueError:
                    pass
            sheet.write_string(r, c, value)
    workbook.close()
    return output.getvalue()
