"""查询: an organization's invoices by number, date, amount, status, type, party and item, sorted,
in pages that stay fast however deep the reader goes. Reads only.

Paging is by keyset ("seek"): a page starts after the (sort value, id) of the previous page's
last row, so page 2,000 costs what page 1 costs; OFFSET would read and throw away every row
before it. An organization sees the invoices it sold and those it bought; the two are read as
separate queries (each walks its own index in order) and merged, because one query with
`seller OR buyer` cannot use an index for the order and would sort every matching row per page.
"""

import datetime
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from django.db import OperationalError, connection, transaction
from django.db.models import F, Q, QuerySet

from fapiao.accounts.models import Organization
from fapiao.invoices import search
from fapiao.invoices.models import Invoice
from fapiao.rules import numbers, uscc

PAGE_SIZE = 50
COUNT_LIMIT = 10_000  # beyond this the page says "10,000+" instead of counting on
COUNT_BUDGET_MS = 50  # a count that takes longer is given up: the page does not wait for it
PIN_LIMIT = 2_000  # see _pin
EXPORT_CHUNK = 2_000


class Direction(StrEnum):
    ALL = "all"
    ISSUED = "issued"  # 开具: the organization is the seller
    RECEIVED = "received"  # 取得: the organization is the buyer


class AmountBasis(StrEnum):
    TOTAL = "total"  # 价税合计
    AMOUNT = "amount"  # 金额（不含税）


class PartyRole(StrEnum):
    ANY = "party"  # seller or buyer
    SELLER = "seller"
    BUYER = "buyer"


# Sort keys as the URL spells them; "-" is descending. Ties are broken by id.
SORT_FIELDS = {"date": "issue_date", "total": "total", "number": "number"}
SORTS = ("-date", "date", "-total", "total", "-number", "number")
DEFAULT_SORT = "-date"

LIST_COLUMNS = (
    "type_code",
    "code",
    "number",
    "issue_date",
    "seller_org",
    "buyer_org",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "amount",
    "tax",
    "total",
    "status",
    "source",
    "is_red",
)


@dataclass(frozen=True)
class Cursor:
    """A position in a sorted list: the sort value and id of the row a page starts after."""

    value: datetime.date | Decimal | str
    id: int

    def encode(self) -> str:
        value = format(self.value, "f") if isinstance(self.value, Decimal) else str(self.value)
        return f"{value}~{self.id}"

    @classmethod
    def of(cls, invoice: Invoice, sort: str) -> "Cursor":
        return cls(getattr(invoice, SORT_FIELDS[sort.lstrip("-")]), invoice.pk)

    @classmethod
    def decode(cls, token: str, sort: str) -> "Cursor":
        """Raises ValueError when the token is not a position in a list sorted by `sort`."""
        raw_value, sep, raw_id = token.rpartition("~")
        if not sep or not raw_id.isdigit() or not raw_id.isascii():
            raise ValueError(token)
        name = sort.lstrip("-")
        if name == "date":
            value = datetime.date.fromisoformat(raw_value)
        elif name == "total":
            try:
                value = Decimal(raw_value)
            except InvalidOperation:
                raise ValueError(token) from None
            if not value.is_finite():
                raise ValueError(token)
        elif raw_value.isascii() and raw_value.isdigit():
            value = raw_value
        else:
            raise ValueError(token)
        return cls(value, int(raw_id))


@dataclass(frozen=True)
class InvoiceFilters:
    """What the reader asked for; empty fields do not filter."""

    number: str = ""  # 发票号码 and/or 发票代码, see `number_query`
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    amount_basis: AmountBasis = AmountBasis.TOTAL
    status: int | None = None
    type_code: str = ""
    direction: Direction = Direction.ALL
    party: str = ""  # a name substring, or a 纳税人识别号 (matched exactly)
    party_role: PartyRole = PartyRole.ANY
    item: str = ""  # a substring of any line's item name
    sort: str = DEFAULT_SORT
    after: Cursor | None = None  # next page: the rows after this position
    before: Cursor | None = None  # previous page: the rows before it


