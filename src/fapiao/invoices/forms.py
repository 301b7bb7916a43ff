"""Forms of the issuing pages (开具): the catalogue, the buyer directory, the draft with its line
rows, review and red-letter requests.

The rules themselves live in `fapiao.rules` and `services.lines_prepare`; what is here turns what
the browser posts into what the services take, and their problems back into per-field messages.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from fapiao.accounts.models import Organization
from fapiao.invoices import services
from fapiao.invoices.models import Buyer, Draft, Item, RedLetterReason
from fapiao.invoices.services import InvoiceError
from fapiao.rules import Problem, tax, uscc

TYPE_CHOICES = [("31", _("数电专票（增值税专用发票）")), ("32", _("数电普票（普通发票）"))]
EXEMPT_CHOICES = [
    (tax.TaxExemption.EXEMPT.label, tax.TaxExemption.EXEMPT.label),
    (tax.TaxExemption.NOT_TAXABLE.label, tax.TaxExemption.NOT_TAXABLE.label),
]
RATE_CHOICES = [
    (tax.percent(rate.value), tax.percent(rate.value)) for rate in tax.RATES
] + EXEMPT_CHOICES
_RATE_VALUES = {value for value, _label in RATE_CHOICES}
DEFAULT_RATE = "13%"
LINE_FIELDS = ("name", "tax_code", "spec", "unit", "quantity", "unit_price", "money", "rate")
# Where a problem of `lines[i].<field>` shows in a row: the amount and the total share one input.
LINE_SLOTS = {
    "name": "name",
    "tax_code": "tax_code",
    "spec": "spec",
    "unit": "unit",
    "quantity": "quantity",
    "unit_price": "unit_price",
    "amount": "money",
    "total": "money",
    "rate": "rate",
    "tax": "tax",
}
SLOTS = ("name", "tax_code", "spec", "unit", "quantity", "unit_price", "money", "rate", "tax")
_LINE_FIELD = re.compile(r"^lines\[(\d+)\](?:\.(\w+))?$")
_ROW_PREFIX = re.compile(r"^(?:第\s*\d+\s*行[：:，,]?|Row \d+:)\s*")


def rate_choice(rate: Decimal, exemption: str = "") -> str:
    """The option of the rate select for a stored rate and 免税/不征税 flag."""
    try:
        flag = tax.TaxExemption(exemption or tax.TaxExemption.NONE)
    except ValueError:
        flag = tax.TaxExemption.NONE
    if flag in (tax.TaxExemption.EXEMPT, tax.TaxExemption.NOT_TAXABLE):
        return flag.label
    return tax.percent(rate)


def plain(value: Decimal | None) -> str:
    """A quantity or unit price as typed: 2, 565, 2129.33663366337 (no trailing zeros)."""
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def without_row(message: str) -> str:
    """A line's message shown on its own field needs no '第 2 行：' in front."""
    return _ROW_PREFIX.sub("", message)


def price_including_tax(unit_price: Decimal | None, rate: Decimal) -> Decimal | None:
    if unit_price is None:
        return None
    value = unit_price * (1 + rate)
    return value.quantize(Decimal("0.000001")).normalize()


# --- catalogue and buyer directory ---------------------------------------------------------


