"""`fapiao workdays [--year Y] [--load FILE]`: the holiday arrangements behind every deadline
counted in working days (补录 review). Without options: the years recorded. With --year: that
year's days. With --year and --load: replace that year's days from a CSV file with the columns
日期, 类型 (放假 or 上班) and 名称, one row per day, as the State Council's notice gives them. A day
of a notice that falls in another year (a make-up Saturday on 31 December, say) belongs to that
year's file."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fapiao.core import calendar_file, selectors, services


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
                days = calendar_file.read(Path(load).read_bytes())
            except OSError as error:
                raise CommandError(f"无法读取文件 {load}：{error.strerror}") from None
            except calendar_file.CalendarFileError as error:
                raise CommandError(error.message) from None
            try:
                count = services.calendar_year_set(year=year, days=days, actor_label="命令行")
            except ValidationError as error:
                raise CommandError("；".join(error.messages)) from None
            self.stdout.write(f"已录入 {year} 年节假日安排：{count} 天")
        if year:
            for day in selectors.calendar_days(year=year):
                weekday = "一二三四五六日"[day.day.weekday()]
                label = calendar_file.LABELS[day.kind]
                self.stdout.write(f"{day.day:%Y-%m-%d} 周{weekday} {label} {day.name}")
            return
        years = sorted(selectors.calendar_years())
        self.stdout.write("已录入的年份：" + ("、".join(map(str, years)) if years else "无"))
        for missing in selectors.calendar_missing(today=timezone.localdate()):
            self.stdout.write(
                f"尚未录入 {missing} 年的节假日安排：在录入之前，按工作日计算的期限只跳过周末。"
            )
