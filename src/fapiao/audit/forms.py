from django import forms
from django.utils.translation import gettext_lazy as _

from fapiao.accounts.models import Organization
from fapiao.audit.events import DESCRIPTIONS, EventCode
from fapiao.audit.selectors import organization_members

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} <{obj.email}>" if obj.name else obj.email


class EventFilterForm(forms.Form):
    """The filter of the organization's operation log (GET parameters, shared by the export)."""

    actor = MemberChoiceField(
        label=_("操作人"), queryset=None, required=False, empty_label=_("全部人员")
    )
    code = forms.ChoiceField(label=_("事件"), required=False)
    date_from = forms.DateField(label=_("开始日期"), required=False, widget=DATE_WIDGET)
    date_to = forms.DateField(label=_("结束日期"), required=False, widget=DATE_WIDGET)

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].queryset = organization_members(organization=organization)
        self.fields["code"].choices = [("", _("全部事件"))] + [
            (code.value, DESCRIPTIONS[code]) for code in EventCode
        ]

    def clean(self):
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("结束日期不能早于开始日期。"))
        return data

    def filters(self) -> dict:
        """Keyword arguments for `events_for_organization`, from the fields that are valid."""
        data = getattr(self, "cleaned_data", {})
        actor = data.get("actor")
        return {
            "actor_id": actor.pk if actor else None,
            "code": data.get("code") or None,
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }

    def summary(self) -> dict:
        """The filter as recorded in the export event: only what was set, as plain values."""
        data = getattr(self, "cleaned_data", {})
        summary = {}
        if data.get("actor"):
            summary["actor"] = data["actor"].pk
            summary["actor_email"] = data["actor"].email
        if data.get("code"):
            summary["code"] = data["code"]
        for key in ("date_from", "date_to"):
            if data.get(key):
                summary[key] = data[key].isoformat()
        return summary
