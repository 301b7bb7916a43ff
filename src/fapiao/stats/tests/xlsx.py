"""Reading an .xlsx back without openpyxl: sheet names, cell values, types and number formats."""

import io
import re
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
BUILTIN_FORMATS = {0: "General", 3: "#,##0", 4: "#,##0.00", 10: "0.00%"}


@dataclass(frozen=True)
class Cell:
    value: str | float | None
    kind: str  # "s" (text), "n" (number), "f" (formula)
    number_format: str


def _xml(xlsx: zipfile.ZipFile, name: str) -> ElementTree.Element:
    return ElementTree.fromstring(xlsx.read(name))  # noqa: S314  (our own file)


def read_workbook(content: bytes) -> dict[str, list[list[Cell | None]]]:
    """Every sheet by name, as rows of cells (None where a cell is empty)."""
    with zipfile.ZipFile(io.BytesIO(content)) as xlsx:
        assert xlsx.testzip() is None
        names = set(xlsx.namelist())
        strings = []
        if "xl/sharedStrings.xml" in names:
            shared = _xml(xlsx, "xl/sharedStrings.xml")
            strings = [
                "".join(t.text or "" for t in si.iter(f"{NS}t")) for si in shared.iter(f"{NS}si")
            ]
        styles = _xml(xlsx, "xl/styles.xml")
        custom = {
            int(fmt.get("numFmtId")): fmt.get("formatCode") for fmt in styles.iter(f"{NS}numFmt")
        }
        formats = [
            custom.get(int(xf.get("numFmtId", 0)))
            or BUILTIN_FORMATS.get(int(xf.get("numFmtId", 0)), "General")
            for xf in styles.find(f"{NS}cellXfs")
        ]
        workbook = _xml(xlsx, "xl/workbook.xml")
        rels = _xml(xlsx, "xl/_rels/workbook.xml.rels")
        targets = {rel.get("Id"): rel.get("Target") for rel in rels}
        sheets = {}
        for sheet in workbook.iter(f"{NS}sheet"):
            target = targets[sheet.get(f"{REL}id")]
            sheets[sheet.get("name")] = _rows(
                _xml(xlsx, "xl/" + target.lstrip("/").removeprefix("xl/")), strings, formats
            )
    return sheets


def _rows(sheet: ElementTree.Element, strings: list[str], formats: list[str]):
    rows: dict[int, dict[int, Cell]] = {}
    for row in sheet.iter(f"{NS}row"):
        cells = rows.setdefault(int(row.get("r")) - 1, {})
        for cell in row.iter(f"{NS}c"):
            letters = re.match(r"[A-Z]+", cell.get("r")).group()
            column = 0
            for letter in letters:
                column = column * 26 + ord(letter) - 64
            value = cell.find(f"{NS}v")
            number_format = formats[int(cell.get("s", 0))]
            if cell.find(f"{NS}f") is not None:
                cells[column - 1] = Cell(cell.find(f"{NS}f").text, "f", number_format)
            elif cell.get("t") == "s":
                cells[column - 1] = Cell(strings[int(value.text)], "s", number_format)
            elif cell.get("t") in ("str", "inlineStr"):
                cells[column - 1] = Cell("".join(cell.itertext()), "s", number_format)
            elif value is not None:
                cells[column - 1] = Cell(float(value.text), "n", number_format)
    width = max((max(c, default=-1) for c in rows.values()), default=-1) + 1
    return [
        [rows.get(r, {}).get(c) for c in range(width)] for r in range(max(rows, default=-1) + 1)
    ]


def values(row: list[Cell | None]) -> list:
    return [cell.value if cell else None for cell in row]
