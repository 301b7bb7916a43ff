from django import forms
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from fapiao.accounts.adapter import MobileField
from fapiao.accounts.models import Organization, Role, User
from fapiao.accounts.phones import normalize_mobile
from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record
from fapiao.rules import uscc

INVITATION_SESSION_KEY = "fapiao_invitation"


class RegistrationForm(forms.Form):
    """The fields allauth's sign-up form gains: the person and their company.

    A company already on the platform is not created twice: the registrant asks to join it and
    its admin decides. Someone registering through an invitation gives no company.
    """

    name = forms.CharField(label=_("真实姓名"), max_length=50)
    mobile = MobileField()
    company_name = forms.CharField(label=_("单位名称"), max_length=200, required=False)
    tax_id = forms.CharField(label=_("统一社会信用代码"), max_length=30, required=False)
    confirm_checksum = forms.BooleanField(
        label=_("代码校验位不符，但我已核对营业执照，确认无误"), required=False
    )

    field_order = [
        "name",
        "mobile",
        "email",
        "company_name",
        "tax_id",
        "confirm_checksum",
        "password1",
        "password2",
    ]

    def __init__(self, *args, **kwargs):
        self.request = kwargs.pop("request", None)
        super().__init__(*args, **kwargs)
        if "email" in self.fields:
            self.fields["email"].label = _("邮箱")
            self.fields["email"].widget.attrs["placeholder"] = _("用于登录和接收通知")
        self.existing_organization: Organization | None = None
        self.uscc_check = None

    @property
    def invited(self) -> bool:
        request = getattr(self, "request", None)
        return bool(request and request.session.get(INVITATION_SESSION_KEY))

    def clean_mobile(self):
        mobile = self.cleaned_data["mobile"]
        if User.objects.filter(mobile=mobile).exists():
            raise forms.ValidationError(_("该手机号码已注册，请直接登录或找回密码。"))
        return mobile

    def clean(self):
        cleaned = super().clean()
        if self.invited:
            return cleaned
        name, tax_id = cleaned.get("company_name", "").strip(), cleaned.get("tax_id", "")
        if not name:
            self.add_error("company_name", _("请填写单位名称（与营业执照一致）。"))
        if not tax_id.strip():
            self.add_error("tax_id", _("请填写统一社会信用代码。"))
            return cleaned
        check = uscc.check(tax_id)
        self.uscc_check = check
        if not check.well_formed:
            self.add_error("tax_id", check.message)
            return cleaned
        if check.kind != uscc.UsccKind.USCC and check.kind != uscc.UsccKind.LEGACY15:
            self.add_error("tax_id", _("请填写单位的统一社会信用代码（18 位）。"))
            return cleaned
        cleaned["tax_id"] = check.normalized
        self.existing_organization = Organization.objects.filter(tax_id=check.normalized).first()
        if (
            self.existing_organization is None
            and check.checksum_ok is False
            and not cleaned.get("confirm_checksum")
        ):
            self.add_error(
                "tax_id",
                _("%(problem)s。如已核对营业执照无误，请勾选下方确认框。")
                % {"problem": check.message},
            )
        return cleaned

    def signup(self, request, user: User) -> None:
        """Called by allauth once the user is saved: record the person and their company."""
        from fapiao.accounts import services

        with transaction.atomic():
            user.name = self.cleaned_data["name"].strip()
            user.mobile = normalize_mobile(self.cleaned_data["mobile"]) or ""
            user.save(update_fields=["name", "mobile"])
            event_record(
                code=EventCode.ACCOUNT_REGISTERED, actor=user, details={"email": user.email}
            )
            if request.session.get(INVITATION_SESSION_KEY):
                return  # accepted after email verification, from the invitation link
            if self.existing_organization is not None:
                services.join_request_create(user=user, organization=self.existing_organization)
                request.session["fapiao_join_pending"] = self.existing_organization.name
            else:
                services.organization_register(
                    user=user,
                    name=self.cleaned_data["company_name"],
                    tax_id=self.cleaned_data["tax_id"],
                )


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("邮箱"))
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices, initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices)


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "address", "phone", "bank_name", "bank_account"]


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    mobile = MobileField()
    language = forms.ChoiceField(
        label=_("语言"),
        choices=[("", _("跟随浏览器")), *settings.LANGUAGES],
        required=False,
        help_text=_("登录后的页面，以及发给您的邮件和站内消息使用的语言。"),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_mobile(self):
        mobile = self.cleaned_data["mobile"]
        if User.objects.filter(mobile=mobile).exclude(pk=self.user.pk).exists():
            raise forms.ValidationError(_("该手机号码已被其他账号使用。"))
        return mobile
