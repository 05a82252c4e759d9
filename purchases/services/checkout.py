"""Buying (reference 001): every purchase, from any entry point, goes through `create_purchase`.

A purchase is made in three steps, so that no lock is held while a gateway is called:
1. check every rule of reference 001 with the buyer's row locked (purchases of one buyer queue
   there) and write the purchase as pending; a refusal raises a named error and writes nothing;
2. charge the gateway with the purchase's idempotency key, or start its redirect payment;
3. complete it (debit the wallet, use the coupon, grant the access, mark the session used, queue
   the receipt) or mark it failed, in one transaction.
The pending row and the database's "one pending purchase per product" constraint make
concurrent attempts end with exactly one purchase.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from buyers import errors as buyer_errors
from buyers import services as buyer_services
from buyers.models import Buyer
from core import audit, events
from core.money import format_amount
from subscriptions import errors as catalog_errors
from subscriptions.models import Coupon, PricingModel, Subscription
from subscriptions.services import price_with_coupon, use_coupon

from .. import errors
from ..gateways import get_gateway
from ..gateways.base import GatewayError, GatewayTimeout
from ..journal import booking as journal
from ..models import WALLET, Purchase, PurchaseSession
from ..notifications import queue_purchase_receipt
from ..recurrence import access_end_of_contract
from .cancellations import refund_payment
from .contracts import check_card, first_bill_date, start_contract
from .rules import (
    PurchaseFacts,
    check_coupon_for_buyer,
    check_product,
    check_purchase_rules,
    find_coupon,
    has_pin,
    list_price_and_discount,
    offered_pricing_model,
    with_trial,
)


def pending_minutes() -> int:
    return settings.PENDING_PURCHASE_MINUTES


@dataclass(frozen=True)
class PurchaseQuote:
    """What a purchase would cost: the list price, the discount, what is charged now."""

    currency: str
    list_price: Decimal
    discount: Decimal
    amount: Decimal  # charged now
    coupon: Coupon | None
    trial_ends_at: datetime | None  # a free trial: nothing is charged until then
    recurring: bool


def quote_purchase(
    *,
    subscription: Subscription | None,
    pricing_model: PricingModel | None,
    payment_type: str,
    coupon_code: str = "",
    buyer: Buyer | None = None,
) -> PurchaseQuote:
    """The price `create_purchase` would charge for this product, pricing model, coupon and
    payment type now, computed the same way, writing nothing; refused as it would refuse the
    product, the pricing model or the coupon."""
    now = timezone.now()
    subscription = check_product(subscription, now)
    if pricing_model is None:
        raise errors.InvalidPricingModel()
    pricing_model = offered_pricing_model(subscription, pricing_model)
    gateway = get_gateway(payment_type) if payment_type != WALLET else None
    if payment_type != WALLET and gateway is None:
        raise errors.InvalidPaymentType()
    coupon = find_coupon(coupon_code)
    list_price, discount, currency = list_price_and_discount(
        pricing_model, coupon, subscription, now
    )
    check_coupon_for_buyer(coupon, buyer)
    redirect = gateway is not None and gateway.is_redirect
    discount, trial_ends_at = with_trial(pricing_model, list_price, discount, redirect, now)
    return PurchaseQuote(
        currency=currency,
        list_price=list_price,
        discount=discount,
        amount=list_price - discount,
        coupon=coupon,
        trial_ends_at=trial_ends_at,
        recurring=pricing_model.is_recurring,
    )


@dataclass(frozen=True)
class PurchaseRequest:
    buyer: Buyer | None
    subscription: Subscription | None
    pricing_model: PricingModel | None
    payment_type: str
    pin: str = ""
    staff_user: object = None
    coupon_code: str = ""
    instrument: str = ""
    return_url: str = ""
    cancel_url: str = ""
    device_type: str = ""
    session: PurchaseSession | None = None
    request_key: str = ""


def create_purchase(
    *,
    buyer: Buyer | None,
    subscription: Subscription | None,
    pricing_model: PricingModel | None,
    payment_type: str,
    pin: str = "",
    staff_user=None,
    coupon_code: str = "",
    instrument: str = "",
    return_url: str = "",
    cancel_url: str = "",
    device_type: str = "",
    session: PurchaseSession | None = None,
    request_key: str = "",
) -> Purchase:
    """Buy `subscription` with `pricing_model` for `buyer`, enforcing every rule of reference 001.

    A refusal raises its named PurchaseError and writes nothing. Otherwise answers the purchase:
    completed; failed (declined, with the gateway's result code and message); or pending with a
    `redirect_url` for redirect payment types (confirmed later by `confirm_purchase`). Staff
    buying on a buyer's behalf (`staff_user`) skip the buyer's PIN. With an open, unused
    `session` of this buyer and product, it is charged and records the session's quote (list
    price, discount, coupon, currency), not today's price; an expired or used one is refused.
    `request_key` names the API request (its Idempotency-Key): a retry after a crash finds the
    purchase by it (`resume_purchase`)."""
    request = PurchaseRequest(
        buyer,
        subscription,
        pricing_model,
        payment_type,
        pin or "",
        staff_user,
        coupon_code or "",
        instrument or "",
        return_url or "",
        cancel_url or "",
        device_type or "",
        session,
        request_key or "",
    )
    purchase = _check_and_reserve(request)
    if purchase.payment_type == WALLET or purchase.trial_ends_at is not None or not purchase.amount:
        # Nothing to charge now (the e-wallet is debited on completion; a trial or a 100% coupon
        # costs nothing today). A card that renews later is checked now, not at its first bill.
        if purchase.payment_type != WALLET and purchase.is_recurring:
            refusal = check_card(purchase.payment_type, purchase.instrument, _gateway_key(purchase))
            if refusal is not None:
                return _fail(purchase, *refusal)
        return _complete(purchase)
    gateway = get_gateway(purchase.payment_type)
    if gateway.is_redirect:
        return _start_redirect(purchase, gateway)
    return _charge_and_settle(purchase, gateway)


def _start_redirect(purchase: Purchase, gateway) -> Purchase:
    """Open the payment page (the same key opens the same page again)."""
    try:
        result = gateway.start(
            idempotency_key=_gateway_key(purchase),
            amount=purchase.amount,
            currency=purchase.currency,
            return_url=purchase.return_url,
            cancel_url=purchase.cancel_url,
            description=str(purchase.subscription.name),
        )
    except GatewayError as failure:
        return _fail(purchase, "", str(failure))
    Purchase.objects.filter(pk=purchase.pk).update(
        redirect_url=result.redirect_url, gateway_reference=result.pnref
    )
    purchase.redirect_url, purchase.gateway_reference = result.redirect_url, result.pnref
    return purchase


def _gateway_key(purchase: Purchase) -> str:
    return f"purchase:{purchase.code}"


def _check_and_reserve(request: PurchaseRequest) -> Purchase:
    now = timezone.now()
    if request.buyer is None:
        raise errors.AuthenticationRequired()
    # The PIN is checked first and on its own: a wrong PIN is counted even though we refuse.
    if request.staff_user is None and has_pin(request.buyer):
        try:
            buyer_services.verify_purchase_pin(buyer=request.buyer, pin=request.pin)
        except buyer_errors.PurchasePinLocked:
            raise errors.PurchasePinLocked() from None
        except buyer_errors.UserPurchasePinValueNoMatch:
            raise errors.UserPurchasePinValueNoMatch() from None
    try:
        with transaction.atomic():
            return _reserve(request, now)
    except IntegrityError:
        # Another attempt reserved the same product between our check and our insert.
        raise errors.PendingProductCanNotBePurchased() from None


def _reserve(request: PurchaseRequest, now) -> Purchase:
    buyer = Buyer.objects.select_for_update().get(pk=request.buyer.pk)
    facts = check_purchase_rules(
        PurchaseFacts(
            buyer=buyer,
            subscription=request.subscription,
            pricing_model=request.pricing_model,
            payment_type=request.payment_type,
            now=now,
            device_type=request.device_type,
            coupon_code=request.coupon_code,
            instrument=request.instrument,
            return_url=request.return_url,
            cancel_url=request.cancel_url,
            session=request.session,
        )
    )
    coupon = facts.coupon
    purchase = Purchase.objects.create(
        buyer=buyer,
        subscription=facts.product,
        pricing_model=facts.offer,
        session=facts.session,
        list_price=facts.list_price,
        discount=facts.discount,
        amount=facts.amount,
        currency=facts.currency,
        trial_ends_at=facts.trial_ends_at,
        coupon=coupon,
        coupon_code=coupon.code if coupon else "",
        is_recurring=facts.offer.is_recurring,
        payment_type=request.payment_type,
        instrument=request.instrument.strip(),
        return_url=request.return_url,
        cancel_url=request.cancel_url,
        status=Purchase.Status.PENDING,
        created_by=request.staff_user,
        created_at=now,
        expires_at=now + timedelta(minutes=pending_minutes()),
        request_key=request.request_key,
    )
    # Its trail entry is its outcome (completed or failed), with the amount: one entry, not two.
    return purchase


def _audited(purchase: Purchase, status_before) -> dict:
    """A purchase's entry in the audit trail: its status, and what it costs."""
    return {
        "status": [status_before, purchase.status],
        "amount": [None, format_amount(purchase.amount, purchase.currency)],
    }


