"""Writes for issuance (开具) and the invoice lifecycle. Each records its operation-log event in the
same transaction as the change."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fapiao.accounts.models import Organization, Role, User
from fapiao.accounts.permissions import Perm, perms_of
from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record
from fapiao.invoices.models import (
    Buyer,
    Draft,
    DraftLine,
    DraftState,
    Invoice,
    InvoiceLine,
    InvoiceSource,
    InvoiceStatus,
    Item,
    NumberSequence,
    RedLetterReason,
    RedLetterRequest,
    RedLetterStatus,
)
from fapiao.rules import Problem, numbers, regions, tax, types, uscc

ISSUE_CHANNEL = "1"  # the 5th digit of the numbers this platform issues
RED_LETTER_HOURS = 72
ZERO = Decimal("0.00")


class InvoiceError(ValidationError):
    """Problems found in an invoice being prepared; each names its field (`lines[1].tax`...)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__([p.message for p in problems])

    def by_field(self) -> dict[str, list[str]]:
        fields: dict[str, list[str]] = {}
        for problem in self.problems:
            fields.setdefault(problem.field or "__all__", []).append(problem.message)
        return fields


# --- preparing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedLine:
    name: str
    tax_code: str
    spec: str
    unit: str
    calc: tax.LineCalc
    item_id: int | None = None


def _problem(code: str, field: str, message: str) -> Problem:
    return Problem(code, field, message)


def _on_row(index: int, message: str) -> str:
    """A line's message prefixed with its line number, in the user's language."""
    return _("第 %(row)s 行：%(message)s") % {"row": index + 1, "message": message}


def lines_prepare(raw_lines: list[dict], *, prices_include_tax: bool) -> list[PreparedLine]:
    """Compute each line from what the user entered (tax-exclusive or tax-inclusive) and check
    every rule of fapiao.rules.tax. Raises InvoiceError naming the fields."""
    problems: list[Problem] = []
    prepared: list[PreparedLine] = []
    if not raw_lines:
        raise InvoiceError([_problem("no_lines", "lines", _("至少需要一行项目。"))])
    for index, raw in enumerate(raw_lines):
        where = f"lines[{index}]"
        name = (raw.get("name") or "").strip()
        if not name:
            problems.append(
                _problem("line_name", f"{where}.name", _on_row(index, _("请填写项目名称。")))
            )
        elif not (name.startswith("*") and name.count("*") >= 2):
            problems.append(
                _problem(
                    "line_name_format",
                    f"{where}.name",
                    _on_row(
                        index,
                        _("项目名称应为“*分类简称*名称”，如 *信息技术服务*软件开发服务。"),
                    ),
                )
            )
        tax_code = (raw.get("tax_code") or "").strip()
        if tax_code and not (len(tax_code) == 19 and tax_code.isdigit()):
            problems.append(
                _problem(
                    "tax_code",
                    f"{where}.tax_code",
                    _on_row(index, _("税收分类编码应为 19 位数字。")),
                )
            )
        try:
            rate, exemption = tax.parse_rate_or_exemption(raw.get("rate", ""))
        except tax.RulesError as error:
            problems.append(
                _problem(
                    error.problem.code,
                    f"{where}.rate",
                    _on_row(index, error.problem.message),
                )
            )
            continue
        exemption = tax.TaxExemption(raw.get("exemption") or exemption)
        try:
            if prices_include_tax:
                calc = tax.line_from_inclusive(
                    raw.get("quantity") or None,
                    raw.get("unit_price") or None,
                    rate,
                    total=raw.get("total") or None,
                    exemption=exemption,
                )
            else:
                calc = tax.line_from_exclusive(
                    raw.get("quantity") or None,
                    raw.get("unit_price") or None,
                    rate,
                    amount=raw.get("amount") or None,
                    exemption=exemption,
                )
        except tax.RulesError as error:
            for problem in error.problems:
                problems.append(
                    _problem(
                        problem.code,
                        f"{where}.{problem.field or 'amount'}",
                        _on_row(index, problem.message),
                    )
                )
            continue
        problems.extend(tax.check_line(calc, index=index))
        prepared.append(
            PreparedLine(
                name,
                tax_code,
                (raw.get("spec") or "").strip(),
                (raw.get("unit") or "").strip(),
                calc,
                raw.get("item_id") or None,
            )
        )
    if not problems:
        problems.extend(tax.check_invoice([line.calc for line in prepared]))
    errors = [p for p in problems if not p.is_warning]
    if errors:
        raise InvoiceError(errors)
    return prepared