class ItemForm(forms.ModelForm):
    rate_choice = forms.ChoiceField(
        label=_("税率/征收率"), choices=RATE_CHOICES, initial=DEFAULT_RATE
    )

    class Meta:
        model = Item
        fields = ["category", "name", "tax_code", "spec", "unit", "unit_price"]
        labels = {"unit_price": _("默认单价（不含税）")}
        help_texts = {"category": _("如“信息技术服务”，开票时显示为 *信息技术服务*名称")}

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        if self.instance.pk:
            self.initial["rate_choice"] = rate_choice(self.instance.rate, self.instance.exemption)

    def clean_category(self):
        value = self.cleaned_data["category"].strip().strip("*")
        if "*" in value:
            raise forms.ValidationError(_("分类简称中不能含有“*”。"))
        return value

    def clean_name(self):
        value = self.cleaned_data["name"].strip()
        if "*" in value:
            raise forms.ValidationError(_("名称中不能含有“*”，分类简称请填在上一栏。"))
        return value

    def clean_tax_code(self):
        value = self.cleaned_data["tax_code"].strip()
        if not (len(value) == 19 and value.isdigit()):
            raise forms.ValidationError(_("税收分类编码应为 19 位数字。"))
        return value

    def clean_unit_price(self):
        value = self.cleaned_data["unit_price"]
        if value is not None and value < 0:
            raise forms.ValidationError(_("单价不能为负数。"))
        return value

    def clean(self):
        cleaned = super().clean()
        key = {k: cleaned.get(k) for k in ("category", "name")}
        if all(key.values()):
            others = Item.objects.filter(
                organization=self.organization, spec=cleaned.get("spec", ""), **key
            ).exclude(pk=self.instance.pk)
            if others.exists():
                self.add_error("name", _("目录中已有同分类、同名称、同规格的商品。"))
        if "rate_choice" in cleaned:
            rate, exemption = tax.parse_rate_or_exemption(cleaned["rate_choice"])
            self.instance.rate = rate
            self.instance.exemption = "" if exemption is tax.TaxExemption.NONE else str(exemption)
        return cleaned

    def save(self, commit=True):
        self.instance.organization = self.organization
        return super().save(commit)


class BuyerForm(forms.ModelForm):
    """A 抬头: a malformed tax ID is refused; a failed check character only warned about."""

    class Meta:
        model = Buyer
        fields = ["name", "tax_id", "address", "phone", "bank_name", "bank_account", "email"]
        help_texts = {"tax_id": _("个人可留空")}

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.tax_id_warning = ""

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_tax_id(self):
        raw = self.cleaned_data["tax_id"].strip()
        if not raw:
            return ""
        check = uscc.check(raw)
        if not check.well_formed:
            raise forms.ValidationError(check.message)
        if check.checksum_ok is False:
            self.tax_id_warning = check.message
        return check.normalized

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("name"):
            others = Buyer.objects.filter(
                organization=self.organization,
                name=cleaned["name"],
                tax_id=cleaned.get("tax_id", ""),
            ).exclude(pk=self.instance.pk)
            if others.exists():
                self.add_error("name", _("目录中已有同名称、同税号的购买方。"))
        return cleaned

    def save(self, commit=True):
        self.instance.organization = self.organization
        return super().save(commit)


# --- the draft -----------------------------------------------------------------------------


