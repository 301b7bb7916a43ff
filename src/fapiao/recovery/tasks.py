"""Background work of 补录: the applicant's emails (django.tasks, sent after commit)."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.tasks import task
from django.urls import reverse
from django.utils.translation import gettext as _

from fapiao.accounts.language import in_language_of, subject_prefix
from fapiao.core.mail import reason_line, request_status_body


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
    with in_language_of(applicant):
        subject, opening = step_text(application, step)
        extra = []
        if step == "approved" and application.invoice_id:
            invoice_link = settings.SITE_URL + reverse(
                "invoice_detail", args=[application.invoice_id]
            )
            extra.append(_("查看发票：%(link)s") % {"link": invoice_link})
        has_reason = step in ("rejected", "more_info", "reminded", "approved")
        body = request_status_body(
            name=applicant.get_full_name() or applicant.email,
            opening=opening,
            number=application.pk,
            about=_("发票：%(identity)s") % {"identity": application.identity},
            organization=application.organization.name,
            status=application.get_status_display(),
            link=settings.SITE_URL + reverse("recovery_detail", args=[application.pk]),
            reason=reason_line(step, application.staff_reason)
            if application.staff_reason and has_reason
            else "",
            extra=extra,
        )
        subject = _("%(prefix)s%(subject)s（补录 #%(id)s）") % {
            "prefix": subject_prefix(),
            "subject": subject,
            "id": application.pk,
        }
    EmailMessage(subject=subject, body=body, to=[applicant.email]).send()