def buyer_check(*, type_code: str, name: str, tax_id: str) -> list[Problem]:
    problems = []
    if not name.strip():
        problems.append(_problem("buyer_name", "buyer_name", _("请填写购买方名称。")))
    tax_id = tax_id.strip()
    if type_code == "31" and not tax_id:
        problems.append(
            _problem(
                "buyer_tax_id",
                "buyer_tax_id",
                _("增值税专用发票须填写购买方统一社会信用代码/纳税人识别号。"),
            )
        )
    if tax_id:
        check = uscc.check(tax_id)
        if not check.well_formed:
            problems.append(_problem("buyer_tax_id", "buyer_tax_id", check.message))
    return problems


@transaction.atomic
def draft_save(
    *,
    actor: User,
    organization: Organization,
    draft: Draft | None = None,
    type_code: str,
    buyer: dict,
    lines: list[dict],
    remarks: str = "",
    prices_include_tax: bool = False,
) -> Draft:
    """Create or update a draft (草稿); refuses what the rules refuse."""
    if type_code not in ("31", "32"):
        raise InvoiceError(
            [_problem("type_code", "type_code", _("只能开具数电专票（31）或数电普票（32）。"))]
        )
    problems = buyer_check(
        type_code=type_code, name=buyer.get("name", ""), tax_id=buyer.get("tax_id", "")
    )
    try:
        prepared = lines_prepare(lines, prices_include_tax=prices_include_tax)
    except InvoiceError as error:
        problems.extend(error.problems)
        prepared = []
    if problems:
        raise InvoiceError(problems)
    if draft is None:
        draft = Draft(organization=organization, created_by=actor)
    elif draft.organization_id != organization.pk or draft.state != DraftState.DRAFT:
        raise InvoiceError([_problem("draft_state", None, _("只有草稿可以修改。"))])
    draft.type_code = type_code
    for field in ("name", "tax_id", "address", "phone", "bank_name", "bank_account", "email"):
        value = (buyer.get(field) or "").strip()
        setattr(
            draft,
            f"buyer_{field}",
            uscc.check(value).normalized if field == "tax_id" and value else value,
        )
    draft.remarks, draft.prices_include_tax, draft.review_reason = (
        remarks.strip(),
        prices_include_tax,
        "",
    )
    draft.save()
    draft.lines.all().delete()
    DraftLine.objects.bulk_create(
        DraftLine(
            draft=draft,
            position=i,
            item_id=line.item_id,
            name=line.name,
            tax_code=line.tax_code,
            spec=line.spec,
            unit=line.unit,
            quantity=line.calc.quantity,
            unit_price=line.calc.unit_price,
            amount=line.calc.amount,
            rate=line.calc.rate,
            tax=line.calc.tax,
            exemption=_exemption_value(line.calc.exemption),
        )
        for i, line in enumerate(prepared, 1)
    )
    event_record(
        code=EventCode.INVOICE_DRAFT_SAVED,
        actor=actor,
        organization=organization,
        obj=draft,
        description=f"保存发票草稿：{draft.buyer_name}",
    )
    return draft


def _exemption_value(exemption: tax.TaxExemption) -> str:
    return "" if exemption == tax.TaxExemption.NONE else str(exemption)


def _draft_lines(draft: Draft) -> list[tax.LineCalc]:
    return [
        tax.LineCalc(
            line.quantity,
            line.unit_price,
            line.amount,
            line.rate,
            line.tax,
            line.amount + line.tax,
            tax.TaxExemption(line.exemption or "none"),
        )
        for line in draft.lines.all()
    ]


def _lock_draft(draft: Draft, *, state: str) -> Draft:
    locked = Draft.objects.select_for_update().get(pk=draft.pk)
    if locked.state != state:
        raise InvoiceError(
            [
                _problem(
                    "draft_state",
                    None,
                    _("该草稿当前状态为“%(state)s”，不能执行此操作。")
                    % {"state": locked.get_state_display()},
                )
            ]
        )
    return locked


