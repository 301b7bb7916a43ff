"""Background work for invoices (django.tasks: the database queue by default)."""

from django.core.mail import EmailMessage
from django.db import transaction
from django.tasks import task
from django.utils import translation
from django.utils.translation import gettext as _

from fapiao.accounts.language import language_of_email, subject_prefix
from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record
from fapiao.invoices.models import Invoice


@task()
def invoice_email_send(*, invoice_id: int) -> None:
    """Email the buyer the invoice as PDF and XML (数电 files are named dzfp_<number>_...)."""
    from fapiao.invoices.documents import invoice_pdf, invoice_xml

    invoice = Invoice.objects.select_related("seller_org").get(pk=invoice_id)
    if not invoice.buyer_email:
        return
    stem = f"dzfp_{invoice.number}_{invoice.buyer_name}_{invoice.issued_at:%Y%m%d%H%M%S}"
    # In the recipient's language when the address is a user's of the platform; else Chinese.
    with translation.override(language_of_email(invoice.buyer_email)):
        values = {
            "prefix": subject_prefix(),
            "seller": invoice.seller_name,
            "buyer": invoice.buyer_name,
            "number": invoice.number,
            "date": f"{invoice.issue_date:%Y-%m-%d}",
            "total": invoice.total,
        }
        if invoice.is_red:
            subject = _("%(prefix)s%(seller)s 向您开具了电子红字发票 %(number)s") % values
            opening = (
                _(
                    "%(seller)s 于 %(date)s 向 %(buyer)s 开具了电子红字发票，号码 %(number)s，"
                    "价税合计 ¥%(total)s。"
                )
                % values
            )
        else:
            subject = _("%(prefix)s%(seller)s 向您开具了电子发票 %(number)s") % values
            opening = (
                _(
                    "%(seller)s 于 %(date)s 向 %(buyer)s 开具了电子发票，号码 %(number)s，"
                    "价税合计 ¥%(total)s。"
                )
                % values
            )
        body = "\n\n".join(
            [
                _("您好："),
                opening,
                _("发票的 PDF 和 XML 文件见附件，可在全国增值税发票查验平台或本平台查验。"),
                _("——发票平台"),
            ]
        )
    message = EmailMessage(subject=subject, body=body, to=[invoice.buyer_email])
    message.attach(f"{stem}.pdf", invoice_pdf(invoice), "application/pdf")
    message.attach(f"{stem}.xml", invoice_xml(invoice), "application/xml")
    message.send()
    with transaction.atomic():
        event_record(
            code=EventCode.INVOICE_EMAILED,
            organization=invoice.seller_org,
            obj=invoice,
            actor_label="系统",
            description=f"已将发票 {invoice.number} 发送至 {invoice.buyer_email}",
            details={"to": invoice.buyer_email},
        )


@task()
def red_letter_lapse(*, request_id: int) -> None:
    """Run when a 红字确认单's 72 hours are up: void it if the counterparty never answered."""
    from fapiao.invoices.services import red_letter_lapse_overdue

    red_letter_lapse_overdue(request_ids=[request_id])
