"""查询 pages: the organization's invoice list with its filters, and the list as an Excel file."""

import tempfile
from dataclasses import replace
from typing import IO

import xlsxwriter
from django import forms
from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from fapiao.accounts.models import Organization
from fapiao.accounts.permissions import Perm, org_required
from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record
from fapiao.core.excel import neutralised
from fapiao.core.templatetags.fapiao import money
from fapiao.invoices.models import Invoice, InvoiceSource, InvoiceStatus
from fapiao.invoices.query import (
    COUNT_LIMIT,
    DEFAULT_SORT,
    SORTS,
    AmountBasis,
    Cursor,
    Direction,
    InvoiceFilters,
    PartyRole,
    invoice_count,
    invoice_search,
    invoices_matching,
)
from fapiao.rules import types

EXPORT_MAX_ROWS = 200_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BAD_DATE = {"invalid": gettext_lazy("请输入有效的日期，例如 2025-03-01。")}
BAD_AMOUNT = {
    "invalid": gettext_lazy("请输入有效的金额，例如 1000 或 1000.50。"),
    "max_digits": gettext_lazy("金额过大。"),
    "max_whole_digits": gettext_lazy("金额过大。"),
    "max_decimal_places": gettext_lazy("金额最多两位小数。"),
}
BAD_CHOICE = {"invalid_choice": gettext_lazy("请从列表中选择。")}
BAD_POSITION = gettext_lazy("分页位置无效，已显示第一页。")
TOO_LONG = gettext_lazy("输入过长。")


def _type_choices() -> list[tuple[str, str]]:
    return [("", _("全部类型"))] + [(t.code, t.short_name) for t in types.all_types("qr")]