@transaction.atomic
def draft_submit(*, actor: User, draft: Draft) -> Draft | Invoice:
    """草稿 → 待审核; or, where the organization issues without review, straight to 已开具."""
    draft = _lock_draft(draft, state=DraftState.DRAFT)
    if draft.is_template:
        raise InvoiceError([_problem("template", None, _("模板不能提交，请先用模板新建草稿。"))])
    organization = draft.organization
    if not organization.issue_requires_review:
        draft.submitted_by, draft.submitted_at = actor, timezone.now()
        draft.save(update_fields=["submitted_by", "submitted_at"])
        return _issue(draft, actor=actor, reviewer=None)
    draft.state, draft.submitted_by, draft.submitted_at = (
        DraftState.SUBMITTED,
        actor,
        timezone.now(),
    )
    draft.save(update_fields=["state", "submitted_by", "submitted_at", "updated_at"])
    event_record(
        code=EventCode.INVOICE_SUBMITTED,
        actor=actor,
        organization=organization,
        obj=draft,
        description=f"提交发票审核：{draft.buyer_name}",
    )
    return draft


@transaction.atomic
def draft_approve(*, actor: User, draft: Draft) -> Invoice:
    """待审核 → 已开具, by a reviewer other than the person who submitted it."""
    draft = _lock_draft(draft, state=DraftState.SUBMITTED)
    if Perm.REVIEW not in perms_of(actor, draft.organization):
        raise InvoiceError([_problem("not_reviewer", None, _("只有审核员或管理员可以审核开具。"))])
    if draft.submitted_by_id == actor.pk:
        raise InvoiceError(
            [
                _problem(
                    "same_person",
                    None,
                    _(
                        "提交人和审核人不能是同一人。如本单位没有专职审核员，"
                        "管理员可在单位信息中关闭“开具前须经审核”。"
                    ),
                )
            ]
        )
    return _issue(draft, actor=actor, reviewer=actor)


@transaction.atomic
def draft_reject(*, actor: User, draft: Draft, reason: str) -> Draft:
    """待审核 → 草稿, with the reviewer's reason."""
    draft = _lock_draft(draft, state=DraftState.SUBMITTED)
    if Perm.REVIEW not in perms_of(actor, draft.organization):
        raise InvoiceError([_problem("not_reviewer", None, _("只有审核员或管理员可以退回。"))])
    if not reason.strip():
        raise InvoiceError([_problem("reason", "reason", _("请填写退回原因。"))])
    draft.state, draft.reviewed_by, draft.review_reason = DraftState.DRAFT, actor, reason.strip()
    draft.save(update_fields=["state", "reviewed_by", "review_reason", "updated_at"])
    event_record(
        code=EventCode.INVOICE_REJECTED,
        actor=actor,
        organization=draft.organization,
        obj=draft,
        description=f"退回发票草稿：{reason.strip()}",
        details={"reason": reason},
    )
    return draft


@transaction.atomic
def draft_from_invoice(*, actor: User, organization: Organization, invoice: Invoice) -> Draft:
    """Copy an issued invoice as a new draft (复制开具)."""
    if invoice.seller_org_id != organization.pk:
        raise InvoiceError([_problem("not_seller", None, _("只能复制本单位开具的发票。"))])
    draft = Draft.objects.create(
        organization=organization,
        created_by=actor,
        type_code=invoice.type_code,
        buyer_name=invoice.buyer_name,
        buyer_tax_id=invoice.buyer_tax_id,
        buyer_address=invoice.buyer_address,
        buyer_phone=invoice.buyer_phone,
        buyer_bank_name=invoice.buyer_bank_name,
        buyer_bank_account=invoice.buyer_bank_account,
        buyer_email=invoice.buyer_email,
        remarks="",
        copied_from=invoice,
    )
    DraftLine.objects.bulk_create(
        DraftLine(
            draft=draft,
            position=line.position,
            name=line.name,
            tax_code=line.tax_code,
            spec=line.spec,
            unit=line.unit,
            quantity=abs(line.quantity) if line.quantity else None,
            unit_price=line.unit_price,
            amount=abs(line.amount),
            rate=line.rate,
            tax=abs(line.tax),
            exemption=line.exemption,
        )
        for line in invoice.lines.all()
    )
    event_record(
        code=EventCode.INVOICE_DRAFT_SAVED,
        actor=actor,
        organization=organization,
        obj=draft,
        description=f"复制发票 {invoice.number} 为草稿",
    )
    return draft