class DraftForm(forms.Form):
    """The header of a draft; its lines come as parallel lists (see `LineRow`)."""

    type_code = forms.ChoiceField(
        label=_("发票类型"), choices=TYPE_CHOICES, initial="31", widget=forms.RadioSelect
    )
    buyer_name = forms.CharField(label=_("名称"), max_length=200, required=False)
    buyer_tax_id = forms.CharField(
        label=_("统一社会信用代码/纳税人识别号"), max_length=26, required=False
    )
    buyer_address = forms.CharField(label=_("地址"), max_length=200, required=False)
    buyer_phone = forms.CharField(label=_("电话"), max_length=40, required=False)
    buyer_bank_name = forms.CharField(label=_("开户银行"), max_length=100, required=False)
    buyer_bank_account = forms.CharField(label=_("银行账号"), max_length=40, required=False)
    buyer_email = forms.EmailField(label=_("收票邮箱"), required=False)
    remarks = forms.CharField(
        label=_("备注"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    template_name = forms.CharField(label=_("模板名称"), max_length=100, required=False)

    @classmethod
    def for_draft(cls, draft: Draft) -> "DraftForm":
        initial = {name: getattr(draft, name) for name in cls.base_fields if name != "type_code"}
        initial["type_code"] = draft.type_code
        return cls(initial=initial)

    def buyer(self) -> dict:
        data = self.cleaned_data
        return {
            key: data.get(f"buyer_{key}", "")
            for key in ("name", "tax_id", "address", "phone", "bank_name", "bank_account", "email")
        }


@dataclass
class LineRow:
    """One row of the line table as the user typed it. `money` is the amount excluding tax on a
    不含税 row and the 价税合计 on a 含税 row."""

    name: str = ""
    tax_code: str = ""
    spec: str = ""
    unit: str = ""
    quantity: str = ""
    unit_price: str = ""
    money: str = ""
    rate: str = DEFAULT_RATE
    inclusive: bool = False
    item_id: str = ""
    index: int = 0
    calc: tax.LineCalc | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_blank(self) -> bool:
        return not any(getattr(self, name).strip() for name in LINE_FIELDS if name != "rate")

    @property
    def rate_is_custom(self) -> bool:
        return self.rate not in _RATE_VALUES

    def raw(self, *, inclusive: bool | None = None) -> dict:
        """The line as `services.lines_prepare` takes it."""
        inclusive = self.inclusive if inclusive is None else inclusive
        return {
            "name": self.name.strip(),
            "tax_code": self.tax_code.strip(),
            "spec": self.spec.strip(),
            "unit": self.unit.strip(),
            "quantity": self.quantity.strip(),
            "unit_price": self.unit_price.strip(),
            "total" if inclusive else "amount": self.money.strip(),
            "rate": self.rate,
            "item_id": int(self.item_id) if self.item_id.isdigit() else None,
        }

    def slot_errors(self) -> list[tuple[str, str]]:
        return [(slot, "；".join(self.errors.get(slot, []))) for slot in SLOTS]


def line_rows_from_post(data, organization: Organization) -> list[LineRow]:
    """The rows of a posted draft form, in order; item ids of other organizations are dropped."""
    columns = {name: data.getlist(f"line_{name}") for name in (*LINE_FIELDS, "mode", "item_id")}
    count = len(columns["name"])
    rows = []
    for index in range(count):

        def value(name: str, index: int = index) -> str:
            values = columns[name]
            return values[index] if index < len(values) else ""

        rows.append(
            LineRow(
                **{name: value(name) for name in LINE_FIELDS},
                inclusive=value("mode") == "incl",
                item_id=value("item_id"),
                index=index,
            )
        )
    ids = {int(row.item_id) for row in rows if row.item_id.isdigit()}
    known = {
        str(pk)
        for pk in Item.objects.filter(organization=organization, pk__in=ids).values_list(
            "pk", flat=True
        )
    }
    for row in rows:
        if row.item_id not in known:
            row.item_id = ""
    return rows


def line_rows_from_draft(draft: Draft) -> list[LineRow]:
    """A saved draft's lines as rows. A draft entered (partly) including tax shows every row as
    含税 with its 价税合计: the services store one entry mode per draft, and an amount excluding
    tax converts to its total and back without loss."""
    rows = []
    for index, line in enumerate(draft.lines.all()):
        total = line.amount + line.tax
        unit_price = line.unit_price
        if draft.prices_include_tax:
            unit_price = None
            if line.quantity:
                incl = (total / line.quantity).quantize(Decimal("0.000001")).normalize()
                if tax.round2(incl * line.quantity) == total:
                    unit_price = incl
        rows.append(
            LineRow(
                name=line.name,
                tax_code=line.tax_code,
                spec=line.spec,
                unit=line.unit,
                quantity=plain(line.quantity),
                unit_price=plain(unit_price),
                money=f"{total if draft.prices_include_tax else line.amount:f}",
                rate=rate_choice(line.rate, line.exemption),
                inclusive=draft.prices_include_tax,
                item_id=str(line.item_id or ""),
                index=index,
            )
        )
    return rows


@dataclass
class LinesResult:
    rows: list[LineRow]
    general: list[str]  # problems of no single row: no lines, the accumulated tax difference
    service_lines: list[dict]  # what to pass to services.draft_save
    prices_include_tax: bool
    totals: tax.Totals | None

    @property
    def ok(self) -> bool:
        return not self.general and not any(row.errors for row in self.rows)


def lines_compute(rows: list[LineRow]) -> LinesResult:
    """Compute and check every row, each in its own entry mode, then the invoice as a whole.

    The services take one mode per draft. A draft mixing 含税 and 不含税 rows goes to them as
    含税: each 不含税 row as its total (amount + tax), which `line_from_inclusive` turns back into
    exactly the same amount and tax (the rounding error of the tax is under half a fen, less
    than the half fen that would move the amount).
    """
    filled = [row for row in rows if not row.is_blank]
    for row in filled:
        try:
            (prepared,) = services.lines_prepare([row.raw()], prices_include_tax=row.inclusive)
        except InvoiceError as error:
            _assign(error.problems, [row], general=None)
        else:
            row.calc = prepared.calc
    general: list[str] = []
    inclusive = any(row.inclusive for row in filled)
    service_lines = [
        row.raw()
        if row.inclusive or not inclusive or row.calc is None
        else {**row.raw(inclusive=True), "unit_price": "", "total": f"{row.calc.total:f}"}
        for row in filled
    ]
    if not any(row.errors for row in filled):
        try:
            services.lines_prepare(service_lines, prices_include_tax=inclusive)
        except InvoiceError as error:
            _assign(error.problems, filled, general=general)
    calcs = [row.calc for row in filled if row.calc is not None]
    totals = tax.invoice_totals(calcs) if calcs else None
    return LinesResult(rows, general, service_lines, inclusive, totals)


def _assign(problems: list[Problem], rows: list[LineRow], *, general: list[str] | None) -> None:
    for problem in problems:
        match = _LINE_FIELD.match(problem.field or "")
        if match and int(match.group(1)) < len(rows):
            row = rows[int(match.group(1))]
            slot = LINE_SLOTS.get(match.group(2) or "", "name")
            row.errors.setdefault(slot, []).append(without_row(problem.message))
        elif general is not None:
            general.append(problem.message)
        else:
            rows[0].errors.setdefault("name", []).append(without_row(problem.message))


def errors_by_field(error: InvoiceError, rows: list[LineRow]) -> dict[str, list[str]]:
    """Spread a service's problems over the form: line problems onto the rows (by the order of
    the filled rows), the rest returned by field name ('buyer_tax_id', '__all__'...)."""
    filled = [row for row in rows if not row.is_blank]
    others: dict[str, list[str]] = {}
    for problem in error.problems:
        match = _LINE_FIELD.match(problem.field or "")
        if match and int(match.group(1)) < len(filled):
            row = filled[int(match.group(1))]
            slot = LINE_SLOTS.get(match.group(2) or "", "name")
            row.errors.setdefault(slot, []).append(without_row(problem.message))
        else:
            others.setdefault(problem.field or "__all__", []).append(problem.message)
    return others


# --- review and red letters ----------------------------------------------------------------


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("退回原因"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("请填写退回原因。")},
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("请填写退回原因。"))
        return reason


class RedLetterForm(forms.Form):
    """红字确认单: a reason, and either the whole remaining amount or an amount per line."""

    reason = forms.ChoiceField(
        label=_("红冲原因"),
        choices=[("", _("请选择")), *RedLetterReason.choices],
        error_messages={"required": _("请选择红冲原因。")},
    )
    scope = forms.ChoiceField(
        label=_("红冲范围"),
        choices=[("full", _("全额红冲")), ("partial", _("部分红冲"))],
        initial="full",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, positions: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.positions = positions
        for position in positions:
            self.fields[f"line_{position}"] = forms.DecimalField(
                label=_("第 %(position)s 行红冲金额") % {"position": position},
                required=False,
                min_value=Decimal("0.00"),
                decimal_places=2,
                max_digits=18,
                error_messages={
                    "invalid": _("请输入金额。"),
                    "min_value": _("红冲金额不能为负数。"),
                    "max_decimal_places": _("金额最多两位小数。"),
                },
            )

    def line_amounts(self) -> dict[int, Decimal] | None:
        """None for a full red letter; else position → amount excluding tax to reverse."""
        if self.cleaned_data["scope"] == "full":
            return None
        amounts = {}
        for position in self.positions:
            value = self.cleaned_data.get(f"line_{position}")
            if value:
                amounts[position] = value
        return amounts

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == "partial" and not any(
            cleaned.get(f"line_{p}") for p in self.positions
        ):
            raise forms.ValidationError(_("部分红冲时，请至少填写一行的红冲金额。"))
        return cleaned