class InvoiceFilterForm(forms.Form):
    """The invoice list's filter, from GET parameters (shared by the list and its export)."""

    number = forms.CharField(
        label=gettext_lazy("发票号码/代码"),
        required=False,
        max_length=45,
        error_messages={"max_length": TOO_LONG},
    )
    date_from = forms.DateField(
        label=gettext_lazy("开始日期"),
        required=False,
        error_messages=BAD_DATE,
    )
    date_to = forms.DateField(
        label=gettext_lazy("结束日期"),
        required=False,
        error_messages=BAD_DATE,
    )
    amount_basis = forms.ChoiceField(
        label=gettext_lazy("金额口径"),
        required=False,
        choices=[
            (AmountBasis.TOTAL.value, gettext_lazy("价税合计")),
            (AmountBasis.AMOUNT.value, gettext_lazy("金额（不含税）")),
        ],
        error_messages=BAD_CHOICE,
    )
    amount_min = forms.DecimalField(
        label=gettext_lazy("最低金额"),
        required=False,
        max_digits=16,
        decimal_places=2,
        error_messages=BAD_AMOUNT,
    )
    amount_max = forms.DecimalField(
        label=gettext_lazy("最高金额"),
        required=False,
        max_digits=16,
        decimal_places=2,
        error_messages=BAD_AMOUNT,
    )
    status = forms.TypedChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", gettext_lazy("全部状态")), *InvoiceStatus.choices],
        error_messages=BAD_CHOICE,
    )
    type_code = forms.ChoiceField(
        label=gettext_lazy("发票类型"),
        required=False,
        choices=_type_choices,
        error_messages=BAD_CHOICE,
    )
    direction = forms.ChoiceField(
        label=gettext_lazy("方向"),
        required=False,
        choices=[
            (Direction.ALL.value, gettext_lazy("开具和取得")),
            (Direction.ISSUED.value, gettext_lazy("开具")),
            (Direction.RECEIVED.value, gettext_lazy("取得")),
        ],
        error_messages=BAD_CHOICE,
    )
    party_role = forms.ChoiceField(
        label=gettext_lazy("交易方"),
        required=False,
        choices=[
            (PartyRole.ANY.value, gettext_lazy("销售方或购买方")),
            (PartyRole.SELLER.value, gettext_lazy("销售方")),
            (PartyRole.BUYER.value, gettext_lazy("购买方")),
        ],
        error_messages=BAD_CHOICE,
    )
    party = forms.CharField(
        label=gettext_lazy("名称或纳税人识别号"),
        required=False,
        max_length=200,
        error_messages={"max_length": TOO_LONG},
    )
    item = forms.CharField(
        label=gettext_lazy("项目名称"),
        required=False,
        max_length=100,
        error_messages={"max_length": TOO_LONG},
    )
    sort = forms.ChoiceField(
        required=False, choices=[(s, s) for s in SORTS], error_messages=BAD_CHOICE
    )
    after = forms.CharField(required=False, max_length=80)
    before = forms.CharField(required=False, max_length=80)

    def clean_number(self) -> str:
        text = self.cleaned_data["number"].replace(",", " ").replace("，", " ")
        tokens = text.split()
        if len(tokens) > 2 or any(not _number_token_ok(token) for token in tokens):
            raise forms.ValidationError(
                _(
                    "发票号码、代码只能是数字；查号码开头几位可直接输入或在末尾加 *；"
                    "代码和号码之间用空格分开。"
                )
            )
        return " ".join(tokens)

    def clean(self):
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("结束日期不能早于开始日期。"))
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("最高金额不能低于最低金额。"))
        sort = data.get("sort") or DEFAULT_SORT
        for key in ("after", "before"):
            if data.get(key):
                try:
                    data[key] = Cursor.decode(data[key], sort)
                except ValueError:
                    self.add_error(key, BAD_POSITION)
        return data

    def controls(self) -> dict[str, dict]:
        """Per field: the text as typed, its errors and, for a choice, its options as (value,
        label, selected). The template writes the controls from these itself: Django's widget
        templates would cost a third of the page."""
        controls = {}
        for name, field in self.fields.items():
            raw = self.data.get(name, "") if self.is_bound else ""
            control = {"value": raw, "errors": self.errors.get(name, []) if self.is_bound else []}
            if isinstance(field, forms.ChoiceField):
                control["options"] = [
                    (str(value), label, str(value) == raw) for value, label in field.choices
                ]
            controls[name] = control
        return controls

    @property
    def only_position_is_wrong(self) -> bool:
        return set(self.errors) <= {"after", "before"}

    def filters(self) -> InvoiceFilters:
        """The filter from the fields that are valid; invalid ones are left out."""
        data = getattr(self, "cleaned_data", {})
        return InvoiceFilters(
            number=data.get("number") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            amount_min=data.get("amount_min"),
            amount_max=data.get("amount_max"),
            amount_basis=AmountBasis(data.get("amount_basis") or AmountBasis.TOTAL),
            status=data.get("status"),
            type_code=data.get("type_code") or "",
            direction=Direction(data.get("direction") or Direction.ALL),
            party=(data.get("party") or "").strip(),
            party_role=PartyRole(data.get("party_role") or PartyRole.ANY),
            item=(data.get("item") or "").strip(),
            sort=data.get("sort") or DEFAULT_SORT,
            after=data.get("after") or None,
            before=data.get("before") or None,
        )

    def summary(self) -> dict:
        """The filter as the export event records it: what was set, as plain values."""
        data = getattr(self, "cleaned_data", {})
        summary = {}
        for key, value in data.items():
            if key in ("after", "before") or value in (None, ""):
                continue
            summary[key] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return summary


def _number_token_ok(token: str) -> bool:
    digits = token[:-1] if token.endswith("*") else token
    return digits.isascii() and digits.isdigit() and len(digits) <= 20


def _filter_form(request) -> InvoiceFilterForm:
    form = InvoiceFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        if form.only_position_is_wrong:
            messages.warning(request, BAD_POSITION)
        else:
            messages.error(request, _("筛选条件有误，已忽略无效的条件，请检查后重试。"))
    return form


