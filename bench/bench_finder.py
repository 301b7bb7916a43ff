"""发票查找 at 1,000,000 invoices: finder queries (found; one digit wrong; not on the platform at
all; by fields without a number: date, amount, name, tax ID) against an exact number lookup, the
cheapest question the database can answer, as the anchor.

Called from bench/run.py as `bench_finder(report)` after `bench_query`, whose 1,000,000 invoices
it reuses (bench_query's loader fills them when run alone: `python bench/bench_finder.py`).
"""

import datetime
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ORGANIZATION = "基准测试云科技有限公司"  # bench_query's organization


def bench_finder(report) -> None:
    from django.db import connection

    from fapiao import testing
    from fapiao.accounts.models import Organization
    from fapiao.finder.diagnosis import FinderQuery, invoice_find
    from fapiao.invoices.models import Invoice

    assert connection.vendor == "sqlite", "the finder benchmark fills the scratch SQLite database"
    organization = Organization.objects.filter(name=ORGANIZATION).first()
    if organization is None:
        from bench_query import _fill

        organization = testing.organization(ORGANIZATION)
        started = time.perf_counter()
        _fill(organization)
        print(f"  (loaded 1,000,000 invoices in {time.perf_counter() - started:.0f} s)")
    total = Invoice.objects.count()
    mine = Invoice.objects.filter(seller_org=organization).order_by("id")
    the = mine[total // 2]
    known = the.number
    today = datetime.date.today()

    def find(**fields) -> Callable[[], object]:
        query = FinderQuery(**fields)

        def run():
            return invoice_find(organization=organization, query=query, today=today)

        return run

    def exact():
        return Invoice.objects.filter(code="", number=known).first()

    # Numbers are dense (one sequence): a typo in the last digits is another real invoice, so the
    # typos are made where the sequence has no neighbours.
    wrong_digit = known[:8] + str((int(known[8]) + 7) % 10) + known[9:]
    missing = known[:6] + known[7:]
    absent = known[:5] + "987654321098765"[: len(known) - 5]
    cases = {
        "found (exact number)": (find(number=known), True, None),
        "near miss (one digit wrong)": (find(number=wrong_digit), False, "near_match"),
        "near miss (a digit missing)": (find(number=missing), False, "near_match"),
        "near miss + amount (10 neighbours ranked)": (
            find(number=known[:-1] + "X", amount=Invoice.objects.get(number=known).total),
            False,
            "near_match",
        ),
        "not on the platform at all": (find(number=absent), False, "not_on_platform"),
        # Without a number: each query is led by an index (date, total, tax ID, name index).
        "fields only: date + amount": (
            find(date=the.issue_date, amount=the.total),
            True,
            None,
        ),
        "fields only: amount alone (total index; excl. tax within 92 days)": (
            find(amount=the.total),
            None,
            None,
        ),
        "fields only: buyer name contains (the name without its city)": (
            find(party=the.buyer_name[2:]),
            None,
            None,
        ),
        "fields only: buyer's full name + amount": (
            find(party=the.buyer_name, amount=the.total),
            True,
            None,
        ),
        "fields only: buyer tax ID + date": (
            find(party=the.buyer_tax_id, date=the.issue_date),
            None,
            None,
        ),
        "another region (Shanghai 31)": (
            find(number=absent[:2] + "31" + absent[4:]),
            False,
            "other_region",
        ),
    }
    anchor = _rate(exact)
    print(f"  ({total:,} invoices; anchor: one exact number lookup, {1000 / anchor:.2f} ms)")
    for name, (fn, found, first_code) in cases.items():
        result = fn()
        if found is not None:
            assert result.found is found, (name, result.as_dict())
        if found and first_code is None:
            assert result.invoice.number == known, (name, result.as_dict())
        if first_code:
            assert result.diagnoses[0].code == first_code, (name, result.as_dict())
        if first_code == "near_match":
            assert result.diagnoses[0].candidates[0] == known, (name, result.as_dict())
        figure = _rate(fn)
        report(f"发票查找 {name}", figure, "exact number lookup", anchor, "queries/s")
        print(f"    {1000 / figure:.2f} ms per finder query")


def _rate(fn: Callable[[], object], *, seconds: float = 1.5, rounds: int = 5) -> float:
    """Calls per second: the median of several rounds (as bench/run.py's `rate`)."""
    fn()
    results = []
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / rounds:
            fn()
            n += 1
        results.append(n / elapsed)
    return statistics.median(results)


def main() -> int:
    scratch = tempfile.mkdtemp(prefix="fapiao-bench-")
    try:
        os.environ["FAPIAO_VAR_DIR"] = scratch
        os.environ.pop("DATABASE_URL", None)
        os.environ.setdefault("FAPIAO_STATIC_MANIFEST", "0")
        os.environ.setdefault("LOG_LEVEL", "warning")
        os.environ["DJANGO_SETTINGS_MODULE"] = "fapiao.settings"
        here = Path(__file__).resolve().parent
        sys.path[:0] = [str(here.parent / "src"), str(here)]
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        from run import report

        bench_finder(report)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
