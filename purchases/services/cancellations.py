"""Refunds and cancellations (reference 002): money given back is a new Refund row, paid back to
where it came from; a recurring purchase stops renewing at its period's end (a stop the buyer or
staff may take back until then) or ends now."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from buyers import errors as buyer_errors
from buyers import services as buyer_services
from buyers.models import Access, Buyer
from core import audit, events
from core.money import format_amount, has_more_digits_than_currency, minor_digits, quantize
from core.text import has_control_character
from subscriptions.models import PricingModel, Subscription

from .. import errors
from ..gateways import get_gateway
from ..journal import booking as journal
from ..models import WALLET, Cancellation, ContractTransaction, Purchase, RecurringContract, Refund
from ..notifications import queue_refund_confirmation
from ..recurrence import access_end_of_contract, period_end
from . import plan_changes
from .contracts import end_access_at_period_end, end_contract
from .rules import has_pin


def refund_payment(
    purchase: Purchase, amount: Decimal, reason: str, staff_user, charge=None
) -> Refund:
    """Give `amount` back to where it was paid from: the purchase's own payment, or the renewal
    `charge` (a ContractTransaction) when given; booked in the journal as a refund (and, for the
    e-wallet, as a refund to the wallet). Call it inside a transaction."""
    number = purchase.refunds.count() + 1
    key = f"refund:{purchase.code}:{number}"
    if purchase.payment_type == WALLET:
        refund = Refund.objects.create(
            purchase=purchase,
            contract_transaction=charge,
            amount=amount,
            currency=purchase.currency,
            method=WALLET,
            reason=reason,
            created_by=staff_user,
        )
        journal.book([journal.refund_entry(refund)])
        buyer_services.refund_to_wallet(
            buyer=purchase.buyer,
            amount=amount,
            currency=purchase.currency,
            reference=purchase.code,
            by=staff_user,
            links={
                "purchase": purchase,
                "contract_id": charge.contract_id if charge is not None else None,
                "renewal_charge_id": charge.pk if charge is not None else None,
                "refund_id": refund.pk,
            },
        )
        queue_refund_confirmation(refund)
        _audit_refund(refund)
        return refund
    gateway = get_gateway(purchase.payment_type)
    if gateway is None:
        raise errors.RefundRefused("This purchase's payment type is no longer enabled.")
    result = gateway.refund(
        idempotency_key=key,
        pnref=charge.pnref if charge is not None else purchase.gateway_reference,
        amount=amount,
        currency=purchase.currency,
    )
    if not result.approved:
        raise errors.RefundRefused(f"The gateway refused the refund: {result.response_message}.")
    refund = Refund.objects.create(
        purchase=purchase,
        contract_transaction=charge,
        amount=amount,
        currency=purchase.currency,
        method=purchase.payment_type,
        gateway_reference=result.pnref,
        reason=reason,
        created_by=staff_user,
    )
    journal.book([journal.refund_entry(refund)])
    queue_refund_confirmation(refund)
    _audit_refund(refund)
    return refund


def _audit_refund(refund: Refund) -> None:
    shown = format_amount(refund.amount, refund.currency)
    audit.record(
        "refunded", refund.purchase, changes={"refund": [None, shown]}, reason=refund.reason
    )


@transaction.atomic
def refund_purchase(*, purchase: Purchase, amount, reason: str, staff_user) -> Refund:
    """Give back (part of) a completed purchase to where it was paid from, as a new Refund row.
    The whole amount refunded ends the access and marks the purchase refunded."""
    purchase = Purchase.objects.select_for_update().get(pk=purchase.pk)
    if purchase.status not in Purchase.REFUNDABLE_STATUSES:
        raise errors.RefundRefused("Only a paid purchase can be refunded.")
    try:
        amount = Decimal(str(amount))
    except ArithmeticError:
        raise errors.RefundRefused("Enter an amount.") from None
    if not amount.is_finite() or amount <= 0:
        raise errors.RefundRefused("Enter an amount above zero.")
    if has_more_digits_than_currency(amount, purchase.currency):
        raise errors.RefundRefused(f"{purchase.currency} has fewer decimal places.")
    # This refunds the purchase's own payment; renewal charges are refunded by cancellation.
    already = sum(
        (r.amount for r in purchase.refunds.filter(contract_transaction__isnull=True)),
        Decimal(0),
    )
    if already + amount > purchase.amount:
        left = quantize(purchase.amount - already, purchase.currency)
        raise errors.RefundRefused(f"At most {left} {purchase.currency} is left to refund.")
    reason = (reason or "").strip()
    if not reason:
        raise errors.RefundRefused("Say why.", field="reason")
    # The reason is one line on the purchase's page, the refunds list and the CSV exports.
    if has_control_character(reason):
        raise errors.RefundRefused(
            "Keep the reason on one line: line breaks, tabs and other control characters are "
            "not allowed.",
            field="reason",
        )
    longest = Refund._meta.get_field("reason").max_length
    if len(reason) > longest:
        raise errors.RefundRefused(f"A reason has {longest} characters at most.", field="reason")
    with journal.at_the_end():
        refund = refund_payment(purchase, amount, reason, staff_user)
    if already + amount == purchase.amount:
        before = audit.snapshot(purchase, ("status",))
        purchase.status = Purchase.Status.REFUNDED
        purchase.save(update_fields=["status"])
        audit.record("refunded in full", purchase, before=before, reason=reason)
        if purchase.access and purchase.access.revoked_at is None:
            buyer_services.revoke_access(access=purchase.access, revoked_by=staff_user)
        end_contract(purchase, timezone.now())
        events.publish("purchase.refunded", purchase)
    return refund


@dataclass(frozen=True)
class ProductView:
    """The buyer's view of a product after a purchase or a cancellation (reference 002 Example2)."""

    can_watch: bool
    access_reason: str
    rental_hours_left: int | None
    expiration: object
    pricing_model: PricingModel
    purchase_status: str

    def as_dict(self) -> dict:
        return {
            "can_watch": self.can_watch,
            "access_reason": self.access_reason,
            "rental_hours_left": self.rental_hours_left,
            "expiration": self.expiration.isoformat() if self.expiration else None,
            "pricing_model": {
                "code": self.pricing_model.code,
                "title": self.pricing_model.title,
                "price": str(self.pricing_model.price),
                "currency": self.pricing_model.currency,
                "is_recurring": self.pricing_model.is_recurring,
            },
            "purchase_status": self.purchase_status,
        }