@require_safe
@org_required(Perm.VIEW)
def invoice_list(request):
    organization = request.organization
    form = _filter_form(request)
    filters = form.filters()
    page = invoice_search(organization=organization, filters=filters)
    links = {name: _url_maker(name) for name in ("invoice_detail", "invoice_pdf", "invoice_xml")}
    labels = {
        "issued": _("开具"),
        "received": _("取得"),
        "status": {value: str(label) for value, label in InvoiceStatus.choices},
    }
    rows = [_row(invoice, organization, links, labels) for invoice in page.invoices]
    name, descending = filters.sort.lstrip("-"), filters.sort.startswith("-")
    sorting = {
        key: {
            # A column sorts descending first; a second click turns it round.
            "next": key if key == name and descending else f"-{key}",
            "arrow": ("↓" if descending else "↑") if key == name else "",
        }
        for key in ("date", "number", "total")
    }
    return render(
        request,
        "invoices/list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "sorting": sorting,
            "count_text": _count_text(page.count),
            "red_label": _("红字"),
            "filtered": replace(filters, sort=DEFAULT_SORT, after=None, before=None)
            != InvoiceFilters(),
        },
    )


@require_safe
@org_required(Perm.VIEW)
def invoice_export(request):
    organization = request.organization
    form = InvoiceFilterForm(request.GET or None)
    back = reverse("invoice_list") + (f"?{request.GET.urlencode()}" if request.GET else "")
    if form.is_bound and not form.is_valid() and not form.only_position_is_wrong:
        return redirect(back)  # the list says what is wrong
    filters = form.filters()
    if invoice_count(organization=organization, filters=filters, limit=EXPORT_MAX_ROWS) > (
        EXPORT_MAX_ROWS
    ):
        messages.error(
            request,
            _("符合条件的发票超过 %(limit)s 张，请缩小日期范围后分批导出。")
            % {"limit": f"{EXPORT_MAX_ROWS:,}"},
        )
        return redirect(back)
    output, _rows = invoice_list_export(
        organization=organization,
        actor=request.user,
        filters=filters,
        filter_summary=form.summary(),
    )
    day = timezone.localdate().strftime("%Y%m%d")
    response = FileResponse(
        output,
        as_attachment=True,
        filename=f"发票查询-{organization.tax_id}-{day}.xlsx",
        content_type=XLSX,
    )
    response["Cache-Control"] = "no-store"
    return response


def invoice_list_export(
    *, organization: Organization, actor, filters: InvoiceFilters, filter_summary: dict
) -> tuple[IO[bytes], int]:
    """Every invoice matching `filters` as an .xlsx file (rewound, to be streamed and closed by
    the caller) and how many rows it holds; the export is recorded in the operation log."""
    output = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it)
    try:
        rows = invoices_workbook_write(
            output,
            organization=organization,
            invoices=invoices_matching(organization=organization, filters=filters),
        )
        event_record(
            code=EventCode.INVOICE_EXPORTED,
            actor=actor,
            organization=organization,
            details={"filter": filter_summary, "rows": rows},
        )
    except BaseException:
        output.close()
        raise
    output.seek(0)
    return output, rows


EXPORT_COLUMNS = [
    (gettext_lazy("开票日期"), 11),
    (gettext_lazy("发票代码"), 13),
    (gettext_lazy("发票号码"), 22),
    (gettext_lazy("发票类型"), 12),
    (gettext_lazy("方向"), 6),
    (gettext_lazy("销售方名称"), 32),
    (gettext_lazy("销售方纳税人识别号"), 21),
    (gettext_lazy("购买方名称"), 32),
    (gettext_lazy("购买方纳税人识别号"), 21),
    (gettext_lazy("金额"), 14),
    (gettext_lazy("税额"), 12),
    (gettext_lazy("价税合计"), 14),
    (gettext_lazy("发票状态"), 10),
    (gettext_lazy("红字发票"), 8),
    (gettext_lazy("来源"), 10),
]


