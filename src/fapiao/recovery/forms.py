"""Forms of 补录: the application (the invoice's fields, the reason, evidence), evidence added
later, (re)submission, staff's decision. Typed values are parsed here; the rules' judgement of
them is the service's (`services.fields_check`)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from fapiao.recovery.models import EvidenceKind, RecoveryReason
from fapiao.recovery.services import EVIDENCE_ACCEPT, MAX_EVIDENCE_BYTES, EvidenceUpload
from fapiao.rules import types
from fapiao.rules.text import nfkc, to_decimal

# Query parameters the finder and others may prefill the form with → form fields.
PREFILL = {
    "number": "number",
    "code": "code",
    "date": "issue_date",
    "amount": "amount",
    "tax": "tax",
    "total": "total",
    "seller_tax_id": "seller_tax_id",
    "seller_name": "seller_name",
    "buyer_tax_id": "buyer_tax_id",
    "buyer_name": "buyer_name",
    "type_code": "type_code",
}
EVIDENCE_FIELDS = {
    "invoice_files": EvidenceKind.INVOICE,
    "contract_files": EvidenceKind.CONTRACT,
    "payment_files": EvidenceKind.PAYMENT,
    "other_files": EvidenceKind.OTHER,
}


def type_choices() -> list[tuple[str, str]]:
    return [("", _("（请选择）"))] + [
        (t.code, f"{t.code} {t.name}") for t in types.all_types(types.Channel.QR)
    ]


class MoneyField(forms.CharField):
    """An amount as typed ('1,234.50', '¥ 6.2', full-width digits) → Decimal."""

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        amount = to_decimal(text)
        if amount is None:
            raise forms.ValidationError(_("“%(text)s”不是金额"), params={"text": text})
        return amount


class LenientDateField(forms.DateField):
    input_formats = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日"]

    def to_python(self, value):
        if isinstance(value, str):
            value = nfkc(value).strip()
        return super().to_python(value)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": EVIDENCE_ACCEPT}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if not data:
            return []
        chosen = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(d, initial) for d in chosen]


def read_uploads(uploaded_files, kind: str, errors: list[str]) -> list[EvidenceUpload]:
    """The bytes of uploaded files (a file over the limit is refused before it is read)."""
    uploads = []
    for uploaded in uploaded_files:
        if uploaded.size > MAX_EVIDENCE_BYTES:
            errors.append(
                _("“%(name)s”过大（%(size).1f MB），单个文件不能超过 %(limit)s MB")
                % {
                    "name": uploaded.name,
                    "size": uploaded.size / 1024 / 1024,
                    "limit": MAX_EVIDENCE_BYTES // 1024 // 1024,
                }
            )
            continue
        uploaded.seek(0)
        uploads.append(EvidenceUpload(kind, uploaded.name, uploaded.read()))
    return uploads


class InvoiceFieldsForm(forms.Form):
    """The invoice's fields and the reason it is not on the platform."""

    ROLE_CHOICES = [("buyer", _("购买方（收到的发票）")), ("seller", _("销售方（开出的发票）"))]

    role = forms.ChoiceField(
        label=_("本单位是这张发票的"),
        choices=ROLE_CHOICES,
        required=False,
        widget=forms.RadioSelect,
    )
    type_code = forms.ChoiceField(label=_("发票种类"), choices=type_choices, required=False)
    code = forms.CharField(label=_("发票代码"), max_length=20, required=False)
    number = forms.CharField(
        label=_("发票号码"),
        max_length=40,
        error_messages={"required": _("请填写发票号码")},
    )
    issue_date = LenientDateField(
        label=_("开票日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("开票日期格式不正确，应为 YYYY-MM-DD")},
    )
    amount = MoneyField(label=_("金额（不含税）"), required=False)
    tax = MoneyField(label=_("税额"), required=False)
    total = MoneyField(label=_("价税合计"), required=False)
    seller_name = forms.CharField(label=_("销售方名称"), max_length=200, required=False)
    seller_tax_id = forms.CharField(label=_("销售方纳税人识别号"), max_length=30, required=False)
    buyer_name = forms.CharField(label=_("购买方名称"), max_length=200, required=False)
    buyer_tax_id = forms.CharField(label=_("购买方纳税人识别号"), max_length=30, required=False)
    check_code = forms.CharField(label=_("校验码"), max_length=20, required=False)
    remarks = forms.CharField(
        label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = forms.ChoiceField(
        label=_("平台上没有这张发票的原因"),
        choices=RecoveryReason.choices,
        initial=RecoveryReason.OFFLINE,
    )
    reason_note = forms.CharField(
        label=_("情况说明"),
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": _("例如：2026 年 10 月断网期间离线开具，恢复后未上传")}
        ),
    )

    def __init__(self, *args, organization, **kwargs):
        self.organization = organization
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        role = data.get("role")
        if role in ("seller", "buyer") and not (data.get(f"{role}_tax_id") or "").strip():
            data[f"{role}_tax_id"] = self.organization.tax_id
            if not (data.get(f"{role}_name") or "").strip():
                data[f"{role}_name"] = self.organization.name
        return data

    def invoice_data(self) -> dict:
        keys = ("type_code", "code", "number", "issue_date", "amount", "tax", "total",
                "seller_name", "seller_tax_id", "buyer_name", "buyer_tax_id", "check_code",
                "remarks")  # fmt: skip
        return {k: self.cleaned_data.get(k) for k in keys}

    @staticmethod
    def initial_from_query(query, organization) -> dict:
        initial: dict = {}
        for param, field in PREFILL.items():
            value = (query.get(param) or "").strip()[:200]
            if not value:
                continue
            if field == "issue_date":
                try:
                    initial[field] = dt.date.fromisoformat(value)
                except ValueError:
                    continue
            else:
                initial[field] = value
        if initial.get("seller_tax_id") == organization.tax_id:
            initial["role"] = "seller"
        elif initial.get("buyer_tax_id") == organization.tax_id:
            initial["role"] = "buyer"
        return initial


class ApplicationForm(InvoiceFieldsForm):
    """A new application: the fields, and the evidence uploaded at once."""

    invoice_files = MultipleFileField(label=_("发票文件（原件的 PDF、OFD、XML 或照片）"))
    contract_files = MultipleFileField(label=_("合同"))
    payment_files = MultipleFileField(label=_("付款记录（银行回单、转账截图）"))
    other_files = MultipleFileField(label=_("其他材料"))

    def clean(self):
        data = super().clean()
        errors: list[str] = []
        self.evidence: list[EvidenceUpload] = []
        for name, kind in EVIDENCE_FIELDS.items():
            self.evidence += read_uploads(data.get(name) or [], kind, errors)
        if errors:
            raise forms.ValidationError(errors)
        return data


class FromFileForm(forms.Form):
    file = forms.FileField(
        label=_("发票文件"),
        widget=forms.ClearableFileInput(attrs={"accept": EVIDENCE_ACCEPT}),
        error_messages={"required": _("请选择发票文件")},
    )


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(label=_("材料类别"), choices=EvidenceKind.choices)
    files = MultipleFileField(label=_("文件"))

    def clean(self):
        data = super().clean()
        errors: list[str] = []
        self.uploads = read_uploads(data.get("files") or [], data.get("kind") or "", errors)
        if errors:
            raise forms.ValidationError(errors)
        if not self.uploads and not self.errors:
            raise forms.ValidationError(_("请选择要上传的文件"))
        return data


class SubmitForm(forms.Form):
    note = forms.CharField(
        label=_("补充说明"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class DecisionForm(forms.Form):
    DECISIONS = [
        ("approve", _("通过（记录发票）")),
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
        decision = data.get("decision")
        if decision in ("reject", "more_info") and not (data.get("message") or "").strip():
            what = _("驳回原因") if decision == "reject" else _("需要补充的材料")
            self.add_error("message", _("请填写%(what)s") % {"what": what})
        return data