def product_view(purchase: Purchase, *, now=None) -> ProductView:
    now = now or timezone.now()
    access = purchase.access
    status = access.status_at(now) if access else None
    can_watch = status == Access.Status.ACTIVE and (
        access.access_start is None or access.access_start <= now
    )
    if access is None:
        reason = "no access"
    elif status == Access.Status.REVOKED:
        reason = "revoked"
    elif status == Access.Status.EXPIRED:
        reason = "expired"
    elif not can_watch:
        reason = "not started"
    else:
        reason = "purchased"
    hours_left = None
    if can_watch and access.access_expire is not None and not purchase.is_recurring:
        hours_left = max(0, int((access.access_expire - now).total_seconds() // 3600))
    return ProductView(
        can_watch=can_watch,
        access_reason=reason,
        rental_hours_left=hours_left,
        expiration=access.access_expire if access else None,
        pricing_model=purchase.pricing_model,
        purchase_status=purchase.status,
    )


def find_purchase_for_cancel(*, buyer: Buyer | None, subscription: Subscription | None) -> Purchase:
    """The buyer's purchase of a product that a CancelProduct call names (reference 002)."""
    if buyer is None or subscription is None:
        raise errors.PurchaseNotFound()
    purchase = (
        Purchase.objects.filter(buyer=buyer, subscription=subscription)
        .exclude(status=Purchase.Status.FAILED)
        .order_by("-created_at", "-pk")
        .first()
    )
    if purchase is None:
        raise errors.UserHasNoRightsToThisProduct()
    return purchase


def cancel_purchase(
    *,
    purchase: Purchase | None,
    mode: str,
    refund: str = "none",
    pin: str = "",
    by_buyer: bool = False,
    staff_user=None,
) -> ProductView:
    """Cancel a recurring purchase (reference 002 CancelProduct): stop renewing at the period's
    end (the access lasts exactly until then: the renewal grace is taken back) or end now (the
    access is revoked), with no, a full or a prorated refund as a new Refund row. A buyer
    cancelling gives their PIN. Answers the buyer's product view."""
    if purchase is None:
        raise errors.PurchaseNotFound()
    if by_buyer and has_pin(purchase.buyer):
        # Outside the cancellation's transaction, so that a wrong PIN stays counted.
        try:
            buyer_services.verify_purchase_pin(buyer=purchase.buyer, pin=pin)
        except buyer_errors.BuyerError as refusal:
            raise errors.UserPurchasePinValueNoMatch(refusal.message) from None
    with transaction.atomic(), journal.at_the_end():
        return _cancel(purchase, mode, refund, by_buyer, staff_user)


def _cancel(purchase, mode, refund, by_buyer, staff_user) -> ProductView:
    purchase = Purchase.objects.select_for_update().get(pk=purchase.pk)
    if (
        refund not in ("none", "")
        and staff_user is not None
        and not staff_user.has_perm("purchases.refund_purchase")
    ):
        raise errors.RefundRefused("Refunds need the Finance role.", field="refund")
    if purchase.status == Purchase.Status.PENDING:
        raise errors.PurchaseAlreadyInPendingOBCancellation()
    if purchase.status in (Purchase.Status.CANCELLED, Purchase.Status.REFUNDED):
        raise errors.PurchaseAlreadyCancelled()
    if purchase.status == Purchase.Status.FAILED:
        raise errors.UserHasNoRightsToThisProduct()
    if not purchase.is_recurring:
        raise errors.NonRenewableUserRight()
    if purchase.status == Purchase.Status.CANCELLING and mode == Cancellation.Mode.PERIOD_END:
        raise errors.PurchaseAlreadyInCancelling()
    if mode not in Cancellation.Mode.values:
        raise errors.PurchaseError("Choose how to cancel.", field="mode")
    if refund not in ("none", "full", "prorated") or (
        mode == Cancellation.Mode.PERIOD_END and refund != "none"
    ):
        raise errors.PurchaseError("A refund goes with ending the purchase now.", field="refund")
    now = timezone.now()
    refund_row = None
    before = audit.snapshot(purchase, ("status",))
    contract = RecurringContract.objects.select_for_update().filter(purchase=purchase).first()
    if contract is not None and contract.claimed_until and contract.claimed_until > now:
        raise errors.PurchaseError(
            "A renewal charge of this subscription is running; try again in a few minutes."
        )
    if (
        mode == Cancellation.Mode.PERIOD_END
        and contract is not None
        and contract.status == RecurringContract.Status.PAUSED
    ):
        # A paused contract has no period running to stop at the end of.
        raise errors.ContractPaused()
    if mode == Cancellation.Mode.PERIOD_END:
        purchase.status = Purchase.Status.CANCELLING
        if contract is not None:
            contract.cancel_at_period_end = True
            contract.save(update_fields=["cancel_at_period_end"])
            end_access_at_period_end(contract)
    else:
        end_contract(purchase, now)
        purchase.status = Purchase.Status.CANCELLED
        amount, charge = _refund_amount(purchase, refund, now)
        if amount > 0:
            refund_row = refund_payment(
                purchase, amount, f"Cancelled: {refund} refund", staff_user, charge=charge
            )
        access = purchase.access
        if access is not None and access.revoked_at is None:
            buyer_services.revoke_access(access=access, revoked_by=staff_user)
    purchase.save(update_fields=["status"])
    Cancellation.objects.create(
        purchase=purchase,
        mode=mode,
        refund=refund_row,
        by_buyer=by_buyer,
        created_by=staff_user,
        created_at=now,
    )
    audit.record(f"cancelled ({mode}, refund: {refund or 'none'})", purchase, before=before)
    purchase.refresh_from_db()
    # Cancelled now, or cancelling at the period's end (the object's Status says which).
    events.publish("purchase.cancelled", purchase)
    return product_view(purchase, now=now)


def reactivate_purchase(
    *,
    purchase: Purchase | None,
    pin: str = "",
    by_buyer: bool = False,
    staff_user=None,
) -> ProductView:
    """Take back a stop at the period's end before the period ends: the contract renews again
    on its next bill date, the access gets its renewal grace back, and the stop is marked as
    taken back (by whom, when). A buyer gives their PIN, as for cancelling. Refuses a purchase
    that renews already, one that has ended, and one whose period is over."""
    if purchase is None:
        raise errors.PurchaseNotFound()
    if by_buyer and has_pin(purchase.buyer):
        try:
            buyer_services.verify_purchase_pin(buyer=purchase.buyer, pin=pin)
        except buyer_errors.BuyerError as refusal:
            raise errors.UserPurchasePinValueNoMatch(refusal.message) from None
    with transaction.atomic():
        return _reactivate(purchase, by_buyer, staff_user)


def _reactivate(purchase, by_buyer, staff_user) -> ProductView:
    purchase = Purchase.objects.select_for_update().get(pk=purchase.pk)
    if purchase.status in (Purchase.Status.CANCELLED, Purchase.Status.REFUNDED):
        raise errors.PurchaseAlreadyCancelled(
            "This purchase has ended; it cannot renew again: buy it again instead."
        )
    if purchase.status == Purchase.Status.FAILED:
        raise errors.UserHasNoRightsToThisProduct()
    if purchase.status != Purchase.Status.CANCELLING:
        raise errors.PurchaseNotCancelling()
    now = timezone.now()
    contract = RecurringContract.objects.select_for_update().filter(purchase=purchase).first()
    if contract is None or contract.status not in RecurringContract.LIVE_STATUSES:
        raise errors.PurchasePeriodOver()
    if contract.next_bill_date <= now:
        raise errors.PurchasePeriodOver(
            f"The period ended on {timezone.localtime(contract.next_bill_date):%Y-%m-%d %H:%M}: "
            "buy it again instead."
        )
    if contract.claimed_until and contract.claimed_until > now:
        raise errors.PurchaseError(
            "A renewal charge of this subscription is running; try again in a few minutes."
        )
    access = purchase.access
    if access is None or access.revoked_at is not None:
        raise errors.PurchasePeriodOver("The buyer's access was revoked: buy it again instead.")
    contract.cancel_at_period_end = False
    contract.save(update_fields=["cancel_at_period_end"])
    if contract.status == RecurringContract.Status.ACTIVE:
        # The grace end_access_at_period_end took back (a past-due contract kept its access).
        end = access_end_of_contract(contract.next_bill_date, stopping=False)
        Access.objects.filter(pk=access.pk, access_expire__lt=end).update(access_expire=end)
    before = audit.snapshot(purchase, ("status",))
    purchase.status = Purchase.Status.COMPLETED
    purchase.save(update_fields=["status"])
    audit.record("reactivated", purchase, before=before)
    Cancellation.objects.filter(
        purchase=purchase, mode=Cancellation.Mode.PERIOD_END, undone_at__isnull=True
    ).update(undone_at=now, undone_by=staff_user, undone_by_buyer=by_buyer)
    purchase.refresh_from_db()
    return product_view(purchase, now=now)


def _current_charge(purchase: Purchase):
    """What paid for the period the buyer is in: the latest approved renewal charge, or (in the
    first period) the purchase itself (None)."""
    contract = getattr(purchase, "contract", None)
    if contract is None:
        return None
    return (
        contract.transactions.filter(
            status=ContractTransaction.Status.APPROVED, period=contract.periods_paid
        )
        .order_by("-pk")
        .first()
    )


def _refund_amount(purchase: Purchase, refund: str, now):
    """What a cancellation gives back, and which charge it reverses: nothing, all that is left
    of the current period's charge, or its unused share (rounded down to the currency's minor
    unit, never more than is left)."""
    charge = _current_charge(purchase)
    contract = getattr(purchase, "contract", None)
    if (
        refund != "none"
        and contract is not None
        and plan_changes.change_that_started_the_period(contract) is not None
    ):
        # The period was started by a plan change now: its money is the change's (a credit and
        # a charge), not a purchase's or renewal's that a refund could reverse.
        raise errors.RefundRefused(
            gettext(
                "This period was started by a plan change: end it without a refund, and give "
                "money back as an e-wallet adjustment or a journal correction."
            ),
            field="refund",
        )
    if charge is not None:
        paid, refunded = charge.amount, sum((r.amount for r in charge.refunds.all()), Decimal(0))
    else:
        paid = purchase.amount
        refunded = sum(
            (r.amount for r in purchase.refunds.filter(contract_transaction__isnull=True)),
            Decimal(0),
        )
    left = paid - refunded
    if refund == "none" or left <= 0:
        return Decimal(0), charge
    if refund == "full":
        return left, charge
    contract = getattr(purchase, "contract", None)
    if contract is not None and contract.periods_paid:
        start = period_end(
            contract, contract.anchor, contract.periods_paid - 1 - contract.period_offset
        )
        end = contract.next_bill_date
    elif purchase.access is not None and purchase.access.access_expire:
        start, end = purchase.access.access_start, purchase.access.access_expire
    else:
        return Decimal(0), charge
    total = (end - start).total_seconds()
    # A paused contract's buyer has used nothing since the pause started.
    if contract is not None and contract.paused_from and contract.paused_from < now:
        now = contract.paused_from
    unused = min(total, max(0.0, (end - now).total_seconds()))
    share = Decimal(unused / total) if total > 0 else Decimal(0)
    step = Decimal(1).scaleb(-minor_digits(purchase.currency))
    return min(left, (paid * share).quantize(step, rounding="ROUND_DOWN")), charge