def invoices_workbook_write(output: IO[bytes], *, organization: Organization, invoices) -> int:
    """Write the invoices to `output` as .xlsx, row by row (xlsxwriter's constant_memory mode
    keeps one row in memory); returns how many rows were written."""
    workbook = xlsxwriter.Workbook(
        output,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    sheet = workbook.add_worksheet(_("发票"))
    header = workbook.add_format({"bold": True, "bg_color": "#F3F4F6", "border": 1})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    money = workbook.add_format({"num_format": "#,##0.00;[Red]-#,##0.00"})
    for col, (title, width) in enumerate(EXPORT_COLUMNS):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, str(title), header)
    sheet.freeze_panes(1, 0)

    statuses = dict(InvoiceStatus.choices)
    sources = dict(InvoiceSource.choices)
    issued, received, yes, no = _("开具"), _("取得"), _("是"), _("否")
    row = 0
    for row, invoice in enumerate(invoices, start=1):
        sheet.write_datetime(row, 0, invoice.issue_date, day)
        texts = [
            invoice.code,
            invoice.number,
            types.name("qr", invoice.type_code) or invoice.type_code,
            issued if invoice.seller_org_id == organization.pk else received,
            invoice.seller_name,
            invoice.seller_tax_id,
            invoice.buyer_name,
            invoice.buyer_tax_id,
        ]
        for col, text in enumerate(texts, start=1):
            sheet.write_string(row, col, neutralised(text))
        for col, value in enumerate((invoice.amount, invoice.tax, invoice.total), start=9):
            sheet.write_number(row, col, float(value), money)
        sheet.write_string(row, 12, str(statuses.get(invoice.status, invoice.status)))
        sheet.write_string(row, 13, yes if invoice.is_red else no)
        sheet.write_string(row, 14, str(sources.get(invoice.source, invoice.source)))
    if row:
        sheet.autofilter(0, 0, row, len(EXPORT_COLUMNS) - 1)
    workbook.close()
    return row


def _count_text(count: int | None) -> str:
    if count is None:
        return _("符合条件的发票较多，总数未统计")
    if count > COUNT_LIMIT:
        return _("共 %(count)s+ 张") % {"count": f"{COUNT_LIMIT:,}"}
    return _("共 %(count)s 张") % {"count": f"{count:,}"}


_URL_SENTINEL = 987654321


def _url_maker(name: str):
    """A function from pk to the URL named `name`, or None while no such page exists. Reversed
    once: a page of fifty rows with three links each would otherwise reverse 150 times."""
    try:
        prefix, suffix = reverse(name, args=[_URL_SENTINEL]).split(str(_URL_SENTINEL))
    except NoReverseMatch:
        return None
    return lambda pk: f"{prefix}{pk}{suffix}"


def _link(links: dict, name: str, pk: int) -> str | None:
    maker = links.get(name)
    return maker(pk) if maker else None


def _row(invoice: Invoice, organization: Organization, links: dict, labels: dict) -> dict:
    """What the table shows of one invoice, formatted here: a page has fifty rows, and each
    template lookup costs more than the Python that replaces it."""
    issued = invoice.seller_org_id == organization.pk
    kind = types.lookup("qr", invoice.type_code)
    return {
        "invoice": invoice,
        "pk": invoice.pk,
        "url": _link(links, "invoice_detail", invoice.pk),
        "pdf_url": _link(links, "invoice_pdf", invoice.pk),
        "xml_url": _link(links, "invoice_xml", invoice.pk),
        "red": invoice.is_red,
        "date": invoice.issue_date.isoformat(),
        "identity": f"{invoice.code} {invoice.number}" if invoice.code else invoice.number,
        "type_short": kind.short_name if kind else invoice.type_code,
        "type_name": kind.name if kind else invoice.type_code,
        "issued": issued,
        "direction": labels["issued"] if issued else labels["received"],
        "counterparty": invoice.buyer_name if issued else invoice.seller_name,
        "counterparty_tax_id": invoice.buyer_tax_id if issued else invoice.seller_tax_id,
        "amount": money(invoice.amount),
        "amount_css": "num negative" if invoice.amount < 0 else "num",
        "tax": money(invoice.tax),
        "tax_css": "num negative" if invoice.tax < 0 else "num",
        "total": money(invoice.total),
        "total_css": "num negative" if invoice.total < 0 else "num",
        "status": invoice.status,
        "status_label": labels["status"].get(invoice.status, invoice.status),
    }
