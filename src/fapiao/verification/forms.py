"""Forms of the verification pages: by fields (the inputs follow the type), by file, batch,
claims, authentication requests and the staff decision.

Values are read as text here and judged by the services: a malformed value is a verification
with the result 格式不正确, not a form error; only what is missing stops the form.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fapiao.rules import numbers
from fapiao.rules.numbers import NumberInfo
from fapiao.rules.types import VerificationInput
from fapiao.verification import compare, files
from fapiao.verification.services import CheckedAttachment, TypedInput, Upload, attachments_check

TEXT = {"autocomplete": "off", "spellcheck": "false"}


@dataclass(frozen=True)
class TypeInputs:
    """What the form asks for, derived from the code and number typed so far."""

    info: NumberInfo | None
    needed: VerificationInput | None
    label: str  # the type, as the user knows it
    digital: bool
    problems: tuple[str, ...]

    @property
    def known(self) -> bool:
        return self.info is not None and self.info.ok

    def shows(self, name: str) -> bool:
        """Only the field the type needs; either of amount and check code for an unknown type;
        none until a well-formed number is typed."""
        if not self.known:
            return False
        if self.needed is not None:
            return compare.INPUT_FIELDS[self.needed] == name
        return name in ("amount", "check_code")

    @property
    def show_amount(self) -> bool:
        return self.shows("amount")

    @property
    def show_check_code(self) -> bool:
        return self.shows("check_code")

    @property
    def show_total(self) -> bool:
        return self.shows("total")


def type_inputs(code: str, number: str) -> TypeInputs:
    if not (code or "").strip() and not (number or "").strip():
        return TypeInputs(None, None, "", False, ())
    info = numbers.parse(code or None, number or None, today=timezone.localdate())
    problems = tuple(p.message for p in info.problems if not p.is_warning)
    digital = info.kind is numbers.NumberKind.DIGITAL
    needed = compare.required_input(info) if info.ok else None
    return TypeInputs(info, needed, compare.type_label(info), digital, problems)


class FieldsForm(forms.Form):
    code = forms.CharField(
        label=_("发票代码"), required=False, max_length=40, widget=forms.TextInput(attrs=TEXT)
    )
    number = forms.CharField(
        label=_("发票号码"),
        max_length=40,
        widget=forms.TextInput(attrs=TEXT),
        error_messages={"required": _("请填写发票号码")},
    )
    issue_date = forms.CharField(
        label=_("开票日期"),
        max_length=20,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": _("请填写开票日期")},
    )
    amount = forms.CharField(
        label=_("金额（不含税）"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={**TEXT, "inputmode": "decimal"}),
    )
    check_code = forms.CharField(
        label=_("校验码后六位"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={**TEXT, "inputmode": "numeric", "maxlength": "6"}),
    )
    total = forms.CharField(
        label=_("价税合计"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={**TEXT, "inputmode": "decimal"}),
    )

    def clean(self):
        data = super().clean()
        inputs = type_inputs(data.get("code", ""), data.get("number", ""))
        if inputs.known and inputs.needed is not None:
            name = compare.INPUT_FIELDS[inputs.needed]
            if not (data.get(name) or "").strip():
                self.add_error(
                    name,
                    _("%(type)s查验须填写%(field)s")
                    % {"type": inputs.label, "field": self.fields[name].label},
                )
        elif inputs.known and not any(
            (data.get(n) or "").strip() for n in ("amount", "check_code")
        ):
            self.add_error("amount", _("请填写金额（不含税）或校验码后六位"))
        return data

    def typed(self) -> TypedInput:
        data = self.cleaned_data
        return TypedInput(
            code=data.get("code", ""),
            number=data.get("number", ""),
            issue_date=data.get("issue_date", ""),
            amount=data.get("amount", ""),
            check_code=data.get("check_code", ""),
            total=data.get("total", ""),
        )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name; cleans to a list (empty when none was chosen)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": files.ACCEPT_ATTRIBUTE}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def uploads_from(field_files, errors: list[str]) -> list[Upload]:
    """Checked uploads (size and kind); each refused file adds its reason to `errors`."""
    found = []
    total = 0
    for uploaded in field_files:
        name = uploaded.name or "file"
        problem = files.upload_problem(name, uploaded.size or 0, files.head_of(uploaded))
        if problem:
            errors.append(problem)
            continue
        total += uploaded.size
        if total > files.MAX_BATCH_BYTES:
            errors.append(
                _("文件合计超过 %(size)s，请分批上传")
                % {"size": files.human_size(files.MAX_BATCH_BYTES)}
            )
            break
        found.append(Upload(name, files.read_upload(uploaded)))
    return found


class FileForm(forms.Form):
    file = forms.FileField(
        label=_("发票文件"),
        widget=forms.ClearableFileInput(attrs={"accept": files.ACCEPT_ATTRIBUTE}),
        error_messages={"required": _("请选择要查验的发票文件"), "empty": _("文件为空（0 字节）")},
    )

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        errors: list[str] = []
        self.upload = (uploads_from([uploaded], errors) or [None])[0]
        if errors:
            raise forms.ValidationError(errors)
        return uploaded


class BatchForm(forms.Form):
    files = MultipleFileField(label=_("发票文件或 ZIP 压缩包"))

    def clean_files(self):
        chosen = self.cleaned_data["files"]
        if not chosen:
            raise forms.ValidationError(_("请选择要查验的文件"))
        errors: list[str] = []
        self.uploads = uploads_from(chosen, errors)
        if errors:
            raise forms.ValidationError(errors)
        return chosen


class ClaimForm(forms.Form):
    note = forms.CharField(label=_("备注（报销单号等）"), required=False, max_length=200)


class AuthRequestForm(forms.Form):
    title = forms.CharField(
        label=_("申请事项"),
        max_length=100,
        error_messages={"required": _("请填写申请事项")},
        widget=forms.TextInput(attrs={"placeholder": _("例如：2026 年 11 月差旅费发票认证")}),
    )
    note = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    invoice_files = MultipleFileField(label=_("发票文件"))
    support_files = MultipleFileField(label=_("证明材料（合同、付款凭证等，可选）"))
    require_invoice = True

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        errors: list[str] = []
        invoice_uploads = uploads_from(data.get("invoice_files") or [], errors)
        support_uploads = uploads_from(data.get("support_files") or [], errors)
        if errors:
            raise forms.ValidationError(errors)
        self.attachments: list[CheckedAttachment]
        self.attachments, problems = attachments_check(
            invoice_files=invoice_uploads,
            support_files=support_uploads,
            require_invoice=self.require_invoice,
        )
        if problems:
            raise forms.ValidationError(problems)
        return data


class SupplementForm(AuthRequestForm):
    require_invoice = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["title"]
        self.fields["note"].label = _("补充说明")


class DecisionForm(forms.Form):
    DECISIONS = [
        ("approve", _("通过（附查验报告）")),
        ("more_info", _("要求补充材料")),
        ("reject", _("驳回")),
    ]
    decision = forms.ChoiceField(label=_("处理"), choices=DECISIONS, widget=forms.RadioSelect)
    message = forms.CharField(
        label=_("意见（驳回原因或需补充的材料）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        data = super().clean()
        if (
            data.get("decision") in ("reject", "more_info")
            and not (data.get("message") or "").strip()
        ):
            self.add_error(
                "message",
                _("请填写驳回原因") if data["decision"] == "reject" else _("请填写需要补充的材料"),
            )
        return data
