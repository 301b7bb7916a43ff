import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from fapiao.accounts.models import Organization
from fapiao.invoices.models import Invoice, InvoiceStatus

ZERO = Decimal("0.00")


def invoices_visible_to(*, organization: Organization) -> QuerySet[Invoice]:
    """Every invoice the organization may see: those it sold and those it bought."""
    return Invoice.objects.filter(Q(seller_org=organization) | Q(buyer_org=organization))


@dataclass(frozen=True)
class PeriodFigures:
    count: int
    amount: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class MonthFigures:
    month: datetime.date
    count: int
    total: Decimal
    share: int  # percentage of the busiest month, for the bar chart


@dataclass(frozen=True)
class DashboardSummary:
    today: datetime.date
    month_start: datetime.date
    issued_this_month: PeriodFigures
    issued_last_month: PeriodFigures
    received_this_month: PeriodFigures
    issued_all_time: int
    received_all_time: int
    months: list[MonthFigures]
    status_counts: list[tuple[str, int]]
    recent: list[Invoice]

    @property
    def total_change(self) -> Decimal | None:
        """This month's issued total against last month's, in percent (None without a base)."""
        base = self.issued_last_month.total
        if not base:
            return None
        return ((self.issued_this_month.total - base) / abs(base) * 100).quantize(Decimal("0.1"))


def _figures(queryset: QuerySet[Invoice]) -> PeriodFigures:
    row = queryset.aggregate(
        count=Count("id", filter=Q(is_red=False)),
        amount=Sum("amount"),
        tax=Sum("tax"),
        total=Sum("total"),
    )
    return PeriodFigures(
        count=row["count"],
        amount=row["amount"] or ZERO,
        tax=row["tax"] or ZERO,
        total=row["total"] or ZERO,
    )


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def dashboard_summary(*, organization: Organization, today: datetime.date) -> DashboardSummary:
    # Voided invoices never count; red invoices (负数) count in the totals as the reductions
    # they are, but an invoice count means blue invoices.
    valid = ~Q(status=InvoiceStatus.VOIDED)
    issued_all = Invoice.objects.filter(seller_org=organization)
    issued = issued_all.filter(valid)
    received = Invoice.objects.filter(buyer_org=organization).filter(valid)
    month_start = today.replace(day=1)
    last_month_start = _add_months(month_start, -1)
    first_month = _add_months(month_start, -11)

    monthly = {
        row["month"]: row
        for row in issued.filter(issue_date__gte=first_month, issue_date__lte=today)
        .annotate(month=TruncMonth("issue_date"))
        .values("month")
        .annotate(count=Count("id", filter=Q(is_red=False)), total=Sum("total"))
    }
    series = []
    peak = max((row["total"] or ZERO for row in monthly.values()), default=ZERO)
    for offset in range(12):
        month = _add_months(first_month, offset)
        row = monthly.get(month, {"count": 0, "total": ZERO})
        total = row["total"] or ZERO
        share = int(total * 100 / peak) if peak > 0 and total > 0 else 0
        series.append(MonthFigures(month=month, count=row["count"], total=total, share=share))

    # One pass over the organization's issued invoices (its statistics index alone) gives the
    # status counts, the red invoices and the all-time count of valid blue ones.
    labels = dict(InvoiceStatus.choices)
    status_counts, reds, issued_all_time = [], 0, 0
    for row in (
        issued_all.values("is_red", "status").annotate(n=Count("id")).order_by("is_red", "status")
    ):
        if row["is_red"]:
            reds += row["n"]
            continue
        status_counts.append((labels[row["status"]], row["n"]))
        if row["status"] != InvoiceStatus.VOIDED:
            issued_all_time += row["n"]
    if reds:
        status_counts.append((str(_("红字发票")), reds))
    recent = list(
        invoices_visible_to(organization=organization)
        .select_related("seller_org", "buyer_org")
        .order_by("-issue_date", "-id")[:8]
    )
    return DashboardSummary(
        today=today,
        month_start=month_start,
        issued_this_month=_figures(
            issued.filter(issue_date__gte=month_start, issue_date__lte=today)
        ),
        issued_last_month=_figures(
            issued.filter(issue_date__gte=last_month_start, issue_date__lt=month_start)
        ),
        received_this_month=_figures(
            received.filter(issue_date__gte=month_start, issue_date__lte=today)
        ),
        issued_all_time=issued_all_time,
        received_all_time=received.filter(is_red=False).count(),
        months=series,
        status_counts=status_counts,
        recent=recent,
    )
