"""The operation log as an Excel workbook."""

import datetime
import io
import json
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import xlsxwriter

from fapiao.audit.models import Event
from fapiao.core.excel import neutralised

SHANGHAI = ZoneInfo("Asia/Shanghai")

COLUMNS = [
    ("时间（北京时间）", 20),
    ("操作人", 28),
    ("事件", 22),
    ("事件代码", 26),
    ("对象", 30),
    ("对象类型", 12),
    ("对象编号", 12),
    ("IP 地址", 16),
    ("浏览器", 30),
    ("接口客户端", 14),
    ("详情", 40),
    ("记录链", 12),
    ("序号", 8),
    ("哈希", 20),
]


def shanghai_time(moment: datetime.datetime) -> datetime.datetime:
    """A naive local time, as Excel stores datetimes."""
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


def events_workbook(events: Iterable[Event]) -> tuple[bytes, int]:
    """Returns the .xlsx file and how many events it holds."""
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        output,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    sheet = workbook.add_worksheet("操作记录")
    header = workbook.add_format({"bold": True, "bg_color": "#F3F4F6", "border": 1})
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for col, (title, width) in enumerate(COLUMNS):
        sheet.write_string(0, col, title, header)
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)

    rows = 0
    for rows, event in enumerate(events, start=1):
        sheet.write_datetime(rows, 0, shanghai_time(event.created_at), when)
        texts = [
            event.actor_label,
            event.description,
            event.code,
            event.object_label,
            event.object_type,
            event.object_id,
            event.ip or "",
            event.user_agent,
            event.api_client,
            json.dumps(event.details, ensure_ascii=False, sort_keys=True) if event.details else "",
            event.chain,
        ]
        for col, text in enumerate(texts, start=1):
            sheet.write_string(rows, col, neutralised(text))
        sheet.write_number(rows, len(texts) + 1, event.sequence)
        sheet.write_string(rows, len(texts) + 2, event.hash)
    if rows:
        sheet.autofilter(0, 0, rows, len(COLUMNS) - 1)
    workbook.close()
    return output.getvalue(), rows