@dataclass(frozen=True)
class InvoicePage:
    invoices: list[Invoice]
    next_cursor: Cursor | None
    previous_cursor: Cursor | None
    count: int | None  # at most COUNT_LIMIT + 1; None when counting was not cheap

    @property
    def count_exceeds_limit(self) -> bool:
        return self.count is not None and self.count > COUNT_LIMIT


def invoice_search(*, organization: Organization, filters: InvoiceFilters) -> InvoicePage:
    """One page (PAGE_SIZE rows) of the organization's invoices matching `filters`."""
    branches = _matching(organization, filters)
    sort = filters.sort
    if filters.before is not None:
        rows, more = _seek(branches, sort, before=filters.before, limit=PAGE_SIZE)
        if not more and len(rows) < PAGE_SIZE:
            # Rows came or went since the reader left the start: show the first page as it is.
            rows, more = _seek(branches, sort, limit=PAGE_SIZE)
            has_previous, has_next = False, more
        else:
            has_previous, has_next = more, True
    else:
        rows, more = _seek(branches, sort, after=filters.after, limit=PAGE_SIZE)
        has_previous, has_next = filters.after is not None, more
    return InvoicePage(
        invoices=rows,
        next_cursor=Cursor.of(rows[-1], sort) if rows and has_next else None,
        previous_cursor=Cursor.of(rows[0], sort) if rows and has_previous else None,
        count=_count_within(lambda: _count(branches, COUNT_LIMIT), COUNT_BUDGET_MS),
    )


def invoice_count(*, organization: Organization, filters: InvoiceFilters, limit: int) -> int:
    """How many invoices match, counting no further than limit + 1."""
    return _count(_matching(organization, filters), limit)


def invoices_matching(
    *, organization: Organization, filters: InvoiceFilters, chunk: int = EXPORT_CHUNK
) -> Iterator[Invoice]:
    """Every matching invoice in the filter's order (ignoring its page position), read in chunks
    of `chunk` rows so that memory stays flat for any number of rows."""
    branches = _matching(organization, filters)
    cursor = None
    while True:
        rows, more = _seek(branches, filters.sort, after=cursor, limit=chunk)
        yield from rows
        if not more:
            return
        cursor = Cursor.of(rows[-1], filters.sort)


def number_query(text: str) -> Q:
    """发票号码/代码 as typed: exact, or a prefix when it ends with * or is shorter than a full
    number. One value is a 数电 number, a legacy number or a legacy code (or a prefix of one),
    or code and number written together; two values are code and number."""
    tokens = text.replace(",", " ").replace("，", " ").split()
    if len(tokens) >= 2:
        code, number = tokens[0], tokens[1]
        return _exact_or_prefix("code", code, numbers.LEGACY_CODE_LENGTHS) & _exact_or_prefix(
            "number", number, (numbers.LEGACY_NUMBER_LENGTH, numbers.DIGITAL_LENGTH)
        )
    if not tokens:
        return Q()
    token = tokens[0]
    if token.endswith("*"):
        prefix = token.rstrip("*")
        return _prefix("number", prefix) | _prefix("code", prefix)
    legacy = numbers.LEGACY_NUMBER_LENGTH
    if len(token) == numbers.DIGITAL_LENGTH:
        # A 数电 number, or a 12-digit code and 8-digit number written together.
        return Q(number=token) | Q(code=token[:-legacy], number=token[-legacy:])
    if len(token) - legacy in numbers.LEGACY_CODE_LENGTHS:
        return Q(code=token[:-legacy], number=token[-legacy:]) | _prefix("number", token)
    query = _prefix("number", token)
    if len(token) <= max(numbers.LEGACY_CODE_LENGTHS):
        query |= _prefix("code", token)
    return query


def tax_id_of(text: str) -> str | None:
    """The 纳税人识别号 when `text` is one (USCC, 15-character or an individual's ID)."""
    check = uscc.check(text)
    if check.well_formed and check.normalized != uscc.NATURAL_PERSON:
        return check.normalized
    return None


