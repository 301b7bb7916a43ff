"""发票查找: find an invoice from whatever the user has, or say why it is not there.

`invoice_find(organization=..., query=...)` reads only. Found: the invoice the organization may see
whose identity (and every other field entered) matches. Not found: diagnoses ranked by likelihood,
each with a message, evidence, the invoice numbers it proposes and next steps, in the active
language (gettext, at call time: the request's language on the page; Chinese is the source text).

Privacy: near matches, dates and amounts are looked up only among the invoices the organization
may see (it is their seller or buyer). An invoice of other parties is only ever reported as
`not_visible`, decided by its identity alone: nothing of its content is read, so neither the
answer nor the queries run depend on its fields.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext, pgettext

from fapiao.accounts.models import Organization
from fapiao.invoices import search
from fapiao.invoices.models import Invoice, InvoiceStatus
from fapiao.rules import nearmatch, numbers
from fapiao.rules.regions import PROVINCES

PLATFORM_REGION = "11"  # the platform is Beijing's: invoices of other provinces are elsewhere
SYNC_WINDOW_DAYS = 1  # invoice data reaches the platform the day after issue (T+1)
RETENTION_YEARS = 5  # history older than this was never migrated
NEAR_MATCHES_SHOWN = 5
FIELD_MATCHES_SHOWN = 10
FIELD_WINDOW_DAYS = 92  # without a date or a selective party: amounts excluding tax looked up since
SAME_NUMBER_MAX = (
    50  # invoices sharing an 8-digit number (codes differ) that the fields choose from
)
NAME_IDS_MAX = 10000  # a name matching more invoices is filtered by the name index in each query
DATE_WINDOW_DAYS = 92  # "another date": looked for this far either side of the date entered
RECENT_IMPORTS = 5  # the imports looked at for an unfinished run or a rejected row
IMPORT_LOOKBACK = dt.timedelta(days=90)
REJECTED_LOOKBACK = dt.timedelta(days=90)  # a rejected 补录 application is reported this long
DIGITAL_LENGTH = 20
NATIONAL_VERIFICATION_URL = "https://inv-veri.chinatax.gov.cn/"


class Code:
    """Diagnosis codes (stable: the command's JSON and the page's tests use them)."""

    NEAR_MATCH = "near_match"
    DATE_MISMATCH = "date_mismatch"
    TAX_INCLUSION_MISMATCH = "tax_inclusion_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    PARTY_MISMATCH = "party_mismatch"
    VOIDED = "voided"
    RED_LETTERED = "red_lettered"
    OTHER_REGION = "other_region"
    TOO_RECENT = "too_recent"
    FUTURE_DATE = "future_date"
    TOO_OLD = "too_old"
    SYNC_PENDING = "sync_pending"
    RECOVERY_PENDING = "recovery_pending"
    RECOVERY_REJECTED = "recovery_rejected"
    NOT_VISIBLE = "not_visible"
    SEVERAL_MATCHES = "several_matches"
    NOT_ON_PLATFORM = "not_on_platform"


_MERGED_CODES = frozenset({Code.TOO_OLD})

# nearmatch.LABELS, translatable (fapiao.rules imports no Django); a test keeps the Chinese equal.
PATTERN_LABELS = {
    nearmatch.ONE_DIGIT: gettext_lazy("有一位数字输错"),
    nearmatch.ADJACENT_SWAP: gettext_lazy("相邻两位数字颠倒"),
    nearmatch.DIGIT_MISSING: gettext_lazy("漏输了一位数字"),
    nearmatch.DIGIT_EXTRA: gettext_lazy("多输了一位"),
    nearmatch.LOOKALIKE: gettext_lazy("把字母当成了数字（如 O 与 0、I 或 l 与 1）"),
    nearmatch.CODE_PLUS_NUMBER: gettext_lazy("20 位数电发票号码被拆成了发票代码和发票号码"),
    nearmatch.CODE_NUMBER_SWAPPED: gettext_lazy("发票代码和发票号码填反了"),
}

# The names of fapiao.rules.regions, marked for translation: `_region` translates them.
REGION_NAMES = (
    gettext_noop("北京市"),
    gettext_noop("天津市"),
    gettext_noop("河北省"),
    gettext_noop("山西省"),
    gettext_noop("内蒙古自治区"),
    gettext_noop("辽宁省"),
    gettext_noop("吉林省"),
    gettext_noop("黑龙江省"),
    gettext_noop("上海市"),
    gettext_noop("江苏省"),
    gettext_noop("浙江省"),
    gettext_noop("安徽省"),
    gettext_noop("福建省"),
    gettext_noop("江西省"),
    gettext_noop("山东省"),
    gettext_noop("河南省"),
    gettext_noop("湖北省"),
    gettext_noop("湖南省"),
    gettext_noop("广东省"),
    gettext_noop("广西壮族自治区"),
    gettext_noop("海南省"),
    gettext_noop("重庆市"),
    gettext_noop("四川省"),
    gettext_noop("贵州省"),
    gettext_noop("云南省"),
    gettext_noop("西藏自治区"),
    gettext_noop("陕西省"),
    gettext_noop("甘肃省"),
    gettext_noop("青海省"),
    gettext_noop("宁夏回族自治区"),
    gettext_noop("新疆维吾尔自治区"),
    gettext_noop("台湾省"),
    gettext_noop("大连市"),
    gettext_noop("青岛市"),
    gettext_noop("宁波市"),
    gettext_noop("厦门市"),
    gettext_noop("深圳市"),
)


def _region(name: str) -> str:
    return _(name)


def listed(items: list[str]) -> str:
    """The items as the language lists them: 开票日期、金额; issue date and amount."""
    if len(items) < 2:
        return "".join(items)
    head = pgettext("list separator", "、").join(items[:-1])
    return head + pgettext("last list separator", "、") + items[-1]


def _about(number: str, text: str) -> str:
    """A line of evidence about one invoice, led by its number."""
    return _("%(number)s：%(text)s") % {"number": number, "text": text}


def about_prefix(number: str) -> str:
    """How `_about` lines of this invoice begin (the page leaves them out of its table rows)."""
    return _about(number, "")


class Basis:
    """What the entered amount is: 价税合计, 金额（不含税）, or not known (either)."""

    EITHER = ""
    TOTAL = "total"
    AMOUNT = "amount"


@dataclass(frozen=True)
class FinderQuery:
    number: str = ""
    code: str = ""
    date: dt.date | None = None
    amount: Decimal | None = None
    basis: str = Basis.EITHER
    party: str = ""  # the seller's or the buyer's name (or part of it) or tax ID

    @property
    def empty(self) -> bool:
        return not (self.number or self.code or self.date or self.amount is not None or self.party)


@dataclass
class Step:
    label: str
    url: str


@dataclass
class Proposal:
    """An invoice the organization may see, proposed by a diagnosis."""

    invoice: Invoice
    pattern: str = ""  # a nearmatch pattern, for near matches
    explanation: str = ""
    score: int = 0
    agrees: list[str] = field(default_factory=list)  # the other entered fields it matches


@dataclass
class Diagnosis:
    code: str
    message: str
    score: int  # likelihood, 0-100: the page and the command list the highest first
    evidence: list[str] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)  # proposed numbers not in `proposals`
    steps: list[Step] = field(default_factory=list)

    @property
    def candidates(self) -> list[str]:
        return [p.invoice.number for p in self.proposals] + self.numbers

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "evidence": self.evidence,
            "candidates": self.candidates,
        }


@dataclass
class FinderResult:
    query: FinderQuery
    found: bool
    invoice: Invoice | None
    diagnoses: list[Diagnosis]

    def as_dict(self) -> dict:
        return {
            "found": self.found,
            "invoice": invoice_dict(self.invoice) if self.invoice is not None else None,
            "diagnoses": [d.as_dict() for d in self.diagnoses],
        }


def invoice_dict(invoice: Invoice) -> dict:
    return {
        "id": invoice.pk,
        "code": invoice.code,
        "number": invoice.number,
        "type_code": invoice.type_code,
        "issue_date": invoice.issue_date.isoformat(),
        "seller_name": invoice.seller_name,
        "seller_tax_id": invoice.seller_tax_id,
        "buyer_name": invoice.buyer_name,
        "buyer_tax_id": invoice.buyer_tax_id,
        "amount": format(invoice.amount, "f"),
        "tax": format(invoice.tax, "f"),
        "total": format(invoice.total, "f"),
        "status": invoice.status,
        "status_label": str(InvoiceStatus(invoice.status).label),
        "is_red": invoice.is_red,
    }


def visible_to(organization: Organization) -> Q:
    return Q(seller_org=organization) | Q(buyer_org=organization)


def query_split(number: str, code: str = "") -> tuple[str, str]:
    """(code, number) as typed: "代码 号码" (10 or 12 digits, then 8) in the number field is split
    on the space, other spaces are dropped; so is a '*' (the invoice list's prefix search)."""
    number = (number or "").replace("*", " ")
    tokens = number.replace(",", " ").replace("，", " ").split()
    if not code and len(tokens) == 2 and len(tokens[0]) in (10, 12) and len(tokens[1]) == 8:
        return nearmatch.normalize(tokens[0]), nearmatch.normalize(tokens[1])
    return nearmatch.normalize(code), nearmatch.normalize("".join(tokens))


# --- the finder ----------------------------------------------------------------------------------


def invoice_find(
    *, organization: Organization, query: FinderQuery, today: dt.date | None = None
) -> FinderResult:
    today = today or timezone.localdate()
    code, number = query_split(query.number, query.code)
    if len(number) == DIGITAL_LENGTH and number.isdigit():
        code = ""  # a 数电 invoice has no code: one typed anyway is ignored
    query = FinderQuery(
        number=number,
        code=code,
        date=query.date,
        amount=query.amount,
        basis=query.basis,
        party=" ".join(query.party.split()),
    )
    if query.empty:
        return FinderResult(query, False, None, [])
    if number or code:
        result = _by_identity(organization, query, today)
    else:
        result = _by_fields(organization, query, today)
    result.diagnoses = _merged(result.diagnoses)
    result.diagnoses.sort(key=lambda d: -d.score)
    for diagnosis in result.diagnoses:
        if not diagnosis.steps:
            diagnosis.steps = next_steps(query, diagnosis.code)
    return result


def _merged(diagnoses: list[Diagnosis]) -> list[Diagnosis]:
    """One diagnosis per reason that several clues point to (too old: by the number's year and
    by the date entered): the first kept, with every clue's evidence."""
    merged: list[Diagnosis] = []
    by_code: dict[str, Diagnosis] = {}
    for diagnosis in diagnoses:
        first = by_code.get(diagnosis.code) if diagnosis.code in _MERGED_CODES else None
        if first is None:
            by_code[diagnosis.code] = diagnosis
            merged.append(diagnosis)
            continue
        first.evidence += [line for line in diagnosis.evidence if line not in first.evidence]
        first.score = max(first.score, diagnosis.score)
    return merged


def _by_identity(organization: Organization, query: FinderQuery, today: dt.date) -> FinderResult:
    code, number = query.code, query.number
    lookup = number or code  # a code alone may be a 数电 number in the wrong field
    visible = Invoice.objects.filter(visible_to(organization))
    if number:
        exact = visible.filter(number=number)
        if code:
            exact = exact.filter(code=code)
        same = list(exact.order_by("-issue_date", "-id")[:SAME_NUMBER_MAX])
        if len(same) == 1:
            return _checked(organization, query, same[0])
        if same:  # an 8-digit number without its code: several codes share it
            return _same_number(organization, query, same)

    # Not the organization's: near matches among its own invoices, one indexed IN query.
    wanted = {lookup, *nearmatch.candidates(lookup)}
    wanted |= {n for _code, n in nearmatch.identity_candidates(code, number)}
    near = list(visible.filter(number__in=sorted(wanted)).order_by("-issue_date", "-id")[:200])
    # Whether another organization's invoice has this identity: the same query whatever it
    # holds, and nothing of it is read.
    # (An 8-digit number without its code names no invoice: many codes share it.)
    hidden_exists = False
    if (code and number) or len(lookup) == DIGITAL_LENGTH:
        identity = {"code": code, "number": number} if number else {"code": "", "number": code}
        hidden = Invoice.objects.filter(**identity).exclude(visible_to(organization))
        hidden_exists = hidden.exists()

    diagnoses: list[Diagnosis] = []
    proposals = _near_proposals(query, near)
    if proposals:
        diagnoses.append(_near_match(proposals))
    if hidden_exists:
        diagnoses.append(
            Diagnosis(
                Code.NOT_VISIBLE,
                _(
                    "平台上有这个号码的发票，但贵单位既不是它的销售方也不是购买方，因此无法显示。"
                    "如确属贵单位，请让开票方核对购买方信息，或联系平台客服。"
                ),
                score=85,
                evidence=[_("按发票代码和号码查到了记录；其内容不向贵单位显示")],
            )
        )
    else:
        # A near match explains the number: what its digits would say of the region is moot
        # (a swapped or misread identity reads as another province's code).
        diagnoses += _from_number(query, today, near=bool(proposals))
        diagnoses += _from_date(query, today)
        diagnoses += _pending(organization, query)
    if not diagnoses:
        diagnoses.append(_not_on_platform())
    return FinderResult(query, False, None, diagnoses)


def _checked(organization: Organization, query: FinderQuery, invoice: Invoice) -> FinderResult:
    """The invoice with this identity: found when the other fields entered agree with it."""
    diagnoses: list[Diagnosis] = []
    numbers_ = [invoice.number]
    if query.date and query.date != invoice.issue_date:
        diagnoses.append(
            Diagnosis(
                Code.DATE_MISMATCH,
                _("号码对得上，但开票日期不同：请按平台记录的日期查询或查验。"),
                score=95,
                evidence=[
                    _entered_date(query.date),
                    _("平台记录的开票日期：%(date)s") % {"date": invoice.issue_date.isoformat()},
                ],
                numbers=numbers_,
            )
        )
    if query.amount is not None:
        diagnosis = _amount_check(query, invoice)
        if diagnosis is not None:
            diagnoses.append(diagnosis)
    if query.party and not _party_agrees(query.party, invoice):
        diagnoses.append(
            Diagnosis(
                Code.PARTY_MISMATCH,
                _("号码对得上，但所填的名称或税号既不是这张发票的销售方也不是购买方。"),
                score=70,
                evidence=[
                    _("您输入的名称或税号：%(party)s") % {"party": query.party},
                    _("销售方：%(name)s（%(tax_id)s）")
                    % {"name": invoice.seller_name, "tax_id": invoice.seller_tax_id},
                    _("购买方：%(name)s（%(tax_id)s）")
                    % {"name": invoice.buyer_name, "tax_id": invoice.buyer_tax_id or "—"},
                ],
                numbers=numbers_,
            )
        )
    diagnoses += _status(invoice)
    found = not any(
        d.code
        in (
            Code.DATE_MISMATCH,
            Code.TAX_INCLUSION_MISMATCH,
            Code.AMOUNT_MISMATCH,
            Code.PARTY_MISMATCH,
        )
        for d in diagnoses
    )
    for diagnosis in diagnoses:
        diagnosis.steps = [Step(_("查看这张发票"), invoice_url(invoice))]
    return FinderResult(query, found, invoice if found else None, diagnoses)


def _same_number(
    organization: Organization, query: FinderQuery, invoices: list[Invoice]
) -> FinderResult:
    """Several of the organization's invoices carry this number under different codes: the
    other fields entered choose; never a mismatch against one picked at random."""
    full = len(_entered(query))
    fitting = [inv for inv in invoices if len(_agreements(query, inv)) == full] if full else []
    if len(fitting) == 1:
        return _checked(organization, query, fitting[0])
    shown = fitting or invoices
    count = _count(shown)
    if fitting:
        message = _(
            "有 %(count)s 张发票号码为 %(number)s（发票代码不同），"
            "且都与所填的其他信息相符：请按发票代码选择。"
        )
    elif full:
        message = _(
            "有 %(count)s 张发票号码为 %(number)s"
            "（发票代码不同），但没有一张与所填的其他信息全部相符：请核对后按发票代码选择。"
        )
    else:
        message = _(
            "有 %(count)s 张发票号码为 %(number)s"
            "（发票代码不同）：请补充发票代码，或开票日期、金额以确定是哪一张。"
        )
    message %= {"count": count, "number": query.number}
    proposals = []
    for inv in shown[:FIELD_MATCHES_SHOWN]:
        agrees = _agreements(query, inv)
        explanation = _("发票代码 %(code)s") % {"code": inv.code or "—"}
        proposals.append(Proposal(inv, explanation=explanation, score=len(agrees), agrees=agrees))
    proposals.sort(key=lambda p: -p.score)
    diagnosis = Diagnosis(
        Code.SEVERAL_MATCHES,
        message,
        score=95,
        evidence=[_("8 位发票号码要与发票代码一起才能确定一张发票")],
        proposals=proposals,
    )
    return FinderResult(query, False, None, [diagnosis])


def _count(invoices: list) -> str:
    """How many, as the page says it: "3", or "多于 10" past the rows shown."""
    if len(invoices) > FIELD_MATCHES_SHOWN:
        return _("多于 %(count)s") % {"count": FIELD_MATCHES_SHOWN}
    return str(len(invoices))


def _field_date() -> str:
    return pgettext("finder field", "开票日期")


def _field_amount() -> str:
    return pgettext("finder field", "金额")


def _field_party() -> str:
    return pgettext("finder field", "交易方")


def _entered(query: FinderQuery) -> list[str]:
    """The fields besides the identity that were entered (named as `_agreements` names them)."""
    entered = []
    if query.date:
        entered.append(_field_date())
    if query.amount is not None:
        entered.append(_field_amount())
    if query.party:
        entered.append(_field_party())
    return entered


def _entered_date(day: dt.date) -> str:
    return _("您输入的开票日期：%(date)s") % {"date": day.isoformat()}


def _amount_agrees(query: FinderQuery, invoice: Invoice) -> bool:
    if query.basis == Basis.TOTAL:
        return query.amount == invoice.total
    if query.basis == Basis.AMOUNT:
        return query.amount == invoice.amount
    return query.amount in (invoice.total, invoice.amount)


def _amount_check(query: FinderQuery, invoice: Invoice) -> Diagnosis | None:
    amount = query.amount
    total_hit, amount_hit = amount == invoice.total, amount == invoice.amount
    evidence = [
        _("您输入的金额：%(amount)s") % {"amount": amount},
        _("平台记录：金额（不含税）%(amount)s，税额 %(tax)s，价税合计 %(total)s")
        % {"amount": invoice.amount, "tax": invoice.tax, "total": invoice.total},
    ]
    if query.basis == Basis.TOTAL and amount_hit and not total_hit:
        message = _("所填的是不含税金额，而查询要的是价税合计：请填价税合计 %(total)s。")
    elif query.basis == Basis.AMOUNT and total_hit and not amount_hit:
        message = _("所填的是价税合计（含税），而查询要的是不含税金额：请填金额 %(amount)s。")
    elif total_hit or amount_hit:
        return None
    else:
        return Diagnosis(
            Code.AMOUNT_MISMATCH,
            _("号码对得上，但金额与平台记录的不含税金额和价税合计都不同。"),
            score=80,
            evidence=evidence,
            numbers=[invoice.number],
        )
    return Diagnosis(
        Code.TAX_INCLUSION_MISMATCH,
        message % {"total": invoice.total, "amount": invoice.amount},
        score=95,
        evidence=evidence,
        numbers=[invoice.number],
    )


def _party_agrees(party: str, invoice: Invoice) -> bool:
    key = party.upper()
    return key in (invoice.seller_tax_id.upper(), invoice.buyer_tax_id.upper()) or (
        party in invoice.seller_name or party in invoice.buyer_name
    )


def _status(invoice: Invoice) -> list[Diagnosis]:
    diagnoses = []
    if invoice.status == InvoiceStatus.VOIDED:
        diagnoses.append(
            Diagnosis(
                Code.VOIDED,
                _("这张发票已作废：作废的发票不能再查验、报销或抵扣，请向开票方索取新开的发票。"),
                score=100,
                evidence=[_status_line(invoice)],
                numbers=[invoice.number],
            )
        )
    reds = list(invoice.red_invoices.filter(is_red=True).order_by("issue_date", "id"))
    red_status = invoice.status in (
        InvoiceStatus.RED_LETTERED,
        InvoiceStatus.PARTLY_RED,
        InvoiceStatus.FULLY_RED,
    )
    if reds or red_status:
        evidence = [_status_line(invoice)]
        evidence += [
            _("红字发票 %(number)s，开票日期 %(date)s，价税合计 %(total)s")
            % {"number": red.number, "date": red.issue_date.isoformat(), "total": red.total}
            for red in reds
        ]
        partly = invoice.status == InvoiceStatus.PARTLY_RED
        diagnoses.append(
            Diagnosis(
                Code.RED_LETTERED,
                _("这张发票已部分红冲：红字发票冲减了其中一部分金额。")
                if partly
                else _("这张发票已红冲：开具了对应的红字发票，原发票的金额已被冲销。"),
                score=100,
                evidence=evidence,
                proposals=[Proposal(red, explanation=_("对应的红字发票")) for red in reds],
            )
        )
    return diagnoses


def _status_line(invoice: Invoice) -> str:
    return _("发票状态：%(status)s") % {"status": InvoiceStatus(invoice.status).label}


# --- near matches --------------------------------------------------------------------------------

_PATTERN_PRIOR = {
    nearmatch.LOOKALIKE: 30,
    nearmatch.CODE_PLUS_NUMBER: 30,
    nearmatch.CODE_NUMBER_SWAPPED: 30,
    nearmatch.ADJACENT_SWAP: 20,
    nearmatch.ONE_DIGIT: 15,
    nearmatch.DIGIT_MISSING: 10,
    nearmatch.DIGIT_EXTRA: 10,
}


def _near_proposals(query: FinderQuery, invoices: list[Invoice]) -> list[Proposal]:
    proposals = []
    for invoice in invoices:
        pattern = nearmatch.classify_identity(
            query.code, query.number, invoice.code, invoice.number
        )
        if pattern is None:
            continue
        agrees = _agreements(query, invoice)
        proposals.append(
            Proposal(
                invoice,
                pattern=pattern,
                explanation=_explain(query, invoice, pattern),
                score=_PATTERN_PRIOR[pattern] + 40 * len(agrees),
                agrees=agrees,
            )
        )
    proposals.sort(key=lambda p: (-p.score, -p.invoice.issue_date.toordinal(), p.invoice.number))
    return proposals


def _agreements(query: FinderQuery, invoice: Invoice) -> list[str]:
    agrees = []
    if query.date and query.date == invoice.issue_date:
        agrees.append(_field_date())
    if query.amount is not None and _amount_agrees(query, invoice):
        agrees.append(_field_amount())
    if query.party and _party_agrees(query.party, invoice):
        agrees.append(_field_party())
    return agrees


def _explain(query: FinderQuery, invoice: Invoice, pattern: str) -> str:
    if pattern == nearmatch.CODE_PLUS_NUMBER:
        return _(
            "所填代码“%(code)s”和号码“%(number)s”合起来就是 20 位数电发票号码 "
            "%(digital)s：数电发票没有发票代码"
        ) % {"code": query.code, "number": query.number, "digital": invoice.number}
    if pattern == nearmatch.CODE_NUMBER_SWAPPED:
        return pgettext("near match explanation", "发票代码和发票号码填反了")
    if query.code and query.number == invoice.number:
        difference = _difference(query.code, invoice.code)
        if not difference:
            return _("发票代码")
        return _("发票代码%(difference)s") % {"difference": difference}
    difference = _difference(query.number or query.code, invoice.number)
    if not difference:
        return _("发票号码")
    return _("发票号码%(difference)s") % {"difference": difference}


def _difference(entered: str, stored: str) -> str:
    """Which digit differs: nearmatch.describe, translated ("" when no pattern)."""
    e, s = nearmatch.normalize(entered), nearmatch.normalize(stored)
    pattern = nearmatch.classify(e, s)
    if pattern is None:
        return ""
    first = next((i for i in range(min(len(e), len(s))) if e[i] != s[i]), min(len(e), len(s)))
    if pattern == nearmatch.LOOKALIKE:
        return pgettext("clause separator", "；").join(
            _("第 %(position)s 位的字母“%(letter)s”应为数字“%(digit)s”")
            % {"position": i + 1, "letter": e[i], "digit": s[i]}
            for i in range(len(e))
            if e[i] != s[i]
        )
    if pattern == nearmatch.ONE_DIGIT:
        return _("第 %(position)s 位：输入的是“%(typed)s”，应为“%(right)s”") % {
            "position": first + 1,
            "typed": e[first],
            "right": s[first],
        }
    if pattern == nearmatch.ADJACENT_SWAP:
        return _("第 %(first)s、%(second)s 位颠倒：输入的是“%(typed)s”，应为“%(right)s”") % {
            "first": first + 1,
            "second": first + 2,
            "typed": e[first : first + 2],
            "right": s[first : first + 2],
        }
    lengths = {"position": first + 1, "typed_length": len(e), "length": len(s)}
    if pattern == nearmatch.DIGIT_MISSING:
        return _(
            "漏了第 %(position)s 位的“%(digit)s”：输入了 %(typed_length)s 位，应为 %(length)s 位"
        ) % {**lengths, "digit": s[first]}
    return _(
        "第 %(position)s 位的“%(digit)s”多余：输入了 %(typed_length)s 位，应为 %(length)s 位"
    ) % {**lengths, "digit": e[first]}


def _near_match(proposals: list[Proposal]) -> Diagnosis:
    best = proposals[0]
    shown = proposals[:NEAR_MATCHES_SHOWN]
    if best.pattern in (
        nearmatch.LOOKALIKE,
        nearmatch.CODE_PLUS_NUMBER,
        nearmatch.CODE_NUMBER_SWAPPED,
    ):
        score = 96
    elif best.agrees:
        score = 94
    elif len(proposals) == 1:
        score = 90
    else:
        score = 72
    if len(proposals) == 1:
        message = _("没有这个号码，但有一张号码相近的发票：%(pattern)s。") % {
            "pattern": PATTERN_LABELS[best.pattern]
        }
    else:
        message = _("没有这个号码，但有 %(count)s 张号码相近的发票，最可能的排在前面。") % {
            "count": len(proposals)
        }
    evidence = []
    for p in shown:
        text = p.explanation
        if p.agrees:
            text = ngettext(
                "%(explanation)s；%(fields)s也对得上",
                "%(explanation)s；%(fields)s也对得上",
                len(p.agrees),
            ) % {"explanation": text, "fields": listed(p.agrees)}
        evidence.append(_about(p.invoice.number, text))
    more = len(proposals) - len(shown)
    if more > 0:
        evidence.append(
            ngettext(
                "另有 %(count)s 张，请补充开票日期或金额以缩小范围",
                "另有 %(count)s 张，请补充开票日期或金额以缩小范围",
                more,
            )
            % {"count": more}
        )
    return Diagnosis(Code.NEAR_MATCH, message, score=score, evidence=evidence, proposals=shown)


# --- what the number, the date and the organization's work in progress say -----------------------


def _from_number(query: FinderQuery, today: dt.date, *, near: bool) -> list[Diagnosis]:
    info = numbers.parse(query.code or None, query.number or None, today=today)
    diagnoses = []
    region = info.region
    if region is not None and region.province_code != PLATFORM_REGION and not near:
        province = _region(PROVINCES[region.province_code].name)
        where = _region(region.name) if region.is_plan_city else province
        if info.kind is numbers.NumberKind.DIGITAL:
            digits = _("号码第 3-4 位“%(digits)s”") % {
                "digits": info.number[2:4] if len(info.number) == 20 else ""
            }
        else:
            digits = _("发票代码第 2-5 位")
        if region.is_plan_city:
            system = _("%(where)s税务局的系统（属%(province)s）") % {
                "where": where,
                "province": province,
            }
        else:
            system = _("%(where)s税务局的系统") % {"where": where}
        diagnoses.append(
            Diagnosis(
                Code.OTHER_REGION,
                _(
                    "这是%(where)s开具的发票，数据在%(system)s中，不在北京的平台里。"
                    "请在全国增值税发票查验平台或%(where)s电子税务局查验。"
                )
                % {"where": where, "system": system},
                score=88,
                evidence=[
                    _("%(digits)s是地区代码，表示%(region)s")
                    % {"digits": digits, "region": _region(region.name)}
                ],
                steps=[Step(_("全国增值税发票查验平台"), NATIONAL_VERIFICATION_URL)],
            )
        )
    if info.year is not None and info.year < today.year - RETENTION_YEARS:
        diagnoses.append(_too_old(_("号码显示开票年份为 %(year)s 年") % {"year": info.year}))
    return diagnoses


def _from_date(query: FinderQuery, today: dt.date) -> list[Diagnosis]:
    if query.date is None:
        return []
    evidence = [
        _("您输入的开票日期：%(date)s；今天：%(today)s")
        % {"date": query.date.isoformat(), "today": today.isoformat()}
    ]
    if query.date > today:
        return [
            Diagnosis(
                Code.FUTURE_DATE,
                _("开票日期在未来，可能输错了：请核对发票上的开票日期。"),
                score=92,
                evidence=evidence,
            )
        ]
    # T+1: the data of day D is on the platform from D+1 (D + SYNC_WINDOW_DAYS).
    available = query.date + dt.timedelta(days=SYNC_WINDOW_DAYS)
    if available > today:
        return [
            Diagnosis(
                Code.TOO_RECENT,
                _(
                    "开票数据在开票次日才同步到平台，当天开具的发票暂时查不到："
                    "请于 %(date)s 起再查。"
                )
                % {"date": available.isoformat()},
                score=90,
                evidence=evidence,
            )
        ]
    if available + dt.timedelta(days=SYNC_WINDOW_DAYS) > today:  # data may lag up to a day
        retry = today + dt.timedelta(days=1)
        return [
            Diagnosis(
                Code.TOO_RECENT,
                _(
                    "开票数据通常在开票次日同步到平台，偶尔会延迟一天：如果今天仍查不到，"
                    "请于 %(date)s 再查。"
                )
                % {"date": retry.isoformat()},
                score=55,
                evidence=evidence,
            )
        ]
    if query.date < _years_before(today, RETENTION_YEARS):
        return [_too_old(_entered_date(query.date))]
    return []


def _too_old(evidence: str) -> Diagnosis:
    return Diagnosis(
        Code.TOO_OLD,
        _("这张发票开具已超过 %(years)s 年：平台没有迁移更早的历史数据，如需留存，可申请补录。")
        % {"years": RETENTION_YEARS},
        score=65,
        evidence=[evidence],
    )


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _pending(organization: Organization, query: FinderQuery) -> list[Diagnosis]:
    diagnoses = []
    application = _recovery_open(organization, query)
    if application is not None:
        diagnoses.append(_recovery_progress(application))
    else:
        rejected = _recovery_rejected(organization, query)
        if rejected is not None:
            diagnoses.append(rejected)
    diagnoses += _imports_pending(organization, query)
    return diagnoses


def _when(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _recovery_progress(application) -> Diagnosis:
    """An open 补录 application for this invoice: what it waits for, and who owes the next step."""
    status = application.status
    evidence = [
        _("补录申请 #%(id)s，状态：%(status)s")
        % {"id": application.pk, "status": application.get_status_display()}
    ]
    if status == "draft":
        message = _(
            "这张发票的补录申请还是草稿，尚未提交，平台不会审核："
            "请上传发票文件等证明材料并提交申请。"
        )
        evidence.append(_("创建于 %(time)s") % {"time": _when(application.created_at)})
        label = _("上传材料并提交")
    elif status == "more_info":
        reason = (getattr(application, "staff_reason", "") or "").strip()
        message = _(
            "平台审核人员要求补充材料，这张发票的补录申请正在等贵单位补交：补交后才会继续审核。"
        )
        if reason:
            evidence.append(_("审核人员要求：%(reason)s") % {"reason": reason})
        decided = getattr(application, "decided_at", None)
        if decided:
            evidence.append(_("提出要求的时间：%(time)s") % {"time": _when(decided)})
        label = pgettext("finder step", "补充材料")
    else:  # submitted: in staff review
        message = _("这张发票的补录申请已提交，正在等待平台审核：审核通过后即可查到。")
        submitted = getattr(application, "submitted_at", None) or application.created_at
        evidence.append(_("提交于 %(time)s") % {"time": _when(submitted)})
        due = getattr(application, "due_at", None)
        if due:
            evidence.append(_("审核期限：%(time)s") % {"time": _when(due)})
        label = _("查看补录进度")
    return Diagnosis(
        Code.RECOVERY_PENDING,
        message,
        score=97,
        evidence=evidence,
        steps=_steps((label, "recovery_detail", [application.pk], None)),
    )


def _recovery_open(organization: Organization, query: FinderQuery):
    try:
        from fapiao.recovery.selectors import recovery_open_for
    except ImportError:  # 补录 not installed yet
        return None
    number = query.number or query.code
    if not number:
        return None
    return recovery_open_for(
        organization=organization, number=number, code=query.code if query.number else ""
    )


def _recovery_rejected(organization: Organization, query: FinderQuery) -> Diagnosis | None:
    """The organization's application for this invoice that staff rejected lately."""
    try:
        from fapiao.recovery.models import RecoveryApplication, RecoveryStatus
    except ImportError:
        return None
    number = query.number or query.code
    if not number:
        return None
    code = query.code if query.number and len(number) != DIGITAL_LENGTH else ""
    application = (
        RecoveryApplication.objects.filter(
            organization=organization,
            number=number,
            code=code,
            status=RecoveryStatus.REJECTED,
            decided_at__gte=timezone.now() - REJECTED_LOOKBACK,
        )
        .order_by("-decided_at", "-id")
        .first()
    )
    if application is None:
        return None
    evidence = [
        _("补录申请 #%(id)s，状态：%(status)s，驳回于 %(time)s")
        % {
            "id": application.pk,
            "status": application.get_status_display(),
            "time": _when(application.decided_at),
        }
    ]
    if application.staff_reason.strip():
        evidence.append(_("驳回原因：%(reason)s") % {"reason": application.staff_reason.strip()})
    return Diagnosis(
        Code.RECOVERY_REJECTED,
        _(
            "这张发票的补录申请被驳回了，因此没有录入平台：请按驳回原因准备材料后重新申请补录，"
            "如有疑问请联系平台客服。"
        ),
        score=93,
        evidence=evidence,
        steps=_steps(
            (_("查看被驳回的申请"), "recovery_detail", [application.pk], None),
            (_("重新申请补录"), "recovery_new", None, recovery_params(query)),
            (_("联系平台客服"), "support_new", None, None),
        ),
    )


def _imports_pending(organization: Organization, query: FinderQuery) -> list[Diagnosis]:
    from fapiao.imports.models import ImportStatus, InvoiceImport
    from fapiao.imports.services import resumable

    since = timezone.now() - IMPORT_LOOKBACK
    recent = list(
        InvoiceImport.objects.filter(organization=organization, created_at__gte=since).order_by(
            "-created_at", "-id"
        )[:RECENT_IMPORTS]
    )
    diagnoses = []
    if query.number:
        diagnoses += _rejected_rows(query, [j for j in recent if j.rejected])
    for job in recent:
        if job.status == ImportStatus.DONE:
            continue
        if job.status == ImportStatus.FAILED or resumable(job):
            message = _(
                "贵单位的批量导入“%(file)s”中断了（已完成 %(percent)s%%），"
                "这张发票可能在尚未导入的部分：继续导入后再查。"
            )
            score = 75
        elif job.status == ImportStatus.MAPPING:
            message = _(
                "贵单位的批量导入“%(file)s”还在等待确认列对应关系，尚未开始导入：确认后再查。"
            )
            score = 68
        else:
            message = _(
                "贵单位的批量导入“%(file)s”正在进行（%(percent)s%%），"
                "这张发票可能还没导入：导入完成后再查。"
            )
            score = 70
        diagnoses.append(
            Diagnosis(
                Code.SYNC_PENDING,
                message % {"file": job.file_name, "percent": job.percent},
                score=score,
                evidence=[
                    _("批量导入 #%(id)s，状态：%(status)s，提交于 %(time)s")
                    % {
                        "id": job.pk,
                        "status": job.get_status_display(),
                        "time": _when(job.created_at),
                    }
                ],
                steps=_steps((_("查看这次导入"), "import_detail", [job.pk], None)),
            )
        )
    return diagnoses


def _rejected_rows(query: FinderQuery, jobs) -> list[Diagnosis]:
    """Rows of these imports that were rejected and carry this number: one query, led by the
    problems' number index, whatever the number of imports and rows. A row whose 发票代码 was
    read and differs from the one entered is another invoice.

    Problems record the row's number since imports migration 0002; those of imports run before
    have none, so those imports are not diagnosed by number (their files are not read again)."""
    from fapiao.imports.models import ImportProblem

    if not jobs:
        return []
    problems = ImportProblem.objects.filter(
        invoice_number=query.number, invoice_import__in=[job.pk for job in jobs], is_warning=False
    )
    if query.code:
        problems = problems.filter(invoice_code__in=[query.code, ""])
    by_job: dict[int, list] = {}
    for problem in problems.order_by("row", "id"):
        by_job.setdefault(problem.invoice_import_id, []).append(problem)
    diagnoses = []
    for job in jobs:
        found = by_job.get(job.pk)
        if not found:
            continue
        diagnoses.append(
            Diagnosis(
                Code.SYNC_PENDING,
                _(
                    "这张发票在贵单位的批量导入“%(file)s”中被拒绝了"
                    "（第 %(row)s 行）：按原因改正后重新导入即可。"
                )
                % {"file": job.file_name, "row": found[0].row},
                score=93,
                evidence=[_problem_line(p) for p in found],
                steps=_steps((_("下载未导入的行"), "import_rejected", [job.pk], None))
                + _steps((_("查看这次导入"), "import_detail", [job.pk], None)),
            )
        )
    return diagnoses


def _problem_line(problem) -> str:
    if problem.column:
        line = _("第 %(row)s 行 %(column)s：%(message)s") % {
            "row": problem.row,
            "column": problem.column,
            "message": problem.message,
        }
    else:
        line = _("第 %(row)s 行：%(message)s") % {"row": problem.row, "message": problem.message}
    return line.replace(" ：", "：")


def _not_on_platform() -> Diagnosis:
    return Diagnosis(
        Code.NOT_ON_PLATFORM,
        _(
            "平台上没有这张发票，也没有号码相近的发票。可能是开票方离线开具后未上传，"
            "或数据在迁移中遗漏：请核对号码，或申请补录。"
        ),
        score=40,
    )


# --- without a number: by date, amount and party ------------------------------------------------


def _by_fields(organization: Organization, query: FinderQuery, today: dt.date) -> FinderResult:
    """Without a number every query is led by an index: the date, the total, a tax ID or the
    name index (search.name_filter); a criterion no index serves alone (an amount excluding tax,
    a name of one or two characters) is looked for only within FIELD_WINDOW_DAYS of today."""
    sides, narrowed = _party_sides(organization, query)
    since = None if narrowed or query.date else today - dt.timedelta(days=FIELD_WINDOW_DAYS)
    on_day = {"issue_date": query.date} if query.date else {}
    found = _fetch(
        _legs(sides, query.amount, query.basis, since), FIELD_MATCHES_SHOWN + 1, **on_day
    )
    if len(found) == 1:
        return FinderResult(query, True, found[0], _status(found[0]))
    diagnoses: list[Diagnosis] = []
    if found:
        shown = found[:FIELD_MATCHES_SHOWN]
        diagnoses.append(
            Diagnosis(
                Code.SEVERAL_MATCHES,
                _("有 %(count)s 张发票符合所填条件：请从中选择，或补充发票号码。")
                % {"count": _count(found)},
                score=90,
                proposals=[Proposal(inv) for inv in shown],
            )
        )
        return FinderResult(query, False, None, diagnoses)
    if query.amount is not None and query.basis != Basis.EITHER:
        other = Basis.AMOUNT if query.basis == Basis.TOTAL else Basis.TOTAL
        hits = _fetch(_legs(sides, query.amount, other, since), FIELD_MATCHES_SHOWN, **on_day)
        if hits:
            if query.basis == Basis.TOTAL:
                message = _(
                    "按价税合计没有找到，但有发票的不含税金额正是 %(amount)s："
                    "可能把不含税金额当成了价税合计。"
                )
            else:
                message = _(
                    "按不含税金额没有找到，但有发票的价税合计正是 %(amount)s："
                    "可能把价税合计当成了不含税金额。"
                )
            diagnoses.append(
                Diagnosis(
                    Code.TAX_INCLUSION_MISMATCH,
                    message % {"amount": query.amount},
                    score=92,
                    evidence=[
                        _about(
                            inv.number,
                            _("金额（不含税）%(amount)s，价税合计 %(total)s")
                            % {"amount": inv.amount, "total": inv.total},
                        )
                        for inv in hits
                    ],
                    proposals=[Proposal(inv) for inv in hits],
                )
            )
    if query.date and (query.amount is not None or query.party):
        # Other dates within DATE_WINDOW_DAYS: the nearest first (an index range, never a scan
        # of the organization's whole history).
        window = dt.timedelta(days=DATE_WINDOW_DAYS)
        legs = _legs(sides, query.amount, query.basis, None)
        before = _fetch(
            legs,
            NEAR_MATCHES_SHOWN,
            issue_date__lt=query.date,
            issue_date__gte=query.date - window,
        )
        after = _fetch(
            legs,
            NEAR_MATCHES_SHOWN,
            newest_first=False,
            issue_date__gt=query.date,
            issue_date__lte=query.date + window,
        )
        near_dates = before + after
        near_dates.sort(key=lambda inv: (abs((inv.issue_date - query.date).days), -inv.pk))
        hits = near_dates[:NEAR_MATCHES_SHOWN]
        if hits:
            diagnoses.append(
                Diagnosis(
                    Code.DATE_MISMATCH,
                    _("这一天没有符合条件的发票，但其他日期有：可能开票日期记错了。"),
                    score=85,
                    evidence=[
                        _about(
                            inv.number,
                            _("开票日期 %(date)s") % {"date": inv.issue_date.isoformat()},
                        )
                        for inv in hits
                    ],
                    proposals=[Proposal(inv) for inv in hits],
                )
            )
    diagnoses += _from_date(query, today)
    diagnoses += _imports_pending(organization, query)
    if not diagnoses:
        not_found = _not_on_platform()
        if since is not None:
            not_found.evidence.append(
                _("只查了 %(since)s 以来的发票：补充开票日期、价税合计或对方税号可以查更早的")
                % {"since": since.isoformat()}
            )
        diagnoses.append(not_found)
    return FinderResult(query, False, None, diagnoses)


def _looks_like_tax_id(text: str) -> bool:
    return len(text) in (15, 17, 18, 20) and text.isalnum() and any(c.isdigit() for c in text)


def _party_sides(organization: Organization, query: FinderQuery) -> tuple[list, bool]:
    """The organization's invoices as seller and as buyer (one indexed query each), filtered by
    the party entered; and whether that filter is selective enough to need no date window."""
    sides = [
        Invoice.objects.filter(seller_org=organization),
        Invoice.objects.filter(buyer_org=organization),
    ]
    if not query.party:
        return sides, False
    key = query.party.upper()
    if _looks_like_tax_id(key):
        party = Q(seller_tax_id=key) | Q(buyer_tax_id=key)
        return [side.filter(party) for side in sides], True
    selective = len(query.party) >= search.TRIGRAM
    names = search.matching_names(query.party, search.field_kind("party"))  # once, not per leg
    if selective:
        # The matching invoices' ids, when few enough.
        matching = search.name_filter(
            Invoice.objects.all(), query.party, field="party", names=names
        )
        ids = list(matching.order_by().values_list("pk", flat=True)[: NAME_IDS_MAX + 1])
        if len(ids) <= NAME_IDS_MAX:
            # The ids lead: the organization is compared as an expression (`+ 0`) that no index
            # serves, or SQLite, without statistics, walks the organization's whole index.
            keyed = Invoice.objects.alias(
                seller_key=F("seller_org_id") + 0, buyer_key=F("buyer_org_id") + 0
            ).filter(pk__in=ids)
            return [
                keyed.filter(seller_key=organization.pk),
                keyed.filter(buyer_key=organization.pk),
            ], True
    named = [search.name_filter(side, query.party, field="party", names=names) for side in sides]
    return named, selective


def _legs(sides: list, amount: Decimal | None, basis: str, since: dt.date | None) -> list:
    """One query per side and per amount basis: each served by an index of its own. `since`
    bounds the criteria no index serves alone."""
    legs = []
    for side in sides:
        if amount is None:
            legs.append(side.filter(issue_date__gte=since) if since else side)
            continue
        if basis in (Basis.TOTAL, Basis.EITHER):
            legs.append(side.filter(total=amount))
        if basis in (Basis.AMOUNT, Basis.EITHER):
            by_amount = side.filter(amount=amount)
            legs.append(by_amount.filter(issue_date__gte=since) if since else by_amount)
    return legs


def _fetch(legs: list, limit: int, *, newest_first: bool = True, **where) -> list[Invoice]:
    """The first `limit` invoices of the union of `legs` (by date), each invoice once.

    Ordered by an expression of the date, not the column: SQLite (without statistics) would
    otherwise walk the organization's date index for the order and test every row, where the
    leg's own index (total, tax ID, name) finds the few rows at once."""
    day = Coalesce(F("issue_date"), F("issue_date"))
    order = (day.desc(), F("id").desc()) if newest_first else (day.asc(), F("id").asc())
    seen: dict[int, Invoice] = {}
    for leg in legs:
        for invoice in leg.filter(**where).order_by(*order)[:limit]:
            seen[invoice.pk] = invoice
    ordered = sorted(seen.values(), key=lambda inv: (inv.issue_date, inv.pk), reverse=newest_first)
    return ordered[:limit]


# --- next steps ----------------------------------------------------------------------------------


def _steps(*wanted: tuple[str, str, list | None, dict | None]) -> list[Step]:
    """Links to the pages that exist; a module not installed yet is left out."""
    steps = []
    for label, name, args, params in wanted:
        try:
            url = reverse(name, args=args or [])
        except NoReverseMatch:
            continue
        if params:
            url += "?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})
        steps.append(Step(label, url))
    return steps


def invoice_url(invoice: Invoice) -> str:
    return reverse("invoice_detail", args=[invoice.pk])


def recovery_params(query: FinderQuery) -> dict[str, str]:
    """The 补录 form's prefill from what was entered."""
    params = {
        "number": query.number,
        "code": query.code,
        "date": query.date.isoformat() if query.date else "",
    }
    if query.amount is not None:
        key = "amount" if query.basis == Basis.AMOUNT else "total"
        params[key] = format(query.amount, "f")
    party = query.party
    if party:
        looks_like_tax_id = len(party) in (15, 18, 20) and party.replace(" ", "").isalnum()
        params["seller_tax_id" if looks_like_tax_id else "seller_name"] = party
    return params


def next_steps(query: FinderQuery, code: str) -> list[Step]:
    steps = []
    support = (_("联系平台客服"), "support_new", None, None)
    help_ = (_("帮助"), "help", None, None)
    if code in (Code.NOT_VISIBLE,):
        return _steps(support, help_)
    steps += _steps((_("申请补录"), "recovery_new", None, recovery_params(query)))
    steps += _steps((_("与台账对账"), "reconcile_new", None, None))
    steps += _steps(support, help_)
    return steps
