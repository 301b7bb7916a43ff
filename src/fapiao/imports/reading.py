"""Reading a file as users have it: CSV in UTF-8 (with or without BOM), UTF-16, GBK or GB18030,
comma-, tab- or semicolon-separated; or XLSX. Every cell is read as text, and every data row keeps
its row number as Excel shows it (the header is row 1 unless title rows stand above it).

XLSX goes through calamine (the `fastexcel` package) when it is installed, and otherwise through a
streaming reader of the sheet's XML here, which gives date cells as Excel serial numbers (the
import reads those too).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass

import polars as pl
from defusedxml.ElementTree import iterparse

from fapiao.imports import fields

ROW = "__row"
HEADER_SEARCH_ROWS = 20  # title rows above the header are skipped, up to this many
ZIP_MAGIC = b"PK\x03\x04"


class FileError(Exception):
    """The file cannot be read as a table at all."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Table:
    file_format: str  # "csv" or "xlsx"
    encoding: str  # "UTF-8", "UTF-8-BOM", "GBK", "GB18030", "UTF-16"; "" for XLSX
    header_row: int  # as Excel numbers rows
    headers: list[str]
    frame: pl.DataFrame  # columns c0..cN (text), and ROW

    def column(self, header: str) -> str:
        return f"c{self.headers.index(header)}"


def sniff_format(data: bytes, name: str = "") -> str:
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    return "csv"


@dataclass
class Head:
    file_format: str
    encoding: str
    header_row: int
    headers: list[str]


def peek(data: bytes) -> Head:
    """Format, encoding and header of a file, from its beginning (for the upload page)."""
    if not data.strip():
        raise FileError("file_empty", "文件是空的")
    if sniff_format(data) == "xlsx":
        raw = _xlsx_raw(data, n_rows=HEADER_SEARCH_ROWS)
        top = [[_cell(c) for c in row] for row in raw.rows()]
        if not top:
            raise FileError("file_no_header", "Excel 文件的第一个工作表是空的")
        index = _header_index(top)
        return Head("xlsx", "", index + 1, _trimmed(top[index]))
    prefix = data[:262144]
    if len(prefix) < len(data) and b"\n" in prefix:
        prefix = prefix[: prefix.rindex(b"\n") + 1]
    text, encoding = decode(prefix)
    records = _head_records(text, delimiter_of(text), complete=True)
    index = _header_index(records)
    return Head("csv", encoding, index + 1, _trimmed(records[index]))


def _trimmed(cells: list[str]) -> list[str]:
    headers = [c.strip() for c in cells]
    while headers and not headers[-1]:
        headers.pop()
    return headers


def read(data: bytes, name: str = "") -> Table:
    if not data.strip():
        raise FileError("file_empty", "文件是空的")
    if sniff_format(data, name) == "xlsx":
        return read_xlsx(data)
    return read_csv(data)


