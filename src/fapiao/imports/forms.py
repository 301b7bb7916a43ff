"""Forms of the import pages: the upload, and the column mapping."""

from django import forms
from django.utils.translation import gettext_lazy as _

from fapiao.imports import fields
from fapiao.rules import types


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV 或 Excel 文件"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
        error_messages={"required": _("请选择要导入的文件"), "empty": _("文件为空（0 字节）")},
    )


def _type_choices() -> list[tuple[str, str]]:
    return [("", _("（按文件中的发票类型）"))] + [
        (t.code, f"{t.code} {t.name}") for t in types.all_types(types.Channel.QR)
    ]


class MappingForm(forms.Form):
    """One select per field: which of the file's columns holds it."""

    default_type = forms.ChoiceField(
        label=_("文件中没有发票类型时，按此类型导入"), required=False, choices=_type_choices
    )

    def __init__(self, *args, columns: list[str], initial_mapping: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("（文件中没有）"))] + [(c, c) for c in columns if c]
        for f in fields.FIELDS:
            self.fields[f"map_{f.key}"] = forms.ChoiceField(
                label=f.label,
                required=False,
                choices=choices,
                initial=initial_mapping.get(f.key, ""),
            )
        self.order_fields([f"map_{f.key}" for f in fields.FIELDS] + ["default_type"])

    def mapping(self) -> dict[str, str]:
        return {
            f.key: self.cleaned_data[f"map_{f.key}"]
            for f in fields.FIELDS
            if self.cleaned_data.get(f"map_{f.key}")
        }

    def field_rows(self):
        for f in fields.FIELDS:
            yield f, self[f"map_{f.key}"]