def _charge_and_settle(purchase: Purchase, gateway) -> Purchase:
    key = _gateway_key(purchase)
    try:
        result = gateway.charge(
            idempotency_key=key,
            amount=purchase.amount,
            currency=purchase.currency,
            instrument=purchase.instrument,
            description=str(purchase.subscription.name),
        )
    except GatewayTimeout:
        result = _lookup(gateway, key)
        if result is None:
            # The charge may still land: the purchase stays pending, and confirm_purchase (the
            # expiry job, or staff's "Check payment") asks again with the same key.
            Purchase.objects.filter(pk=purchase.pk).update(
                response_message="The card gateway did not answer; checking again later."
            )
            purchase.refresh_from_db()
            return purchase
    except GatewayError as failure:
        return _fail(purchase, "", str(failure))
    _record_gateway_answer(purchase, result)
    if not result.approved:
        return _fail(purchase, result.result_code, result.response_message)
    return _complete(purchase)


def _record_gateway_answer(purchase: Purchase, result) -> None:
    purchase.gateway_reference, purchase.auth_code = result.pnref, result.auth_code
    purchase.result_code, purchase.response_message = result.result_code, result.response_message
    Purchase.objects.filter(pk=purchase.pk).update(
        gateway_reference=result.pnref,
        auth_code=result.auth_code,
        result_code=result.result_code,
        response_message=result.response_message,
    )


