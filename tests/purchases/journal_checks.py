"""What "the journal equals the rows it came from" means, checked the same way everywhere: after
services ran, after the backfill migration, after the data generator, in the property tests.
Sums are rounded to the stored places (`exact`): SQLite adds decimals in floating point."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum

from buyers.models import WalletBalance, WalletEntry
from purchases.journal.days import days_differences
from purchases.journal.models import WALLET_ENTRY_KINDS, JournalEntry, Kind
from purchases.journal.selectors import exact
from purchases.models import ContractChange, ContractTransaction, Purchase, Refund

PAID = ("completed", "cancelling", "cancelled", "refunded")


def _sums(queryset, amount="amount", key="currency", sign=1):
    return {
        row[key]: (sign * exact(row["total"]), row["count"])
        for row in queryset.order_by()
        .values(key)
        .annotate(total=Sum(amount), count=Count("pk"))
        .order_by()
    }


def source_sums() -> dict[str, dict[str, tuple[Decimal, int]]]:
    """Per journal kind and currency: (sum, count) of the rows each kind is booked from."""
    charged = Purchase.objects.filter(amount__gt=0).filter(
        Q(status__in=PAID)
        | Q(status="failed") & Exists(Refund.objects.filter(purchase=OuterRef("pk")))
    )
    sums = {
        Kind.SALE: _sums(charged),
        Kind.RENEWAL: _sums(ContractTransaction.objects.filter(status="approved", amount__gt=0)),
        Kind.REFUND: _sums(Refund.objects.all(), sign=-1),
    }
    for entry_kind, kind in WALLET_ENTRY_KINDS.items():
        sums[kind] = _sums(WalletEntry.objects.filter(kind=entry_kind))
    # A plan change applied now: its new period's price charged, its unused time credited.
    changed_now = ContractChange.objects.filter(status="applied", timing="now")
    sums[Kind.PLAN_CHARGE] = _sums(changed_now.filter(charge__gt=0), amount="charge")
    sums[Kind.PLAN_CREDIT] = _sums(changed_now.filter(credit__gt=0), amount="credit", sign=-1)
    return sums


def journal_sums() -> dict[str, dict[str, tuple[Decimal, int]]]:
    sums = defaultdict(dict)
    for row in (
        JournalEntry.objects.order_by()
        .values("kind", "currency")
        .annotate(total=Sum("amount"), count=Count("pk"))
        .order_by()
    ):
        sums[row["kind"]][row["currency"]] = (exact(row["total"]), row["count"])
    return sums


def assert_journal_matches_sources():
    """The journal's sums per kind and currency equal those of purchases, renewal charges,
    refunds and wallet entries; each wallet's journal rows add up to its balance; the daily
    totals equal the journal."""
    expected = {kind: sums for kind, sums in source_sums().items() if sums}
    actual = {kind: dict(sums) for kind, sums in journal_sums().items() if kind != Kind.CORRECTION}
    assert actual == expected
    balances = {
        (b.buyer_id, b.currency): b.balance for b in WalletBalance.objects.all() if b.balance
    }
    booked = {
        (row["buyer"], row["currency"]): exact(row["total"])
        for row in JournalEntry.objects.filter(kind__in=WALLET_ENTRY_KINDS.values())
        .order_by()
        .values("buyer", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
        if exact(row["total"])
    }
    assert booked == balances
    assert days_differences() == []


def journal_rows():
    """The journal's rows as comparable tuples (without codes and ids of their own)."""
    return sorted(
        JournalEntry.objects.values_list(
            "booked_at",
            "kind",
            "amount",
            "currency",
            "buyer",
            "subscription",
            "pricing_model",
            "purchase",
            "contract",
            "renewal_charge",
            "refund",
            "wallet_entry",
            "payment_type",
            "gateway_reference",
            "created_by",
        ),
        key=str,
    )
