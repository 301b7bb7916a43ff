"""Background work of 补录: the applicant's emails (django.tasks, sent after commit)."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.tasks import task
from django.urls import reverse


@task()
def recovery_remind_due(*, application_id: int, episode: str) -> None:
    """Remind an applicant who still owes material, and queue the next reminder."""
    from fapiao.recovery.services import recovery_remind_one

    recovery_remind_one(application_id=application_id, episode=episode)


@task()
def recovery_notify(*, application_id: int, step: str) -> None:
    """Tell the applicant where their 补录 application stands."""
    from fapiao.recovery.models import RecoveryApplication
    from fapiao.recovery.services import step_text

    application = RecoveryApplication.objects.select_related(
        "applicant", "organization", "invoice"
    ).get(pk=application_id)
    applicant = application.applicant
    if not applicant.email:
        return
    subject, opening = step_text(application, step)
    link = settings.SITE_URL + reverse("recovery_detail", args=[application.pk])
    lines = [
        f"{applicant.get_full_name() or applicant.email}，您好：",
        "",
        opening,
        "",
        f"申请编号：#{application.pk}",
        f"发票：{application.identity}",
        f"申请单位：{application.organization.name}",
        f"当前状态：{application.get_status_display()}",
    ]
    if application.staff_reason and step in ("rejected", "more_info", "reminded", "approved"):
        label = {"rejected": "驳回原因", "approved": "审核意见"}.get(step, "需要补充")
        lines.append(f"{label}：{application.staff_reason}")
    if step == "approved" and application.invoice_id:
        invoice_link = settings.SITE_URL + reverse("invoice_detail", args=[application.invoice_id])
        lines.append(f"查看发票：{invoice_link}")
    lines += ["", f"查看申请：{link}", "", "——发票平台"]
    EmailMessage(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}（补录 #{application.pk}）",
        body="\n".join(lines),
        to=[applicant.email],
    ).send()
