"""`fapiao workdays [--year Y] [--load FILE]`: the holiday arrangements behind every deadline
counted in working days (补录 review). Without options: the years recorded. With --year: that
year's days. With --year and --load: replace that year's days from a CSV file with the columns
日期, 类型 (放假 or 上班) and 名称, one row per day, as the State Council's notice gives them. A day
of a notice that falls in another year (a make-up Saturday on 31 December, say) belongs to that
year's file."""

import csv
import datetime as dt
import io
import re
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fapiao.core import selectors, services
from fapiao.imports.reading import FileError, decode
from fapiao.rules import workdays

KINDS = {"放假": workdays.HOLIDAY, "休": workdays.HOLIDAY, "holiday": workdays.HOLIDAY,
         "上班": workdays.WORKDAY, "班": workdays.WORKDAY, "调休上班": workdays.WORKDAY,
         "workday": workdays.WORKDAY}  # fmt: skip
LABELS = {workdays.HOLIDAY: "放假", workdays.WORKDAY: "上班"}
DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


def parse(text: str) -> list[workdays.Day]:
    """The rows of a calendar file; a header row is recognised and skipped. Raises CommandError
    naming the row (as a spreadsheet numbers it) and the column of the first bad cell."""
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
            raise CommandError(f"第 {number} 行：至少需要“日期”和“类型”两列")
        match = DATE.match(cells[0])
        if not match:
            raise CommandError(f"第 {number} 行“日期”列：无法识别的日期“{cells[0]}”")
        try:
            day = dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            raise CommandError(f"第 {number} 行“日期”列：不存在的日期“{cells[0]}”") from None
        kind = KINDS.get(cells[1].lower())
        if kind is None:
            raise CommandError(f"第 {number} 行“类型”列：应为“放假”或“上班”，而不是“{cells[1]}”")
        days.append(workdays.Day(day, kind, cells[2] if len(cells) > 2 else ""))
    if not days:
        raise CommandError("文件中没有任何日期：未作改动（一年的安排至少有元旦等节日）")
    return days


def _is_header(cells: list[str]) -> bool:
    """The first row names its columns (日期, 类型, ...), it does not hold a mistyped date."""
    first = cells[0].lstrip("\ufeff").lower()
    return "日期" in first or "date" in first


class Command(BaseCommand):
    help = "节假日安排：查看已录入的年份和日期，或从 CSV 文件录入某一年的安排。"

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, help="年份")
        parser.add_argument(
            "--load",
            metavar="FILE",
            help="CSV 文件（日期,类型,名称；类型为“放假”或“上班”），替换该年已录入的安排",
        )

    def handle(self, *args, year=None, load=None, **options):
        if load and not year:
            raise CommandError("录入时须用 --year 指明年份")
        if load:
            try:
                text, _ = decode(Path(load).read_bytes())
            except OSError as error:
                raise CommandError(f"无法读取文件 {load}：{error.strerror}") from None
            except FileError as error:
                raise CommandError(error.message) from None
            days = parse(text)
            try:
                count = services.calendar_year_set(year=year, days=days, actor_label="命令行")
            except ValidationError as error:
                raise CommandError("；".join(error.messages)) from None
            self.stdout.write(f"已录入 {year} 年节假日安排：{count} 天")
        if year:
            for day in selectors.calendar_days(year=year):
                weekday = "一二三四五六日"[day.day.weekday()]
                self.stdout.write(f"{day.day:%Y-%m-%d} 周{weekday} {LABELS[day.kind]} {day.name}")
            return
        years = sorted(selectors.calendar_years())
        self.stdout.write("已录入的年份：" + ("、".join(map(str, years)) if years else "无"))
        for missing in selectors.calendar_missing(today=timezone.localdate()):
            self.stdout.write(
                f"尚未录入 {missing} 年的节假日安排：在录入之前，按工作日计算的期限只跳过周末。"
            )