# --- CSV ---------------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding label), detected without asking: BOMs first, then strict UTF-8, then
    GBK, then GB18030 (which can encode every character, so it is the last resort)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "UTF-8-BOM"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "UTF-16"
    for codec, label in (("utf-8", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030")):
        try:
            return data.decode(codec), label
        except UnicodeDecodeError:
            continue
    raise FileError(
        "file_encoding", "无法识别文件的编码：请另存为 UTF-8 或 GBK 编码的 CSV，或 Excel 文件"
    )


# How to write a file back in the encoding it came in (GB18030 is GBK's superset: the same bytes
# for every GBK character, and room for any other).
OUTPUT_CODECS = {
    "UTF-8": "utf-8",
    "UTF-8-BOM": "utf-8-sig",
    "UTF-16": "utf-16",
    "GBK": "gb18030",
    "GB18030": "gb18030",
}


def delimiter_of(text: str) -> str:
    """Comma, tab or semicolon: whichever the first non-empty line has most of."""
    first_line = next((line for line in text[:65536].splitlines() if line.strip()), "")
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _head_records(text: str, delimiter: str, *, complete: bool) -> list[list[str]]:
    head = text[:65536]
    records = list(csv.reader(io.StringIO(head), delimiter=delimiter))
    if len(head) < len(text) or not complete:
        records = records[:-1]  # the last one may be cut off
    return records[: HEADER_SEARCH_ROWS + 1]


def _header_index(records: list[list[str]]) -> int:
    """The first record naming at least two known fields; else the first non-empty one."""
    first_nonempty = None
    for i, record in enumerate(records[:HEADER_SEARCH_ROWS]):
        cells = [c for c in record if c and c.strip()]
        if not cells:
            continue
        if first_nonempty is None:
            first_nonempty = i
        if len(fields.detect(record).mapping) + len(fields.detect(record).ambiguous) >= 2:
            return i
    if first_nonempty is None:
        raise FileError("file_no_header", "文件中没有表头行")
    return first_nonempty


def _utf8(data: bytes) -> bool:
    """Strict UTF-8, checked block by block (no copy of the whole file as text)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    block = 1 << 24
    try:
        for start in range(0, len(data), block):
            decoder.decode(data[start : start + block], final=start + block >= len(data))
    except UnicodeDecodeError:
        return False
    return True


def read_csv(data: bytes) -> Table:
    if data.startswith(codecs.BOM_UTF8) and _utf8(data[len(codecs.BOM_UTF8) :]):
        body, encoding = data[len(codecs.BOM_UTF8) :], "UTF-8-BOM"
    elif not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and _utf8(data):
        body, encoding = data, "UTF-8"
    else:  # GBK, GB18030, UTF-16: to UTF-8 for polars
        text, encoding = decode(data)
        body = text.encode("utf-8")
        del text
    del data
    head = body[:262144].decode("utf-8", errors="ignore")
    delimiter = delimiter_of(head)
    head_records = _head_records(head, delimiter, complete=len(body) <= 262144)
    index = _header_index(head_records)
    headers = _trimmed(head_records[index])
    names = [f"c{i}" for i in range(len(headers))]
    # Lines before the data: `index` records above the header, and the header itself. They hold
    # no quoted line breaks (they are titles and the header), so lines and records agree there.
    try:
        frame = pl.read_csv(
            body,
            has_header=False,
            schema=dict.fromkeys(names, pl.String),
            skip_rows=index + 1,
            separator=delimiter,
            truncate_ragged_lines=True,
            missing_columns="insert",
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as failure:
        raise _malformed(body, delimiter) from failure
    del body
    if frame.width < len(names):  # no data rows at all, or short rows throughout
        for name in names[frame.width :]:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    frame = frame.select(names).with_row_index(ROW, offset=index + 2)
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64))
    return Table("csv", encoding, index + 1, headers, frame)


def _malformed(body: bytes, delimiter: str) -> FileError:
    """What is wrong with a CSV file polars refused, naming the line where a quote opens and
    never closes (the usual cause: a cell like `"412.45` typed or cut short)."""
    text = body.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    line = 1
    try:
        for _ in reader:
            line = reader.line_num + 1
    except csv.Error:
        return FileError(
            "unbalanced_quote",
            f'第 {line} 行的引号没有配对：以英文双引号（"）开头的单元格缺少结尾的双引号，'
            "其后的内容都会被当成这一格。请在 Excel 或文本编辑器中修正该行后重新上传。",
        )
    return FileError(
        "malformed_csv",
        "无法按 CSV 表格读取这个文件：请用 Excel 另存为 CSV（UTF-8）或 XLSX 后重新上传。",
    )


# --- XLSX --------------------------------------------------------------------------------------


def read_xlsx(data: bytes) -> Table:
    raw = _xlsx_raw(data)
    if raw.height == 0:
        raise FileError("file_no_header", "Excel 文件的第一个工作表是空的")
    top = raw.head(HEADER_SEARCH_ROWS).rows()
    index = _header_index([[_cell(c) for c in row] for row in top])
    headers = _trimmed([_cell(c) for c in top[index]])
    names = [f"c{i}" for i in range(len(headers))]
    frame = raw.slice(index + 1).select(raw.columns[: len(headers)])
    frame.columns = names
    frame = frame.with_row_index(ROW, offset=index + 2).with_columns(pl.col(ROW).cast(pl.Int64))
    return Table("xlsx", "", index + 1, headers, frame)


def _xlsx_raw(data: bytes, n_rows: int | None = None) -> pl.DataFrame:
    try:
        if calamine_available():
            return _xlsx_calamine(data, n_rows)
        return _xlsx_stdlib(data).head(n_rows) if n_rows else _xlsx_stdlib(data)
    except FileError:
        raise
    except Exception as broken:  # a damaged, encrypted or hostile workbook
        raise FileError("file_unreadable", f"无法读取这个 Excel 文件：{broken}") from broken


USE_CALAMINE = True  # tests switch it off to exercise the built-in reader


def calamine_available() -> bool:
    if not USE_CALAMINE:
        return False
    try:
        import fastexcel  # noqa: F401
    except ImportError:
        return False
    return True


def _cell(value) -> str:
    return "" if value is None else str(value)


def _xlsx_calamine(data: bytes, n_rows: int | None = None) -> pl.DataFrame:
    import fastexcel

    reader = fastexcel.read_excel(data)
    sheet = reader.load_sheet(0, header_row=None, skip_rows=0, n_rows=n_rows, dtypes="string")
    frame = sheet.to_polars()
    frame.columns = [f"x{i}" for i in range(frame.width)]
    return frame


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL_REF = re.compile(r"([A-Z]+)([0-9]+)")


def _safe_iterparse(stream):
    """defusedxml refuses entity declarations: OOXML parts never need them."""
    return iterparse(stream, events=("start", "end"), forbid_dtd=True)


def _xlsx_stdlib(data: bytes) -> pl.DataFrame:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as broken:
        raise FileError("file_unreadable", "无法读取这个 Excel 文件：文件已损坏") from broken
    names = set(archive.namelist())
    sheet_part = _first_sheet(archive, names)
    shared: list[str] = []
    if "xl/sharedStrings.xml" in names:
        with archive.open("xl/sharedStrings.xml") as stream:
            parts: list[str] = []
            for event, el in _safe_iterparse(stream):
                if event == "end" and el.tag == f"{_NS}t":
                    parts.append(el.text or "")
                elif event == "end" and el.tag == f"{_NS}si":
                    shared.append("".join(parts))
                    parts = []
                    el.clear()
    rows: dict[int, dict[int, str]] = {}
    width = 0
    with archive.open(sheet_part) as stream:
        row_number = 0
        for event, el in _safe_iterparse(stream):
            if event == "start" and el.tag == f"{_NS}row":
                row_number = int(el.get("r") or row_number + 1)
            elif event == "end" and el.tag == f"{_NS}c":
                ref = _CELL_REF.match(el.get("r") or "")
                col = _col_index(ref.group(1)) if ref else len(rows.get(row_number, {}))
                value = _xml_cell(el, shared)
                if value is not None:
                    rows.setdefault(row_number, {})[col] = value
                    width = max(width, col + 1)
                el.clear()
            elif event == "end" and el.tag == f"{_NS}row":
                el.clear()
    last = max(rows, default=0)
    columns = {f"x{c}": [rows.get(r, {}).get(c) for r in range(1, last + 1)] for c in range(width)}
    return pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))


def _first_sheet(archive: zipfile.ZipFile, names: set[str]) -> str:
    try:
        with archive.open("xl/workbook.xml") as stream:
            first_rid = next(
                el.get(f"{_REL_NS}id")
                for event, el in _safe_iterparse(stream)
                if event == "start" and el.tag == f"{_NS}sheet"
            )
        with archive.open("xl/_rels/workbook.xml.rels") as stream:
            for event, el in _safe_iterparse(stream):
                if event == "start" and el.get("Id") == first_rid:
                    target = el.get("Target", "").lstrip("/")
                    return target if target.startswith("xl/") else f"xl/{target}"
    except (KeyError, StopIteration):
        pass
    if "xl/worksheets/sheet1.xml" in names:
        return "xl/worksheets/sheet1.xml"
    raise FileError("file_unreadable", "Excel 文件中没有工作表")


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _xml_cell(el, shared: list[str]) -> str | None:
    kind = el.get("t")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in el.iter(f"{_NS}t"))
    v = el.find(f"{_NS}v")
    if v is None or v.text is None:
        return None
    if kind == "s":
        return shared[int(v.text)]
    if kind in ("str", "e"):
        return v.text
    if kind == "b":
        return "TRUE" if v.text == "1" else "FALSE"
    return _number_text(v.text)


def _number_text(text: str) -> str:
    """A stored double as Excel displays it: 15 significant digits, no float noise."""
    try:
        value = float(text)
    except ValueError:
        return text
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.15g}"
