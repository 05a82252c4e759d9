"""Reconciliation: the journal's gateway money of a period against what each gateway settled.

For each payment type that goes through a gateway (not the e-wallet), the journal's sales,
renewals, refunds and chargebacks booked in the period are matched by gateway reference (PNRef)
with the transactions the gateway lists for the period (`PaymentGateway.settlements`). A row
matched with the same amount agrees; everything else is listed with the reason: the gateway has
no such transaction, the journal has no row for a transaction, the amounts differ, or the two
sides fall on either side of the period's edge (a timing difference, found by asking each side
about the other's references outside the period). A gateway that cannot list its transactions
(the reference-003 service only answers about one invoice at a time) is shown with the journal's
side alone.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Q

from .booking import WALLET
from .models import CHARGE_KINDS, GIVEN_BACK_KINDS, PLAN_CHANGE_KINDS, JournalEntry
from .selectors import midnight

RECONCILED_KINDS = (*CHARGE_KINDS, *GIVEN_BACK_KINDS)


@dataclass(frozen=True)
class Settlement:
    """A transaction as the gateway records it: + a charge, - a refund or chargeback."""

    reference: str
    amount: Decimal
    currency: str
    at: datetime


@dataclass
class Difference:
    reference: str
    currency: str
    reason: str
    journal_amount: Decimal | None = None
    journal_code: str = ""
    booked_at: datetime | None = None
    gateway_amount: Decimal | None = None
    settled_at: datetime | None = None

    @property
    def amount_difference(self) -> Decimal:
        return (self.journal_amount or Decimal(0)) - (self.gateway_amount or Decimal(0))


@dataclass
class GatewayReconciliation:
    payment_type: str
    label: str
    can_list: bool
    journal: dict = field(default_factory=dict)  # currency -> total
    gateway: dict = field(default_factory=dict)  # currency -> total
    differences: list = field(default_factory=list)

    @property
    def currencies(self) -> list[str]:
        return sorted(set(self.journal) | set(self.gateway))

    def totals(self) -> list[tuple[str, Decimal, Decimal | None, Decimal | None]]:
        """(currency, journal total, gateway total, difference) per currency."""
        rows = []
        for currency in self.currencies:
            booked = self.journal.get(currency, Decimal(0))
            settled = self.gateway.get(currency, Decimal(0)) if self.can_list else None
            rows.append(
                (currency, booked, settled, booked - settled if settled is not None else None)
            )
        return rows

    @property
    def agrees(self) -> bool:
        return self.can_list and not self.differences


def reconcile(start: date, end: date, *, gateways: dict) -> list[GatewayReconciliation]:
    """The journal against each of `gateways` ({payment type: gateway}) for local days
    start..end (both included), one GatewayReconciliation per payment type either has."""
    since, until = midnight(start), midnight(end + timedelta(days=1))
    rows = (
        JournalEntry.objects.filter(
            booked_at__gte=since, booked_at__lt=until, kind__in=RECONCILED_KINDS
        )
        .exclude(payment_type=WALLET)
        .order_by("booked_at", "pk")
        .values_list(
            "payment_type", "gateway_reference", "amount", "currency", "code", "booked_at", "kind"
        )
    )
    booked: dict[str, list] = defaultdict(list)
    plan_changes: dict[tuple, list] = {}
    for payment_type, *row, kind in rows.iterator(chunk_size=5000):
        if kind in PLAN_CHANGE_KINDS:
            # A plan change's charge and credit settle as one gateway charge (their sum); with
            # no reference the credit covered it all and the gateway moved nothing.
            if row[0]:
                merged = plan_changes.get((payment_type, row[0]))
                if merged is None:
                    plan_changes[(payment_type, row[0])] = merged = list(row)
                    booked[payment_type].append(merged)
                else:
                    merged[1] += row[1]
            continue
        booked[payment_type].append(row)
    results = []
    for payment_type in sorted(set(booked) | set(gateways)):
        gateway = gateways.get(payment_type)
        label = gateway.label if gateway is not None else payment_type
        settled = gateway.settlements(since, until) if gateway is not None else None
        settled = list(settled) if settled is not None else None
        result = GatewayReconciliation(payment_type, label, can_list=settled is not None)
        for _, amount, currency, _, _ in booked[payment_type]:
            result.journal[currency] = result.journal.get(currency, Decimal(0)) + amount
        if settled is not None:
            for settlement in settled:
                result.gateway[settlement.currency] = (
                    result.gateway.get(settlement.currency, Decimal(0)) + settlement.amount
                )
            result.differences = _differences(booked[payment_type], settled, gateway, since, until)
        if result.journal or result.gateway:
            results.append(result)
    return results


def _differences(rows, settled, gateway, since, until) -> list[Difference]:
    """Match journal rows and settlements by reference and amount; explain the rest."""
    by_reference: dict[str, list[Settlement]] = defaultdict(list)
    for settlement in settled:
        by_reference[settlement.reference].append(settlement)
    unmatched_rows = []
    for reference, amount, currency, code, booked_at in rows:
        candidates = by_reference.get(reference, [])
        match = next((s for s in candidates if s.amount == amount), None)
        if match is not None:
            candidates.remove(match)
            continue
        unmatched_rows.append((reference, amount, currency, code, booked_at))
    differences, missing = [], []
    for reference, amount, currency, code, booked_at in unmatched_rows:
        candidates = by_reference.get(reference, [])
        if candidates:  # the same transaction, another amount
            other = candidates.pop(0)
            differences.append(
                Difference(
                    reference,
                    currency,
                    "the gateway settled another amount",
                    journal_amount=amount,
                    journal_code=code,
                    booked_at=booked_at,
                    gateway_amount=other.amount,
                    settled_at=other.at,
                )
            )
        else:
            missing.append((reference, amount, currency, code, booked_at))
    left = [s for candidates in by_reference.values() for s in candidates]
    # Each side's unmatched references, looked up outside the period on the other side.
    elsewhere = {
        (s.reference, s.amount): s
        for s in gateway.settlements_for([r[0] for r in missing if r[0]])
        if not since <= s.at < until
    }
    for reference, amount, currency, code, booked_at in missing:
        other = elsewhere.get((reference, amount))
        differences.append(
            Difference(
                reference,
                currency,
                "settled by the gateway outside this period (timing)"
                if other is not None
                else "the gateway has no such transaction",
                journal_amount=amount,
                journal_code=code,
                booked_at=booked_at,
                gateway_amount=other.amount if other is not None else None,
                settled_at=other.at if other is not None else None,
            )
        )
    if left:
        booked_elsewhere = {
            (reference, amount): (code, booked_at)
            for reference, amount, code, booked_at in JournalEntry.objects.filter(
                gateway_reference__in=[s.reference for s in left], kind__in=RECONCILED_KINDS
            )
            .filter(~Q(booked_at__gte=since, booked_at__lt=until))
            .values_list("gateway_reference", "amount", "code", "booked_at")
        }
        for settlement in left:
            found = booked_elsewhere.get((settlement.reference, settlement.amount))
            differences.append(
                Difference(
                    settlement.reference,
                    settlement.currency,
                    "booked in the journal outside this period (timing)"
                    if found
                    else "the journal has no row for this transaction",
                    journal_amount=settlement.amount if found else None,
                    journal_code=found[0] if found else "",
                    booked_at=found[1] if found else None,
                    gateway_amount=settlement.amount,
                    settled_at=settlement.at,
                )
            )
    return sorted(differences, key=lambda d: (d.settled_at or d.booked_at, d.reference))
