"""Finance's own writes to the money journal: closing a month, booking a correction, and booking
a chargeback a gateway reported. Sales, renewals, refunds and wallet movements are booked by the
services that move that money (booking.py)."""

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from core.money import has_more_digits_than_currency, quantize
from purchases import errors
from purchases.models import ContractTransaction

from . import booking, selectors
from .days import days_are_current
from .models import (
    REVENUE_KINDS,
    ClosedPeriod,
    ClosedPeriodTotal,
    JournalEntry,
    JournalShopDay,
    Kind,
)


def month_bounds(month: date) -> tuple[date, date]:
    """The first and last local day of the month `month` falls in."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), booking.shop_zone())


def period_totals(first_day: date, last_day: date) -> list[dict]:
    """The journal's totals per currency, kind and payment type over local days (both ends
    included): from the daily totals when they are for today's zone, else from the rows."""
    if days_are_current():
        rows = JournalShopDay.objects.filter(day__gte=first_day, day__lte=last_day)
        amount, count = Sum("amount"), Sum("entries")
    else:
        rows = JournalEntry.objects.filter(
            booked_at__gte=_midnight(first_day), booked_at__lt=_midnight(last_day + timedelta(1))
        )
        amount, count = Sum("amount"), Count("pk")
    totals = list(
        rows.order_by()
        .values("currency", "kind", "payment_type")
        .annotate(amount=amount, entries=count)
        .order_by("currency", "kind", "payment_type")
    )
    for total in totals:
        total["amount"] = selectors.exact(total["amount"])
    return totals


@transaction.atomic
def close_month(*, month: date, closed_by) -> ClosedPeriod:
    """Close the books through the end of `month` (any day of it): its totals per currency,
    kind and payment type are stored, and nothing may be booked before its end afterwards.
    Months close in order; the first close also closes everything booked before it."""
    first_day, last_day = month_bounds(month)
    today = timezone.localdate(timezone.now(), booking.shop_zone())
    if last_day >= today:
        raise errors.PeriodNotClosable(f"{first_day:%B %Y} has not ended yet.")
    if connection.vendor == "postgresql":
        # Bookings in flight finish first and new ones wait, so the totals are final.
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE purchases_journalentry IN SHARE MODE")
    latest = ClosedPeriod.objects.select_for_update().order_by("-ends_at").first()
    if latest is not None:
        if latest.last_day >= last_day:
            raise errors.PeriodNotClosable(f"{first_day:%B %Y} is already closed.")
        if latest.last_day + timedelta(days=1) != first_day:
            following = latest.last_day + timedelta(days=1)
            raise errors.PeriodNotClosable(f"Close {following:%B %Y} first: months close in order.")
        start = first_day
    else:
        first_booked = (
            JournalEntry.objects.order_by("booked_at").values_list("booked_at", flat=True).first()
        )
        start = first_day
        if first_booked is not None:
            start = min(first_day, timezone.localdate(first_booked, booking.shop_zone()))
    end = _midnight(last_day + timedelta(days=1))
    pending = ContractTransaction.objects.filter(
        status=ContractTransaction.Status.PENDING, transaction_date__lt=end
    ).count()
    if pending:
        raise errors.PeriodNotClosable(
            f"{pending} renewal charge{'s are' if pending != 1 else ' is'} dated in this period "
            "and still waiting for the gateway's answer; close it when the renewal job has "
            "recorded them."
        )
    period = ClosedPeriod.objects.create(
        first_day=start,
        last_day=last_day,
        time_zone=str(booking.shop_zone()),
        starts_at=_midnight(start),
        ends_at=end,
        closed_by=closed_by,
        closed_at=timezone.now(),
    )
    ClosedPeriodTotal.objects.bulk_create(
        ClosedPeriodTotal(period=period, **row) for row in period_totals(start, last_day)
    )
    return period


def _amount(value, currency: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise errors.CorrectionRefused("Enter an amount.") from None
    if not amount.is_finite() or amount == 0:
        raise errors.CorrectionRefused("Enter an amount other than zero.")
    if has_more_digits_than_currency(amount, currency):
        raise errors.CorrectionRefused(f"{currency} has fewer decimal places.")
    if abs(amount) >= Decimal(10) ** 10:
        raise errors.CorrectionRefused("This amount is too large.")
    return amount


@transaction.atomic
def book_correction(*, original: JournalEntry, amount, reason: str, staff_user) -> JournalEntry:
    """A correction of a revenue row, booked now (in the open period), naming the row it
    corrects: `amount` is what it adds to (positive) or takes from (negative) the revenue.
    E-wallet balances are corrected with an e-wallet adjustment instead."""
    if original.kind not in REVENUE_KINDS:
        raise errors.NotCorrectable(
            "An e-wallet movement is corrected by adjusting the buyer's e-wallet."
        )
    amount = _amount(amount, original.currency)
    reason = (reason or "").strip()
    if not reason:
        raise errors.CorrectionRefused("Say why.", field="reason")
    return booking.book(
        [
            JournalEntry(
                booked_at=timezone.now(),
                kind=Kind.CORRECTION,
                amount=amount,
                currency=original.currency,
                buyer_id=original.buyer_id,
                subscription_id=original.subscription_id,
                pricing_model_id=original.pricing_model_id,
                purchase_id=original.purchase_id,
                contract_id=original.contract_id,
                renewal_charge_id=original.renewal_charge_id,
                refund_id=original.refund_id,
                corrects=original,
                payment_type=original.payment_type,
                gateway_reference=original.gateway_reference,
                created_by=staff_user,
                reason=reason[:255],
            )
        ]
    )[0]


@transaction.atomic
def book_chargeback(
    *,
    purchase,
    amount,
    gateway_reference: str,
    reason: str = "",
    renewal_charge=None,
    reported_at=None,
) -> JournalEntry:
    """A chargeback a gateway reported: the buyer's bank took back (part of) a charge of the
    purchase (or of its `renewal_charge`). Booked when it was reported, negative."""
    amount = _amount(amount, purchase.currency)
    if amount < 0:
        raise errors.CorrectionRefused("Give the amount taken back, above zero.")
    original = booking.original_charge_entry(purchase, renewal_charge)
    if original is None:
        raise errors.NotCorrectable("This charge moved no money.")
    taken = -sum(
        JournalEntry.objects.filter(corrects=original, kind__in=[Kind.REFUND, Kind.CHARGEBACK])
        .order_by()
        .values_list("amount", flat=True),
        Decimal(0),
    )
    if taken + amount > original.amount:
        raise errors.CorrectionRefused(
            f"At most {quantize(original.amount - taken, purchase.currency)} "
            f"{purchase.currency} of this charge is left."
        )
    return booking.book(
        [
            JournalEntry(
                booked_at=reported_at or timezone.now(),
                kind=Kind.CHARGEBACK,
                amount=-amount,
                currency=purchase.currency,
                buyer_id=purchase.buyer_id,
                subscription_id=purchase.subscription_id,
                pricing_model_id=purchase.pricing_model_id,
                purchase=purchase,
                contract_id=renewal_charge.contract_id if renewal_charge is not None else None,
                renewal_charge=renewal_charge,
                corrects=original,
                payment_type=original.payment_type,
                gateway_reference=(gateway_reference or "")[:40],
                reason=(reason or "Chargeback reported by the gateway")[:255],
            )
        ]
    )[0]