def _exact_or_prefix(field: str, token: str, full_lengths: tuple[int, ...]) -> Q:
    if token.endswith("*") or len(token) < min(full_lengths):
        return _prefix(field, token.rstrip("*"))
    return Q(**{field: token})


def _prefix(field: str, prefix: str) -> Q:
    """`field` starts with `prefix`, as a range so that the B-tree index serves it on both
    databases (SQLite's LIKE cannot use a case-sensitive index; PostgreSQL's needs
    varchar_pattern_ops). Numbers and codes are ASCII digits."""
    if not prefix:
        return Q()
    if not (prefix.isascii() and prefix.isdigit()):
        return Q(**{f"{field}__startswith": prefix})
    upper = str(int(prefix) + 1).zfill(len(prefix))
    if len(upper) > len(prefix):  # all nines: no upper bound
        return Q(**{f"{field}__gte": prefix})
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": upper})


def _criteria(filters: InvoiceFilters) -> Q:
    query = Q()
    if filters.date_from:
        query &= Q(issue_date__gte=filters.date_from)
    if filters.date_to:
        query &= Q(issue_date__lte=filters.date_to)
    basis = AmountBasis(filters.amount_basis).value
    if filters.amount_min is not None:
        query &= Q(**{f"{basis}__gte": filters.amount_min})
    if filters.amount_max is not None:
        query &= Q(**{f"{basis}__lte": filters.amount_max})
    if filters.status is not None:
        query &= Q(status=filters.status)
    if filters.type_code:
        query &= Q(type_code=filters.type_code)
    return query


def _branches(
    organization: Organization, direction: Direction, *, pinned: bool = False
) -> list[QuerySet[Invoice]]:
    """The organization's invoices as disjoint querysets whose union is `invoices_visible_to`.

    `pinned`: the caller filters by a short list of ids (see `_pin`). Then one queryset does,
    with the organization compared as an expression (`+ 0`) that no index serves, so that the
    database looks the ids up by primary key instead of walking the organization's date index.
    """
    if pinned:
        sold, bought = Q(seller_key=organization.pk), Q(buyer_key=organization.pk)
        visible = {Direction.ALL: sold | bought, Direction.ISSUED: sold, Direction.RECEIVED: bought}
        keys = {"seller_key": F("seller_org_id") + 0, "buyer_key": F("buyer_org_id") + 0}
        return [Invoice.objects.alias(**keys).filter(visible[direction])]
    branches = []
    if direction != Direction.RECEIVED:
        branches.append(Invoice.objects.filter(seller_org=organization))
    if direction != Direction.ISSUED:
        received = Invoice.objects.filter(buyer_org=organization)
        if direction == Direction.ALL:
            received = received.exclude(seller_org=organization)  # counted as sold already
        branches.append(received)
    return branches


def _matching(organization: Organization, filters: InvoiceFilters) -> list[QuerySet[Invoice]]:
    """The organization's invoices matching `filters`, as `_branches`."""
    criteria = _criteria(filters)
    pins: list[list[int]] = []  # id lists of selective conditions, see _pin
    by_name: list[tuple[str, search.Field, list[str] | None]] = []  # searches not pinned

    def pin_or_filter(condition: Q) -> None:
        nonlocal criteria
        ids = _pin(Invoice.objects.filter(condition))
        if ids is None:
            criteria &= condition
        else:
            pins.append(ids)

    if filters.number:
        pin_or_filter(number_query(filters.number))
    party = filters.party.strip()
    role = PartyRole(filters.party_role)
    tax_id = tax_id_of(party) if party else None
    if tax_id:
        pin_or_filter(
            {
                PartyRole.ANY: Q(seller_tax_id=tax_id) | Q(buyer_tax_id=tax_id),
                PartyRole.SELLER: Q(seller_tax_id=tax_id),
                PartyRole.BUYER: Q(buyer_tax_id=tax_id),
            }[role]
        )
    names = [(party, role.value)] if party and not tax_id else []
    if filters.item.strip():
        names.append((filters.item.strip(), "item"))
    for text, field in names:
        found = search.matching_names(text, search.field_kind(field))  # once per request
        ids = _pin(search.name_filter(Invoice.objects.all(), text, field=field, names=found))
        if ids is None:
            by_name.append((text, field, found))
        else:
            pins.append(ids)
    if pins:
        criteria &= Q(pk__in=sorted(set.intersection(*map(set, pins))))
    branches = []
    direction = Direction(filters.direction)
    for queryset in _branches(organization, direction, pinned=bool(pins)):
        queryset = queryset.filter(criteria)
        for text, field, found in by_name:
            queryset = search.name_filter(queryset, text, field=field, names=found)
        branches.append(queryset)
    return branches