@transaction.atomic
def draft_save_template(*, actor: User, draft: Draft, name: str) -> Draft:
    """Keep a copy of the draft as a template (模板) to start future drafts from."""
    if not name.strip():
        raise InvoiceError([_problem("template_name", "template_name", _("请填写模板名称。"))])
    lines = list(draft.lines.all())
    template = Draft.objects.get(pk=draft.pk)
    template.pk = None
    template.state, template.is_template, template.template_name = (
        DraftState.DRAFT,
        True,
        name.strip(),
    )
    template.issued_invoice = None
    template.created_by = actor
    template.save()
    for line in lines:
        line.pk, line.draft = None, template
    DraftLine.objects.bulk_create(lines)
    event_record(
        code=EventCode.INVOICE_TEMPLATE_SAVED,
        actor=actor,
        organization=draft.organization,
        obj=template,
        description=f"保存开票模板：{template.template_name}",
    )
    return template


@transaction.atomic
def draft_from_template(*, actor: User, template: Draft) -> Draft:
    lines = list(template.lines.all())
    draft = Draft.objects.get(pk=template.pk)
    draft.pk, draft.is_template, draft.template_name, draft.created_by = None, False, "", actor
    draft.save()
    for line in lines:
        line.pk, line.draft = None, draft
    DraftLine.objects.bulk_create(lines)
    return draft


@transaction.atomic
def draft_delete(*, actor: User, draft: Draft) -> None:
    """Delete a draft or a template; submitted and issued drafts stay."""
    draft = _lock_draft(draft, state=DraftState.DRAFT)
    label = str(draft)
    draft.delete()
    event_record(
        code=EventCode.INVOICE_DRAFT_DELETED,
        actor=actor,
        organization=draft.organization,
        description=f"删除{label}",
    )


def _directory_label(entry) -> str:
    return f"商品 {entry.line_name}" if isinstance(entry, Item) else f"购买方 {entry.name}"


@transaction.atomic
def directory_save(*, actor: User, organization: Organization, entry: Item | Buyer) -> Item | Buyer:
    """Save a catalogue item (商品和服务) or a buyer (抬头) of the organization's directories."""
    created = entry.pk is None
    entry.organization = organization
    entry.save()
    event_record(
        code=EventCode.DIRECTORY_SAVED,
        actor=actor,
        organization=organization,
        obj=entry,
        description=f"{'新增' if created else '修改'}{_directory_label(entry)}",
    )
    return entry


@transaction.atomic
def directory_delete(*, actor: User, organization: Organization, entry: Item | Buyer) -> None:
    if entry.organization_id != organization.pk:
        raise InvoiceError([_problem("not_yours", None, _("只能删除本单位目录中的条目。"))])
    label = _directory_label(entry)
    entry.delete()
    event_record(
        code=EventCode.DIRECTORY_DELETED,
        actor=actor,
        organization=organization,
        description=f"删除{label}",
    )


# --- issuing -------------------------------------------------------------------------------


def number_allocate(*, region: str, year: int, channel: str = ISSUE_CHANNEL) -> str:
    """The next free 20-digit 数电 number. Call inside the issuing transaction: the sequence row
    stays locked until it commits, and a rollback returns the number."""
    sequence = (
        NumberSequence.objects.select_for_update()
        .filter(region=region, year=year, channel=channel)
        .first()
    )
    if sequence is None:
        try:
            with transaction.atomic():
                NumberSequence.objects.create(region=region, year=year, channel=channel)
        except IntegrityError:
            pass  # another issuer created it meanwhile
        sequence = NumberSequence.objects.select_for_update().get(
            region=region, year=year, channel=channel
        )
    while True:
        sequence.last_value += 1
        number = numbers.digital_number(year, region, channel, sequence.last_value)
        # A number already on the platform (imported history, 补录) is never issued again.
        if not Invoice.objects.filter(code="", number=number).exists():
            break
    sequence.save(update_fields=["last_value"])
    return number


def _region_of(organization: Organization) -> str:
    region = regions.region_from_uscc(organization.tax_id)
    return region.digital_code if region else "11"


