"""The service-level timer of the review: a number of working days from submission. Working
days are Monday to Friday, less the public holidays, plus the weekend days worked in their place,
as the platform's calendar records them (`fapiao workdays`)."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

REVIEW_WORKING_DAYS = 2
BEIJING = ZoneInfo("Asia/Shanghai")


def working_days_after(start: dt.datetime, days: int = REVIEW_WORKING_DAYS) -> dt.datetime:
    """`start` plus `days` working days, at the same time of day; a start on a day off counts
    from the next working day, at the time given. The longest run of days off (the Spring
    Festival with its weekends) is under two weeks, so a month beyond the plain count covers
    every calendar entry that can matter."""
    from fapiao.core.selectors import work_calendar

    if timezone.is_aware(start):
        start = start.astimezone(BEIJING)  # the days are Beijing's, whatever TIME_ZONE says
    first = start.date()
    calendar = work_calendar(start=first, end=first + dt.timedelta(days=days * 2 + 31))
    return calendar.add_working_days(start, days)


def remaining_label(due: dt.datetime | None, now: dt.datetime) -> str:
    """ "剩 1 天 3 小时" or "已超时 5 小时": what the queue shows beside each application."""
    if due is None:
        return ""
    delta = due - now
    overdue = delta.total_seconds() < 0
    seconds = abs(int(delta.total_seconds()))
    days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
    if days:
        text = ngettext("%(days)d 天 %(hours)d 小时", "%(days)d 天 %(hours)d 小时", days) % {
            "days": days,
            "hours": hours,
        }
    elif hours:
        text = ngettext("%(hours)d 小时 %(minutes)d 分", "%(hours)d 小时 %(minutes)d 分", hours) % {
            "hours": hours,
            "minutes": minutes,
        }
    else:
        text = ngettext("%(minutes)d 分钟", "%(minutes)d 分钟", minutes) % {"minutes": minutes}
    return _("已超时 %(time)s") % {"time": text} if overdue else _("剩 %(time)s") % {"time": text}