def _pin(selective: QuerySet[Invoice]) -> list[int] | None:
    """The ids `selective` matches across the whole table, when there are at most PIN_LIMIT.

    A number, a tax ID or a name usually matches a handful of invoices, but SQLite, which keeps
    no statistics unless someone runs ANALYZE, prefers the organization's date index because it
    yields rows in page order, and then reads every invoice of the organization looking for
    them. Asked alone, the condition can only use its own index; the few ids it returns then
    pin the page query to primary-key lookups. A condition matching many invoices is left as a
    filter: the date index meets its rows soon enough.
    """
    ids = list(selective.order_by().values_list("pk", flat=True)[: PIN_LIMIT + 1])
    return ids if len(ids) <= PIN_LIMIT else None


def _seek(
    branches: list[QuerySet[Invoice]],
    sort: str,
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    limit: int,
) -> tuple[list[Invoice], bool]:
    """Up to `limit` rows after `after` (or before `before`) in `sort` order, and whether there
    are more in that direction."""
    field = SORT_FIELDS[sort.lstrip("-")]
    # Reading backwards (the previous page) reverses the order; the rows are turned back below.
    descending = sort.startswith("-") == (before is None)
    order = (f"-{field}", "-id") if descending else (field, "id")
    cursor = before or after
    rows: list[Invoice] = []
    for queryset in branches:
        if cursor is not None:
            queryset = queryset.filter(_beyond(field, cursor, descending=descending))
        rows.extend(queryset.only(*LIST_COLUMNS).order_by(*order)[: limit + 1])
    if len(branches) > 1:
        rows.sort(key=lambda invoice: (getattr(invoice, field), invoice.pk), reverse=descending)
    more = len(rows) > limit
    rows = rows[:limit]
    if before is not None:
        rows.reverse()
    return rows, more


def _beyond(field: str, cursor: Cursor, *, descending: bool) -> Q:
    """(field, id) strictly past the cursor. The first, redundant bound lets the database start
    its index range at the cursor instead of filtering every row before it."""
    strict, inclusive = ("lt", "lte") if descending else ("gt", "gte")
    return Q(**{f"{field}__{inclusive}": cursor.value}) & (
        Q(**{f"{field}__{strict}": cursor.value}) | Q(**{f"id__{strict}": cursor.id})
    )


def _count(branches: list[QuerySet[Invoice]], limit: int) -> int:
    total = 0
    for queryset in branches:
        total += queryset.order_by()[: limit + 1 - total].count()
        if total > limit:
            break
    return total


def _count_within(count: Callable[[], int], budget_ms: int) -> int | None:
    """`count()`, or None when the database would need more than `budget_ms` for it: a filter
    no index serves (a rare status, say) can make a count read every row, and the page should
    not wait for a figure it can do without."""
    connection.ensure_connection()
    try:
        if connection.vendor == "sqlite":
            deadline = time.monotonic() + budget_ms / 1000
            raw = connection.connection
            raw.set_progress_handler(lambda: time.monotonic() > deadline, 5_000)
            try:
                return count()
            finally:
                raw.set_progress_handler(None, 0)
        if connection.vendor == "postgresql":
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('statement_timeout')")
                (previous,) = cursor.fetchone()
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true)", [f"{budget_ms}ms"]
                )
                result = count()
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
                return result
        return count()
    except OperationalError:  # interrupted (SQLite) or cancelled by the timeout (PostgreSQL)
        return None