def _issue(draft: Draft, *, actor: User, reviewer: User | None) -> Invoice:
    organization = draft.organization
    calcs = _draft_lines(draft)
    problems = tax.check_invoice(calcs)
    if [p for p in problems if not p.is_warning]:
        raise InvoiceError([p for p in problems if not p.is_warning])
    totals = tax.invoice_totals(calcs)
    now = timezone.now()
    today = timezone.localdate(now)
    buyer_org = (
        Organization.objects.filter(tax_id=draft.buyer_tax_id).first()
        if draft.buyer_tax_id
        else None
    )
    submitter = draft.submitted_by or actor
    invoice = Invoice.objects.create(
        type_code=draft.type_code,
        code="",
        number=number_allocate(region=_region_of(organization), year=today.year),
        issue_date=today,
        issued_at=now,
        seller_org=organization,
        seller_name=organization.name,
        seller_tax_id=organization.tax_id,
        seller_address=organization.address,
        seller_phone=organization.phone,
        seller_bank_name=organization.bank_name,
        seller_bank_account=organization.bank_account,
        buyer_org=buyer_org,
        buyer_name=draft.buyer_name,
        buyer_tax_id=draft.buyer_tax_id,
        buyer_address=draft.buyer_address,
        buyer_phone=draft.buyer_phone,
        buyer_bank_name=draft.buyer_bank_name,
        buyer_bank_account=draft.buyer_bank_account,
        buyer_email=draft.buyer_email,
        amount=totals.amount,
        tax=totals.tax,
        total=totals.total,
        remarks=draft.remarks,
        drawer=submitter.name or submitter.email,
        reviewer_name=(reviewer.name or reviewer.email) if reviewer else "",
        status=InvoiceStatus.NORMAL,
        source=InvoiceSource.ISSUED,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=line.position,
            name=line.name,
            tax_code=line.tax_code,
            spec=line.spec,
            unit=line.unit,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            rate=line.rate,
            tax=line.tax,
            exemption=line.exemption,
        )
        for line in draft.lines.all()
    )
    draft.state, draft.issued_invoice = DraftState.ISSUED, invoice
    draft.reviewed_by = reviewer
    draft.save(update_fields=["state", "issued_invoice", "reviewed_by", "updated_at"])
    event_record(
        code=EventCode.INVOICE_ISSUED,
        actor=actor,
        organization=organization,
        obj=invoice,
        description=f"开具发票 {invoice.number}（{invoice.buyer_name}，价税合计 {invoice.total}）",
        details={
            "number": invoice.number,
            "total": str(invoice.total),
            "reviewer": reviewer.email if reviewer else None,
        },
    )
    _email_after_commit(invoice)
    return invoice


def _email_after_commit(invoice: Invoice) -> None:
    if not invoice.buyer_email:
        return
    from fapiao.invoices.tasks import invoice_email_send

    transaction.on_commit(lambda: invoice_email_send.enqueue(invoice_id=invoice.pk))


# --- lifecycle -----------------------------------------------------------------------------


def _red_so_far(blue: Invoice) -> tuple[Decimal, Decimal]:
    amount = sum((r.amount for r in blue.red_invoices.all()), ZERO)
    tax_sum = sum((r.tax for r in blue.red_invoices.all()), ZERO)
    return amount, tax_sum


