"""The finder's form: whatever the user has, every field optional; or an invoice file."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from fapiao.finder.diagnosis import Basis, FinderQuery
from fapiao.rules.text import to_decimal
from fapiao.verification import files
from fapiao.verification.forms import uploads_from

BASIS_CHOICES = [
    (Basis.EITHER, _("不确定")),
    (Basis.TOTAL, _("价税合计（含税）")),
    (Basis.AMOUNT, _("金额（不含税）")),
]


class FinderForm(forms.Form):
    number = forms.CharField(label=_("发票号码"), required=False, max_length=60)
    code = forms.CharField(label=_("发票代码"), required=False, max_length=40)
    date = forms.DateField(
        label=_("开票日期"),
        required=False,
        error_messages={"invalid": _("开票日期无效，请按 2025-03-01 的格式填写。")},
    )
    amount = forms.CharField(label=_("金额"), required=False, max_length=30)
    basis = forms.ChoiceField(label=_("金额口径"), required=False, choices=BASIS_CHOICES)
    party = forms.CharField(label=_("销售方或购买方名称、税号"), required=False, max_length=200)

    def clean_amount(self):
        text = self.cleaned_data["amount"].strip()
        if not text:
            return None
        value = to_decimal(text)
        if value is None or abs(value) >= 10**15:
            raise forms.ValidationError(_("金额无效，请填写数字，例如 1060.00。"))
        if value != value.quantize(Decimal("0.01")):
            raise forms.ValidationError(_("金额最多两位小数。"))
        return value

    def clean(self):
        data = super().clean()
        if self.is_bound and not self.errors and FinderQuery(**self._query_fields(data)).empty:
            raise forms.ValidationError(_("请至少填写一项：发票号码、代码、日期、金额或交易方。"))
        return data

    @staticmethod
    def _query_fields(data) -> dict:
        return {
            "number": data.get("number") or "",
            "code": data.get("code") or "",
            "date": data.get("date"),
            "amount": data.get("amount"),
            "basis": data.get("basis") or Basis.EITHER,
            "party": (data.get("party") or "").strip(),
        }

    def query(self) -> FinderQuery:
        return FinderQuery(**self._query_fields(self.cleaned_data))


class FinderFileForm(forms.Form):
    file = forms.FileField(
        label=_("发票文件"),
        error_messages={"required": _("请选择发票文件"), "empty": _("文件为空（0 字节）")},
    )

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        errors: list[str] = []
        self.upload = (uploads_from([uploaded], errors) or [None])[0]
        if errors:
            raise forms.ValidationError(errors)
        if files.kind_of(self.upload.data, self.upload.name) == "zip":
            raise forms.ValidationError(_("请上传一张发票的文件，不要上传压缩包。"))
        return uploaded


def fields_from_extraction(invoice: dict) -> dict[str, str]:
    """The finder's fields, as text, from what the extraction read of a file."""
    date = invoice.get("issue_date")
    total = invoice.get("total")
    amount = invoice.get("amount")
    party = invoice.get("seller_tax_id") or invoice.get("seller_name") or ""
    fields = {
        "number": invoice.get("number") or "",
        "code": invoice.get("code") or "",
        "date": date.isoformat() if hasattr(date, "isoformat") else str(date or ""),
        "amount": "",
        "basis": Basis.EITHER,
        "party": party,
    }
    if total is not None:
        fields["amount"], fields["basis"] = str(total), Basis.TOTAL
    elif amount is not None:
        fields["amount"], fields["basis"] = str(amount), Basis.AMOUNT
    return fields