def _fail(purchase: Purchase, result_code: str, message: str) -> Purchase:
    with transaction.atomic():
        failed = Purchase.objects.filter(pk=purchase.pk, status=Purchase.Status.PENDING).update(
            status=Purchase.Status.FAILED, result_code=result_code, response_message=message[:200]
        )
        purchase.refresh_from_db()
        if failed:
            audit.record("failed", purchase, changes=_audited(purchase, "pending"), reason=message)
            events.publish("purchase.failed", purchase)
    return purchase


def _complete(purchase: Purchase) -> Purchase:
    """Settle a paid (or wallet) pending purchase: money, coupon, access, session, receipt."""
    try:
        with transaction.atomic(), journal.at_the_end(), audit.together():
            purchase = Purchase.objects.select_for_update().get(pk=purchase.pk)
            if purchase.status != Purchase.Status.PENDING:
                return purchase
            now = timezone.now()
            # Before the coupon is used: pricing with it afterwards would find it used up.
            amount_each_period = _amount_each_period(purchase) if purchase.is_recurring else None
            if purchase.payment_type == WALLET:
                if purchase.amount > 0:
                    buyer_services.debit_wallet(
                        buyer=purchase.buyer,
                        amount=purchase.amount,
                        currency=purchase.currency,
                        reference=purchase.code,
                        links={"purchase": purchase},
                    )
                purchase.result_code, purchase.response_message = "0", "Paid from the e-wallet"
            if purchase.coupon_id:
                if (
                    purchase.coupon.uses_per_buyer is not None
                    or purchase.coupon.first_purchase_only
                ):
                    Buyer.objects.select_for_update().filter(pk=purchase.buyer_id).first()
                    check_coupon_for_buyer(purchase.coupon, purchase.buyer, purchase=purchase)
                try:
                    use_coupon(coupon=purchase.coupon)
                except catalog_errors.CatalogError as refusal:
                    raise errors.InvalidCoupon(refusal.message) from None
            purchase.access = buyer_services.grant_access(
                subscription=purchase.subscription,
                buyer=purchase.buyer,
                purchased_at=now,
                granted_by=purchase.created_by,
                **_access_window(purchase, now),
            )
            if purchase.session_id:
                PurchaseSession.objects.filter(pk=purchase.session_id).update(consumed_at=now)
            if purchase.is_recurring:
                start_contract(purchase, amount_each_period, now)
            purchase.status, purchase.completed_at = Purchase.Status.COMPLETED, now
            purchase.save()
            audit.record("completed", purchase, changes=_audited(purchase, "pending"))
            journal.book([journal.sale_entry(purchase, booked_at=now)])
            queue_purchase_receipt(purchase)
            events.publish("purchase.completed", purchase)
            return purchase
    except (errors.PurchaseError, buyer_errors.BuyerError) as refusal:
        # Paid but not grantable after all (stock taken, wallet emptied, coupon used up by a
        # concurrent purchase): the attempt is kept as failed and a card payment is given back.
        failed = _fail(purchase, "", refusal.message)
        if failed.gateway_reference and failed.payment_type != WALLET:
            # The card was charged: the charge and its return are both money that moved.
            with transaction.atomic():
                journal.book([journal.sale_entry(failed, booked_at=timezone.now())])
                refund_payment(failed, failed.amount, "Purchase could not be completed", None)
        return failed