@transaction.atomic
def red_letter_request_create(
    *,
    actor: User,
    organization: Organization,
    blue: Invoice,
    reason: str,
    line_amounts: dict[int, Decimal] | None = None,
) -> RedLetterRequest:
    """Open a 红字确认单 for a blue invoice, in full (line_amounts None) or in part
    (line position → positive amount to reverse, excluding tax)."""
    blue = Invoice.objects.select_for_update().get(pk=blue.pk)
    if organization.pk not in (blue.seller_org_id, blue.buyer_org_id):
        raise InvoiceError([_problem("not_party", None, _("只有销售方或购买方可以申请红冲。"))])
    kind = types.lookup(types.Channel.QR, blue.type_code)
    if blue.is_red or blue.status not in (InvoiceStatus.NORMAL, InvoiceStatus.PARTLY_RED):
        raise InvoiceError(
            [
                _problem(
                    "not_reversible",
                    None,
                    _("发票状态为“%(status)s”，不能红冲。") % {"status": blue.get_status_display()},
                )
            ]
        )
    if kind is not None and kind.is_paper:
        raise InvoiceError([_problem("paper", None, _("纸质发票请作废，而不是红冲。"))])
    if reason not in RedLetterReason.values:
        raise InvoiceError([_problem("reason", "reason", _("请选择红冲原因。"))])
    if RedLetterRequest.objects.filter(
        blue=blue, status__in=[RedLetterStatus.AWAITING_BUYER, RedLetterStatus.AWAITING_SELLER]
    ).exists():
        raise InvoiceError([_problem("pending", None, _("该发票已有待确认的红字确认单。"))])
    reversed_by_line: dict[int, Decimal] = {}
    for red_line in InvoiceLine.objects.filter(invoice__original=blue):
        reversed_by_line[red_line.position] = (
            reversed_by_line.get(red_line.position, ZERO) - red_line.amount
        )
    plan = []
    for line in blue.lines.all():
        left = line.amount - reversed_by_line.get(line.position, ZERO)
        want = left if line_amounts is None else Decimal(line_amounts.get(line.position, 0))
        if want < 0 or want > left:
            raise InvoiceError(
                [
                    _problem(
                        "amount",
                        f"lines[{line.position}]",
                        _("第 %(position)s 行红冲金额应在 0 至剩余可红冲金额 %(left)s 之间。")
                        % {"position": line.position, "left": left},
                    )
                ]
            )
        if want:
            line_tax = (
                line.tax - (line.tax * (line.amount - left) / line.amount).quantize(Decimal("0.01"))
                if want == left
                else tax.round2(want * line.rate)
            )
            plan.append({"position": line.position, "amount": str(-want), "tax": str(-line_tax)})
    if not plan:
        raise InvoiceError([_problem("amount", "lines", _("没有可红冲的金额。"))])
    amount = sum((Decimal(p["amount"]) for p in plan), ZERO)
    tax_sum = sum((Decimal(p["tax"]) for p in plan), ZERO)
    seller_initiates = organization.pk == blue.seller_org_id
    other = blue.buyer_org_id if seller_initiates else blue.seller_org_id
    if other is None:
        status = RedLetterStatus.NO_CONFIRMATION
    else:
        status = (
            RedLetterStatus.AWAITING_BUYER if seller_initiates else RedLetterStatus.AWAITING_SELLER
        )
    request = RedLetterRequest.objects.create(
        blue=blue,
        initiator=organization,
        reason=reason,
        status=status,
        full=-amount == blue.amount - sum(reversed_by_line.values(), ZERO),
        amount=amount,
        tax=tax_sum,
        lines=plan,
        created_by=actor,
        deadline=timezone.now() + datetime.timedelta(hours=RED_LETTER_HOURS) if other else None,
    )
    event_record(
        code=EventCode.RED_LETTER_REQUESTED,
        actor=actor,
        organization=organization,
        obj=request,
        description=lambda: (
            f"提交红字确认单：发票 {blue.number}，{RedLetterReason(reason).label}，金额 {amount}"
        ),
        details={"blue": blue.number, "amount": str(amount), "tax": str(tax_sum)},
    )
    if status == RedLetterStatus.NO_CONFIRMATION:
        _red_invoice_issue(request, actor=actor)
    else:
        _lapse_when_due(request)
    return request


def _lapse_when_due(request: RedLetterRequest) -> None:
    from django.tasks import default_task_backend

    from fapiao.invoices.tasks import red_letter_lapse

    if default_task_backend.supports_defer:
        task = red_letter_lapse.using(run_after=request.deadline)
        transaction.on_commit(lambda: task.enqueue(request_id=request.pk))


def _other_party(request: RedLetterRequest) -> int | None:
    blue = request.blue
    return blue.buyer_org_id if request.initiator_id == blue.seller_org_id else blue.seller_org_id


def _lock_request(request: RedLetterRequest) -> RedLetterRequest:
    locked = RedLetterRequest.objects.select_for_update().select_related("blue").get(pk=request.pk)
    if locked.status not in (RedLetterStatus.AWAITING_BUYER, RedLetterStatus.AWAITING_SELLER):
        raise InvoiceError(
            [
                _problem(
                    "request_closed",
                    None,
                    _("该确认单已处理（%(status)s）。") % {"status": locked.get_status_display()},
                )
            ]
        )
    if locked.deadline and locked.deadline <= timezone.now():
        _lapse(locked)
        raise InvoiceError(
            [_problem("lapsed", None, _("该确认单已超过 72 小时未确认，已自动作废。"))]
        )
    return locked


@transaction.atomic
def _red_letter_confirm(
    *, actor: User, organization: Organization, request: RedLetterRequest
) -> Invoice:
    request = _lock_request(request)
    if organization.pk != _other_party(request):
        raise InvoiceError([_problem("not_counterparty", None, _("只有对方可以确认红字确认单。"))])
    request.status = RedLetterStatus.CONFIRMED
    request.decided_by, request.decided_at = actor, timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])
    event_record(
        code=EventCode.RED_LETTER_CONFIRMED,
        actor=actor,
        organization=organization,
        obj=request,
        description=f"确认红字确认单：发票 {request.blue.number}",
    )
    return _red_invoice_issue(request, actor=actor)


