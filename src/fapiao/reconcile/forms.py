"""Forms of the reconciliation pages: the upload with its period and side, the column mapping."""

from django import forms
from django.utils.translation import gettext_lazy as _

from fapiao.reconcile import ledger
from fapiao.reconcile.models import Side


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("台账文件（CSV 或 Excel）"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
        error_messages={"required": _("请选择台账文件"), "empty": _("文件为空（0 字节）")},
    )
    side = forms.ChoiceField(label=_("方向"), choices=Side.choices, initial=Side.BOTH)
    date_from = forms.DateField(
        label=_("起始日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("请输入有效的日期，如 2025-01-01")},
    )
    date_to = forms.DateField(
        label=_("截止日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("请输入有效的日期，如 2025-12-31")},
    )

    def clean(self):
        data = super().clean()
        start, stop = data.get("date_from"), data.get("date_to")
        if start and stop and start > stop:
            self.add_error("date_to", _("截止日期早于起始日期"))
        return data


class MappingForm(forms.Form):
    """One select per ledger field: which of the file's columns holds it."""

    def __init__(self, *args, columns: list[str], initial_mapping: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("（文件中没有）"))] + [(c, c) for c in columns if c]
        for key in ledger.FIELD_KEYS:
            self.fields[f"map_{key}"] = forms.ChoiceField(
                label=ledger.LABELS[key],
                required=False,
                choices=choices,
                initial=initial_mapping.get(key, ""),
            )

    def mapping(self) -> dict[str, str]:
        return {
            key: self.cleaned_data[f"map_{key}"]
            for key in ledger.FIELD_KEYS
            if self.cleaned_data.get(f"map_{key}")
        }

    def field_rows(self):
        for key in ledger.FIELD_KEYS:
            yield key, key in ledger.REQUIRED, self[f"map_{key}"]