def _amount_each_period(purchase: Purchase) -> Decimal:
    """What the contract charges each period: what was paid, or after a free trial the price
    with the coupon as it was at purchase time (the session's quote, when bought through one)."""
    if purchase.trial_ends_at is None:
        return purchase.amount
    if purchase.session_id:
        return purchase.session.price
    quote = price_with_coupon(
        pricing_model=purchase.pricing_model, coupon=purchase.coupon, at=purchase.created_at
    )
    return quote.final_amount


def _access_window(purchase: Purchase, now) -> dict:
    """A one-time rental lasts its rental hours; a recurring purchase its trial or first period
    plus the renewal grace (the contract renews it; the grace covers the wait for the renewal
    job); otherwise the subscription's own window applies."""
    pricing_model = purchase.pricing_model
    if pricing_model.is_recurring:
        until = access_end_of_contract(first_bill_date(purchase, now), stopping=False)
        return {"access_start": now, "access_expire": until}
    if pricing_model.rental_hours:
        return {
            "access_start": now,
            "access_expire": now + timedelta(hours=pricing_model.rental_hours),
        }
    return {}


def _lookup(gateway, key):
    try:
        return gateway.lookup(idempotency_key=key)
    except GatewayError:
        return None


def confirm_purchase(*, purchase: Purchase) -> Purchase:
    """Ask the gateway about a pending purchase (a redirect payment, or a card charge whose
    answer was lost), then complete it, fail it or leave it pending."""
    if purchase.status != Purchase.Status.PENDING:
        return purchase
    gateway = get_gateway(purchase.payment_type)
    if gateway is None:
        return purchase
    key = _gateway_key(purchase)
    if gateway.is_redirect:
        try:
            result = gateway.confirm(idempotency_key=key)
        except GatewayError:
            result = None
    else:
        result = _lookup(gateway, key)
    if result is None or result.status == "pending":
        return purchase
    _record_gateway_answer(purchase, result)
    if result.approved:
        return _complete(purchase)
    return _fail(purchase, result.result_code, result.response_message)