@transaction.atomic
def _red_letter_refuse(
    *, actor: User, organization: Organization, request: RedLetterRequest
) -> RedLetterRequest:
    request = _lock_request(request)
    if organization.pk != _other_party(request):
        raise InvoiceError([_problem("not_counterparty", None, _("只有对方可以拒绝红字确认单。"))])
    buyer_refuses = organization.pk == request.blue.buyer_org_id
    request.status = (
        RedLetterStatus.REFUSED_BY_BUYER if buyer_refuses else RedLetterStatus.REFUSED_BY_SELLER
    )
    request.decided_by, request.decided_at = actor, timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])
    event_record(
        code=EventCode.RED_LETTER_REFUSED,
        actor=actor,
        organization=organization,
        obj=request,
        description=f"拒绝红字确认单：发票 {request.blue.number}",
    )
    return request


@transaction.atomic
def _red_letter_withdraw(
    *, actor: User, organization: Organization, request: RedLetterRequest
) -> RedLetterRequest:
    request = _lock_request(request)
    if organization.pk != request.initiator_id:
        raise InvoiceError([_problem("not_initiator", None, _("只有发起方可以撤销红字确认单。"))])
    request.status, request.decided_by, request.decided_at = (
        RedLetterStatus.WITHDRAWN,
        actor,
        timezone.now(),
    )
    request.save(update_fields=["status", "decided_by", "decided_at"])
    event_record(
        code=EventCode.RED_LETTER_WITHDRAWN,
        actor=actor,
        organization=organization,
        obj=request,
        description=f"撤销红字确认单：发票 {request.blue.number}",
    )
    return request


def _lapse(request: RedLetterRequest) -> None:
    request.status, request.decided_at = RedLetterStatus.LAPSED, timezone.now()
    request.save(update_fields=["status", "decided_at"])
    event_record(
        code=EventCode.RED_LETTER_LAPSED,
        organization=request.initiator,
        obj=request,
        actor_label="系统",
        description=f"红字确认单超过 72 小时未确认，自动作废：发票 {request.blue.number}",
    )


@transaction.atomic
def red_letter_lapse_overdue(
    *, now: datetime.datetime | None = None, request_ids: list[int] | None = None
) -> int:
    """Void every request its counterparty left unconfirmed for 72 hours. A deferred task does
    it for each request when its time is up; actions and pages call it too, so nothing waits on
    a worker."""
    now = now or timezone.now()
    overdue = (
        RedLetterRequest.objects.select_for_update()
        .filter(
            status__in=[RedLetterStatus.AWAITING_BUYER, RedLetterStatus.AWAITING_SELLER],
            deadline__lte=now,
        )
        .select_related("blue", "initiator")
    )
    if request_ids is not None:
        overdue = overdue.filter(pk__in=request_ids)
    count = 0
    for request in overdue:
        _lapse(request)
        count += 1
    return count


def _seller_side_person(request: RedLetterRequest, actor: User) -> str:
    """开票人 of a red invoice: whoever acted for the seller (initiated or confirmed)."""
    person = request.created_by if request.initiator_id == request.blue.seller_org_id else actor
    return person.name or person.email


