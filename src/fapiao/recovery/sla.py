"""The service-level timer of the review: a number of working days (Monday to Friday; the
national holiday calendar is not modelled) from submission."""

import datetime as dt

REVIEW_WORKING_DAYS = 2


def working_days_after(start: dt.datetime, days: int = REVIEW_WORKING_DAYS) -> dt.datetime:
    """`start` plus `days` working days, at the same time of day; a start on a weekend counts
    from the next Monday morning's time as given."""
    moment = start
    while moment.weekday() >= 5:
        moment += dt.timedelta(days=1)
    added = 0
    while added < days:
        moment += dt.timedelta(days=1)
        if moment.weekday() < 5:
            added += 1
    return moment


def remaining_label(due: dt.datetime | None, now: dt.datetime) -> str:
    """ "剩 1 天 3 小时" or "已超时 5 小时": what the queue shows beside each application."""
    if due is None:
        return ""
    delta = due - now
    overdue = delta.total_seconds() < 0
    seconds = abs(int(delta.total_seconds()))
    days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
    if days:
        text = f"{days} 天 {hours} 小时"
    elif hours:
        text = f"{hours} 小时 {minutes} 分"
    else:
        text = f"{minutes} 分钟"
    return f"已超时 {text}" if overdue else f"剩 {text}"