def expire_pending_purchases(*, now=None) -> int:
    """Pending purchases past their time fail (the buyer never paid); answers how many."""
    now = now or timezone.now()
    expired = 0
    for purchase in Purchase.objects.filter(status=Purchase.Status.PENDING, expires_at__lte=now):
        confirmed = confirm_purchase(purchase=purchase)
        if confirmed.status != Purchase.Status.PENDING:
            continue
        gateway = get_gateway(confirmed.payment_type)
        if gateway is not None and gateway.is_redirect:
            # Close the payment page first, so the buyer cannot pay for a failed purchase; one
            # paid in the meantime is completed.
            gateway.void(idempotency_key=_gateway_key(confirmed))
            result = _lookup(gateway, _gateway_key(confirmed))
            if result is not None and result.approved:
                _record_gateway_answer(confirmed, result)
                _complete(confirmed)
                continue
        _fail(confirmed, "", "The buyer did not complete the payment in time.")
        expired += 1
    return expired


def _charged_nothing_now(purchase: Purchase) -> bool:
    """Settled without a gateway charge: e-wallet (debited on completion), trial, free."""
    return (
        purchase.payment_type == WALLET or purchase.trial_ends_at is not None or not purchase.amount
    )


def resume_purchase(*, purchase: Purchase) -> Purchase:
    """Finish a purchase whose request was cut off (a killed worker, a lost connection) when its
    API client retries with the same Idempotency-Key, and answer it: the retry gets the outcome
    the first attempt would have had. A card purchase asks the gateway with the purchase's key
    and is charged only if no charge was sent (the gateway charges a key once); an e-wallet or
    free one is completed; a redirect payment keeps (or reopens) its payment page."""
    purchase = Purchase.objects.get(pk=purchase.pk)
    if purchase.status != Purchase.Status.PENDING:
        return purchase
    if _charged_nothing_now(purchase):
        return _complete(purchase)
    gateway = get_gateway(purchase.payment_type)
    if gateway is None:
        return purchase
    if gateway.is_redirect:
        return purchase if purchase.redirect_url else _start_redirect(purchase, gateway)
    try:
        result = gateway.lookup(idempotency_key=_gateway_key(purchase))
    except GatewayError:
        return purchase  # the gateway cannot tell now: still pending, asked again later
    if result is None:
        return _charge_and_settle(purchase, gateway)
    return _settle_with(purchase, result)


def _settle_with(purchase: Purchase, result) -> Purchase:
    if result.status == "pending":
        return purchase
    _record_gateway_answer(purchase, result)
    if result.approved:
        return _complete(purchase)
    return _fail(purchase, result.result_code, result.response_message)


def resolve_seconds() -> int:
    return settings.PURCHASE_RESOLVE_SECONDS


def resolve_pending_purchases(*, now=None) -> int:
    """The beat job for purchases left pending by a request that ended without settling them (a
    crash, a gateway answer lost), once they are older than PURCHASE_RESOLVE_SECONDS (longer
    than a request can run): the gateway is asked with the purchase's key; a charge that landed
    completes the purchase, a declined one fails it, a charge never sent fails it (nothing was
    taken), and so does an e-wallet purchase never settled (nothing was debited). Redirect
    payments wait for their buyer until they expire. Answers how many were settled."""
    now = now or timezone.now()
    settled = 0
    cutoff = now - timedelta(seconds=resolve_seconds())
    for purchase in Purchase.objects.filter(
        status=Purchase.Status.PENDING, created_at__lte=cutoff
    ).order_by("created_at"):
        if _charged_nothing_now(purchase):
            outcome = _fail(
                purchase, "", "The purchase was interrupted before it was paid; nothing was taken."
            )
        else:
            gateway = get_gateway(purchase.payment_type)
            if gateway is None or gateway.is_redirect:
                continue
            try:
                result = gateway.lookup(idempotency_key=_gateway_key(purchase))
            except GatewayError:
                continue
            if result is None:
                outcome = _fail(
                    purchase,
                    "",
                    "The purchase was interrupted before the card was charged; nothing was taken.",
                )
            else:
                outcome = _settle_with(purchase, result)
        settled += outcome.status != Purchase.Status.PENDING
    return settled