def _red_invoice_issue(request: RedLetterRequest, *, actor: User) -> Invoice:
    blue = Invoice.objects.select_for_update().get(pk=request.blue_id)
    now = timezone.now()
    today = timezone.localdate(now)
    seller = blue.seller_org
    by_position = {line.position: line for line in blue.lines.all()}
    red = Invoice.objects.create(
        type_code=blue.type_code,
        code="",
        number=number_allocate(
            region=_region_of(seller) if seller else blue.number[2:4], year=today.year
        ),
        issue_date=today,
        issued_at=now,
        seller_org=blue.seller_org,
        seller_name=blue.seller_name,
        seller_tax_id=blue.seller_tax_id,
        seller_address=blue.seller_address,
        seller_phone=blue.seller_phone,
        seller_bank_name=blue.seller_bank_name,
        seller_bank_account=blue.seller_bank_account,
        buyer_org=blue.buyer_org,
        buyer_name=blue.buyer_name,
        buyer_tax_id=blue.buyer_tax_id,
        buyer_address=blue.buyer_address,
        buyer_phone=blue.buyer_phone,
        buyer_bank_name=blue.buyer_bank_name,
        buyer_bank_account=blue.buyer_bank_account,
        buyer_email=blue.buyer_email,
        amount=request.amount,
        tax=request.tax,
        total=request.amount + request.tax,
        remarks=f"被红冲蓝字数电发票号码：{blue.number} 红字发票信息确认单编号：{request.pk:016d}",
        drawer=_seller_side_person(request, actor),
        status=InvoiceStatus.NORMAL,
        source=InvoiceSource.ISSUED,
        is_red=True,
        original=blue,
    )
    red_lines = []
    for plan in request.lines:
        line = by_position[plan["position"]]
        amount = Decimal(plan["amount"])
        quantity = None
        if line.quantity and line.unit_price and -amount == line.amount:
            quantity = -line.quantity
        elif line.quantity and line.unit_price:
            quantity = (amount / line.unit_price).quantize(Decimal("0.0000000001"))
        red_lines.append(
            InvoiceLine(
                invoice=red,
                position=line.position,
                name=line.name,
                tax_code=line.tax_code,
                spec=line.spec,
                unit=line.unit,
                quantity=quantity,
                unit_price=line.unit_price,
                amount=amount,
                rate=line.rate,
                tax=Decimal(plan["tax"]),
                exemption=line.exemption,
            )
        )
    InvoiceLine.objects.bulk_create(red_lines)
    request.red_invoice = red
    request.save(update_fields=["red_invoice"])
    red_amount, __ = _red_so_far(blue)
    blue.status = (
        InvoiceStatus.FULLY_RED if -red_amount >= blue.amount else InvoiceStatus.PARTLY_RED
    )
    blue.save(update_fields=["status"])
    event_record(
        code=EventCode.RED_INVOICE_ISSUED,
        actor=actor,
        organization=seller or request.initiator,
        obj=red,
        description=f"开具红字发票 {red.number}，冲减蓝字发票 {blue.number}（{red.total}）",
        details={"blue": blue.number, "red": red.number, "total": str(red.total)},
    )
    event_record(
        code=EventCode.RED_INVOICE_ISSUED,
        actor=actor,
        organization=seller or request.initiator,
        obj=blue,
        description=lambda: (
            f"蓝字发票被红冲：红字发票 {red.number}（{red.total}），"
            f"状态 {blue.get_status_display()}"
        ),
        details={"red": red.number},
    )
    _email_after_commit(red)
    return red


@transaction.atomic
def invoice_void(*, actor: User, organization: Organization, invoice: Invoice) -> Invoice:
    """作废: only for paper invoices; electronic ones are red-lettered instead."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    kind = types.lookup(types.Channel.QR, invoice.type_code)
    if invoice.seller_org_id != organization.pk:
        raise InvoiceError([_problem("not_seller", None, _("只有销售方可以作废发票。"))])
    if kind is None or not kind.is_paper:
        raise InvoiceError(
            [_problem("electronic", None, _("电子发票不能作废，请通过红字确认单红冲。"))]
        )
    if invoice.status != InvoiceStatus.NORMAL:
        raise InvoiceError(
            [
                _problem(
                    "status",
                    None,
                    _("发票状态为“%(status)s”，不能作废。")
                    % {"status": invoice.get_status_display()},
                )
            ]
        )
    invoice.status = InvoiceStatus.VOIDED
    invoice.save(update_fields=["status"])
    event_record(
        code=EventCode.INVOICE_VOIDED,
        actor=actor,
        organization=organization,
        obj=invoice,
        description=f"作废发票 {invoice.code} {invoice.number}",
    )
    return invoice


__all__ = ["InvoiceError", "Role"]


def _lapse_first(action):
    """An overdue request lapses first, in a transaction of its own, so it stays lapsed even
    though the action asked for is then refused."""

    def run(*, actor: User, organization: Organization, request: RedLetterRequest):
        red_letter_lapse_overdue(request_ids=[request.pk])
        return action(actor=actor, organization=organization, request=request)

    run.__doc__ = action.__doc__
    return run


red_letter_confirm = _lapse_first(_red_letter_confirm)
red_letter_refuse = _lapse_first(_red_letter_refuse)
red_letter_withdraw = _lapse_first(_red_letter_withdraw)
