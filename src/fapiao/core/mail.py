"""The body of the e-mails that tell someone where their request stands (补录, 认证申请): the
same lines in the same order, written in the language active where it is called."""

from django.utils.translation import gettext as _


def reason_line(step: str, reason: str) -> str:
    """The staff's words after a step: why it was rejected, their comment on an approval, or
    what is still wanted."""
    label = {"rejected": _("驳回原因：%(reason)s"), "approved": _("审核意见：%(reason)s")}.get(
        step
    ) or _("需要补充：%(reason)s")
    return label % {"reason": reason}


def request_status_body(
    *,
    name: str,
    opening: str,
    number: int,
    about: str,
    organization: str,
    status: str,
    link: str,
    reason: str = "",
    extra: list[str] | None = None,
) -> str:
    """Greeting, the step's opening, the request (number, what it is about, company, status), the
    staff's reason, any extra lines, the link to follow it, the signature."""
    lines = [
        _("%(name)s，您好：") % {"name": name},
        "",
        opening,
        "",
        _("申请编号：#%(id)s") % {"id": number},
        about,
        _("申请单位：%(organization)s") % {"organization": organization},
        _("当前状态：%(status)s") % {"status": status},
    ]
    if reason:
        lines.append(reason)
    lines += [*(extra or []), "", _("查看申请：%(link)s") % {"link": link}, "", _("——发票平台")]
    return "\n".join(lines)
