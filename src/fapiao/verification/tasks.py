"""Background work of verification (django.tasks: the database queue by default)."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.tasks import task
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from fapiao.accounts.language import in_language_of, subject_prefix
from fapiao.core.mail import reason_line, request_status_body


@task()
def verification_batch_run(*, batch_id: int) -> None:
    """Verify every file of a batch; the page polls its progress."""
    from fapiao.verification.services import batch_run

    batch_run(batch_id=batch_id)


STEP_TEXT = {
    "submitted": (
        gettext_noop("已收到您的认证申请"),
        gettext_noop("我们已收到您的认证申请，工作人员会尽快审核。"),
    ),
    "supplemented": (
        gettext_noop("已收到您补充的材料"),
        gettext_noop("我们已收到您补充的材料，申请已重新进入审核队列。"),
    ),
    "approved": (
        gettext_noop("认证申请已通过"),
        gettext_noop("您的认证申请已通过，认证报告见附件，也可在平台上下载。"),
    ),
    "rejected": (gettext_noop("认证申请被驳回"), gettext_noop("很抱歉，您的认证申请未通过。")),
    "more_info": (
        gettext_noop("认证申请需要补充材料"),
        gettext_noop("工作人员审核后，需要您补充以下材料后再提交。"),
    ),
}


@task()
def auth_request_notify(*, request_id: int, step: str) -> None:
    """Tell the requester where their 认证申请 stands (sent after the change committed)."""
    from fapiao.verification.models import AuthRequest
    from fapiao.verification.report import verification_report_pdf

    request = AuthRequest.objects.select_related("submitted_by", "organization").get(pk=request_id)
    requester = request.submitted_by
    with in_language_of(requester):
        subject, opening = (_(text) for text in STEP_TEXT[step])
        has_reason = step in ("rejected", "more_info", "approved")
        body = request_status_body(
            name=requester.get_full_name(),
            opening=opening,
            number=request.pk,
            about=_("申请事项：%(title)s") % {"title": request.title},
            organization=request.organization.name,
            status=request.get_status_display(),
            link=settings.SITE_URL + reverse("auth_request_detail", args=[request.pk]),
            reason=reason_line(step, request.staff_message)
            if request.staff_message and has_reason
            else "",
        )
        message = EmailMessage(
            subject=_("%(prefix)s%(subject)s（#%(id)s）")
            % {"prefix": subject_prefix(), "subject": subject, "id": request.pk},
            body=body,
            to=[requester.email],
        )
        if step == "approved":
            for verification in request.verifications.select_related("invoice", "organization"):
                message.attach(
                    _("认证报告_%(number)s.pdf")
                    % {"number": verification.number or verification.pk},
                    verification_report_pdf(verification),
                    "application/pdf",
                )
    message.send()
