"""Reading a year's holiday arrangements from a CSV file (日期,类型,名称, one row per day), for
`fapiao workdays --load` and the staff's calendar page alike."""

import csv
import datetime as dt
import io
import re

from fapiao.imports.reading import FileError, decode
from fapiao.rules import workdays

KINDS = {"放假": workdays.HOLIDAY, "休": workdays.HOLIDAY, "holiday": workdays.HOLIDAY,
         "上班": workdays.WORKDAY, "班": workdays.WORKDAY, "调休上班": workdays.WORKDAY,
         "workday": workdays.WORKDAY}  # fmt: skip
LABELS = {workdays.HOLIDAY: "放假", workdays.WORKDAY: "上班"}
DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
MAX_BYTES = 1 << 20  # a year is a few dozen rows


class CalendarFileError(ValueError):
    """What is wrong with the file, in Chinese, naming the row and column where there is one."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def read(data: bytes) -> list[workdays.Day]:
    """The days of a calendar file as uploaded (UTF-8, GBK or GB18030, detected)."""
    if len(data) > MAX_BYTES:
        raise CalendarFileError("文件太大：一年的节假日安排只有几十行")
    try:
        text, _encoding = decode(data)
    except FileError as error:
        raise CalendarFileError(error.message) from None
    return parse(text)


def parse(text: str) -> list[workdays.Day]:
    """The rows of a calendar file; a first row naming its columns (日期, 类型...) is skipped."""
    days, first = [], True
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if first and _is_header(cells):
            first = False
            continue
        first = False
        if len(cells) < 2:
            raise CalendarFileError(f"第 {number} 行：至少需要“日期”和“类型”两列")
        match = DATE.match(cells[0])
        if not match:
            raise CalendarFileError(f"第 {number} 行“日期”列：无法识别的日期“{cells[0]}”")
        try:
            day = dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            raise CalendarFileError(f"第 {number} 行“日期”列：不存在的日期“{cells[0]}”") from None
        kind = KINDS.get(cells[1].lower())
        if kind is None:
            raise CalendarFileError(
                f"第 {number} 行“类型”列：应为“放假”或“上班”，而不是“{cells[1]}”"
            )
        days.append(workdays.Day(day, kind, cells[2] if len(cells) > 2 else ""))
    if not days:
        raise CalendarFileError("文件中没有任何日期：未作改动（一年的安排至少有元旦等节日）")
    return days


def _is_header(cells: list[str]) -> bool:
    """The first row names its columns (日期, 类型, ...), it does not hold a mistyped date."""
    first = cells[0].lstrip("\ufeff").lower()
    return "日期" in first or "date" in first
