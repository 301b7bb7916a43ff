"""Background work of verification (django.tasks: the database queue by default)."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.tasks import task
from django.urls import reverse


@task()
def verification_batch_run(*, batch_id: int) -> None:
    """Verify every file of a batch; the page polls its progress."""
    from fapiao.verification.services import batch_run

    batch_run(batch_id=batch_id)


STEP_TEXT = {
    "submitted": ("已收到您的认证申请", "我们已收到您的认证申请，工作人员会尽快审核。"),
    "supplemented": ("已收到您补充的材料", "我们已收到您补充的材料，申请已重新进入审核队列。"),
    "approved": ("认证申请已通过", "您的认证申请已通过，认证报告见附件，也可在平台上下载。"),
    "rejected": ("认证申请被驳回", "很抱歉，您的认证申请未通过。"),
    "more_info": ("认证申请需要补充材料", "工作人员审核后，需要您补充以下材料后再提交。"),
}


@task()
def auth_request_notify(*, request_id: int, step: str) -> None:
    """Tell the requester where their 认证申请 stands (sent after the change committed)."""
    from fapiao.verification.models import AuthRequest
    from fapiao.verification.report import verification_report_pdf

    request = AuthRequest.objects.select_related("submitted_by", "organization").get(pk=request_id)
    subject, opening = STEP_TEXT[step]
    link = settings.SITE_URL + reverse("auth_request_detail", args=[request.pk])
    lines = [
        f"{request.submitted_by.get_full_name()}，您好：",
        "",
        f"{opening}",
        "",
        f"申请编号：#{request.pk}",
        f"申请事项：{request.title}",
        f"申请单位：{request.organization.name}",
        f"当前状态：{request.get_status_display()}",
    ]
    if request.staff_message and step in ("rejected", "more_info", "approved"):
        label = {"rejected": "驳回原因", "more_info": "需要补充", "approved": "审核意见"}[step]
        lines.append(f"{label}：{request.staff_message}")
    lines += ["", f"查看申请：{link}", "", "——发票平台"]
    message = EmailMessage(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}（#{request.pk}）",
        body="\n".join(lines),
        to=[request.submitted_by.email],
    )
    if step == "approved":
        for verification in request.verifications.select_related("invoice", "organization"):
            message.attach(
                f"认证报告_{verification.number or verification.pk}.pdf",
                verification_report_pdf(verification),
                "application/pdf",
            )
    message.send()
