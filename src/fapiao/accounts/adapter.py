from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.utils.translation import gettext_lazy as _

from fapiao.accounts.phones import normalize_mobile
from fapiao.accounts.sms import send_sms


class MobileField(forms.CharField):
    """A mainland mobile number as people type it; cleans to the 11 digits."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("手机号码"))
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"autocomplete": "tel", "type": "tel", "inputmode": "tel"}),
        )
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        mobile = normalize_mobile(value)
        if mobile is None:
            raise forms.ValidationError(_("请输入 11 位中国大陆手机号码。"), code="invalid_phone")
        return mobile


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return True

    def get_login_redirect_url(self, request):
        from fapiao.accounts.models import Invitation

        token = request.session.get("fapiao_invitation")
        if token and Invitation.objects.filter(token=token).exists():
            from django.urls import reverse

            return reverse("invitation_accept", args=[token])
        return super().get_login_redirect_url(request)

    def format_email_subject(self, subject) -> str:
        from fapiao.accounts.language import subject_prefix

        return f"{subject_prefix()}{subject}"

    def send_mail(self, template_prefix, email, context):
        """allauth's e-mails (address confirmation, password reset...) in the language of the
        account the address belongs to; an address not yet on the platform gets the language
        of the page it was typed on."""
        from django.utils import translation

        from fapiao.accounts.language import language_of_email

        language = language_of_email(email, default=translation.get_language())
        with translation.override(language):
            return super().send_mail(template_prefix, email, context)

    # Mobile numbers: users sign in with their email or their mobile number.
    def phone_form_field(self, **kwargs):
        return MobileField(**kwargs)

    def clean_phone(self, phone: str) -> str:
        return normalize_mobile(phone) or phone

    def get_phone(self, user):
        return (user.mobile, True) if user.mobile else None

    def set_phone(self, user, phone: str, verified: bool) -> None:
        user.mobile = normalize_mobile(phone) or phone
        user.save(update_fields=["mobile"])

    def set_phone_verified(self, user, phone: str) -> None:
        pass  # numbers are checked by the SMS code when it matters (password reset)

    def get_user_by_phone(self, phone: str):
        from fapiao.accounts.models import User

        mobile = normalize_mobile(phone)
        return User.objects.filter(mobile=mobile, is_active=True).first() if mobile else None

    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs) -> None:
        send_sms(
            phone,
            _("【发票平台】您的验证码是 %(code)s，10 分钟内有效。如非本人操作，请忽略。")
            % {"code": code},
        )

    def send_password_reset_mail(self, user, email, context):
        from fapiao.audit.events import EventCode
        from fapiao.audit.services import event_record

        event_record(
            code=EventCode.ACCOUNT_PASSWORD_RESET_REQUESTED,
            actor=user,
            actor_label=str(user),
            details={"channel": "email"},
        )
        return super().send_password_reset_mail(user, email, context)
