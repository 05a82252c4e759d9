"""The purchase service: every purchase, from any entry point, goes through `create_purchase`.

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
from ipaddress import ip_address

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from buyers import errors as buyer_errors
from buyers import selectors as buyer_selectors
from buyers import services as buyer_services
from buyers.models import Access, Buyer, WalletBalance
from core.money import has_more_digits_than_currency, minor_digits, quantize
from subscriptions import errors as catalog_errors
from subscriptions import selectors as catalog_selectors
from subscriptions.models import Coupon, PricingModel, Subscription
from subscriptions.services import price_with_coupon, use_coupon

from . import errors
from .gateways import get_gateway
from .gateways.base import GatewayError, GatewayTimeout
from .models import (
    WALLET,
    Cancellation,
    ContractTransaction,
    Purchase,
    PurchaseSession,
    RecurringContract,
    Refund,
)
from .recurrence import access_end_of_contract, period_end


def pending_minutes() -> int:
    return settings.PENDING_PURCHASE_MINUTES


def session_minutes() -> int:
    return settings.PURCHASE_SESSION_MINUTES


# --- Checks shared by sessions and purchases ---------------------------------------------------


def _offered_pricing_model(subscription: Subscription, pricing_model) -> PricingModel:
    if pricing_model is None:
        offer = subscription.offers.filter(is_default=True).select_related("pricing_model").first()
        if offer is None:
            raise errors.InvalidPricingModel()
        return offer.pricing_model
    if not subscription.offers.filter(pricing_model=pricing_model).exists():
        raise errors.InvalidPricingModelForThisProduct()
    return pricing_model


def _check_product(subscription, now) -> Subscription:
    if subscription is None or subscription.archived_at is not None:
        raise errors.ProductDoesNotExist()
    if subscription.provisioning_only:
        raise errors.SubscriptionNotAvailableForPurchaseType()
    if subscription.sale_start and now < subscription.sale_start:
        raise errors.ProductNotAvailableYet()
    if subscription.sale_end and now >= subscription.sale_end:
        raise errors.ProductExpired()
    if subscription.access_expire and now >= subscription.access_expire:
        raise errors.ProductExpired("This subscription's access window is over.")
    return subscription


def _find_coupon(code: str) -> Coupon | None:
    code = (code or "").strip()
    if not code:
        return None
    coupon = Coupon.objects.filter(code__iexact=code).first()
    if coupon is None:
        raise errors.InvalidCoupon("There is no coupon with this code.")
    return coupon


def _quote(pricing_model, coupon, subscription, now):
    try:
        return price_with_coupon(
            pricing_model=pricing_model, coupon=coupon, subscription=subscription, at=now
        )
    except catalog_errors.CatalogError as refusal:
        raise errors.InvalidCoupon(refusal.message) from None


def _list_price_and_discount(pricing_model, coupon, subscription, now):
    quote = _quote(pricing_model, coupon, subscription, now)
    return quote.as_decimal(quote.list_price), quote.as_decimal(quote.discount), quote.currency


def _with_trial(pricing_model, list_price, discount, redirect: bool, now):
    """A free trial delays the first charge to the trial's end (by stored card or e-wallet; a
    payment page cannot store an agreement without a payment, so it is charged at once):
    (the discount today, when the trial ends or None)."""
    if pricing_model.is_recurring and pricing_model.trial_days and not redirect:
        return list_price, now + timedelta(days=pricing_model.trial_days)
    return discount, None


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
) -> PurchaseQuote:
    """The price `create_purchase` would charge for this product, pricing model, coupon and
    payment type now, computed the same way, writing nothing; refused as it would refuse the
    product, the pricing model or the coupon."""
    now = timezone.now()
    subscription = _check_product(subscription, now)
    if pricing_model is None:
        raise errors.InvalidPricingModel()
    pricing_model = _offered_pricing_model(subscription, pricing_model)
    gateway = get_gateway(payment_type) if payment_type != WALLET else None
    if payment_type != WALLET and gateway is None:
        raise errors.InvalidPaymentType()
    coupon = _find_coupon(coupon_code)
    list_price, discount, currency = _list_price_and_discount(
        pricing_model, coupon, subscription, now
    )
    redirect = gateway is not None and gateway.is_redirect
    discount, trial_ends_at = _with_trial(pricing_model, list_price, discount, redirect, now)
    return PurchaseQuote(
        currency=currency,
        list_price=list_price,
        discount=discount,
        amount=list_price - discount,
        coupon=coupon,
        trial_ends_at=trial_ends_at,
        recurring=pricing_model.is_recurring,
    )


def _active_access(buyer: Buyer, subscription: Subscription, now) -> Access | None:
    return buyer_selectors.live_access_of(buyer=buyer, subscription=subscription, now=now)


def _check_mandatory(buyer: Buyer, subscription: Subscription, now) -> None:
    mandatory = catalog_selectors.mandatory_subscription()
    if mandatory is None or mandatory.pk == subscription.pk:
        return
    if _active_access(buyer, mandatory, now) is None:
        raise errors.UserDoesNotHaveMandatorySubscription(
            f"The buyer must first hold the mandatory subscription “{mandatory.name}”."
        )


def _check_can_acquire(subscription, pricing_model, device_type: str) -> None:
    if subscription.stock is not None:
        granted = subscription.accesses.filter(revoked_at__isnull=True).count()
        if granted >= subscription.stock:
            raise errors.UserCantAcquire("This subscription is out of stock.")
    if (
        device_type
        and not pricing_model.grant_all_devices
        and device_type not in (pricing_model.device_types or [])
    ):
        raise errors.UserCantAcquire("This pricing model does not cover the buyer's device type.")


def _check_url(value: str) -> bool:
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return False
    return True


# --- Purchase sessions (reference 000) ---------------------------------------------------------


@transaction.atomic
def open_purchase_session(
    *,
    buyer: Buyer | None,
    subscription: Subscription | None,
    transaction_type: str = PurchaseSession.TransactionType.SUBSCRIPTION,
    pricing_model: PricingModel | None = None,
    media=None,
    coupon_code: str = "",
    user_ip: str | None = None,
    udid: str = "",
    preview_module: str = "",
) -> PurchaseSession:
    """Open a purchase session at today's price (with the coupon), valid for
    PURCHASE_SESSION_MINUTES. Refuses what a purchase of it would refuse for the product.

    The session keeps its quote (list price, discount, price, currency): a purchase made with
    it while it is open is charged exactly that, even if staff change the price or the coupon
    meanwhile (see `_session_price` for what voids it)."""
    now = timezone.now()
    if buyer is None:
        raise errors.AuthenticationRequired()
    if transaction_type not in PurchaseSession.TransactionType.values:
        raise errors.PurchaseError("Unknown transaction type.", field="transaction_type")
    subscription = _check_product(subscription, now)
    pricing_model = _offered_pricing_model(subscription, pricing_model)
    if media is not None and not subscription.media.filter(pk=media.pk).exists():
        raise errors.ProductDoesNotExist("This content is not part of the subscription.")
    coupon = _find_coupon(coupon_code)
    quote = _quote(pricing_model, coupon, subscription, now)
    if user_ip:
        try:
            user_ip = str(ip_address(str(user_ip).strip()))
        except ValueError:
            raise errors.PurchaseError("This is not an IP address.", field="user_ip") from None
    return PurchaseSession.objects.create(
        buyer=buyer,
        subscription=subscription,
        pricing_model=pricing_model,
        media=media,
        transaction_type=transaction_type,
        list_price=quote.as_decimal(quote.list_price),
        discount=quote.as_decimal(quote.discount),
        price=quote.final_amount,
        currency=quote.currency,
        coupon=coupon,
        user_ip=user_ip or None,
        udid=(udid or "")[:255],
        preview_module=str(preview_module or "")[:64],
        created_at=now,
        expires_at=now + timedelta(minutes=session_minutes()),
    )


# --- Purchases (reference 001) ----------------------------------------------------------------


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
) -> Purchase:
    """Buy `subscription` with `pricing_model` for `buyer`, enforcing every rule of reference 001.

    A refusal raises its named PurchaseError and writes nothing. Otherwise answers the purchase:
    completed; failed (declined, with the gateway's result code and message); or pending with a
    `redirect_url` for redirect payment types (confirmed later by `confirm_purchase`). Staff
    buying on a buyer's behalf (`staff_user`) skip the buyer's PIN. With an open, unused
    `session` of this buyer and product, it is charged and records the session's quote (list
    price, discount, coupon, currency), not today's price; an expired or used one is refused."""
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
    )
    purchase = _check_and_reserve(request)
    if purchase.payment_type == WALLET or purchase.trial_ends_at is not None or not purchase.amount:
        # Nothing to charge now (the e-wallet is debited on completion; a trial or a 100% coupon
        # costs nothing today).
        return _complete(purchase)
    gateway = get_gateway(purchase.payment_type)
    if gateway.is_redirect:
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
    return _charge_and_settle(purchase, gateway)


def _has_pin(buyer: Buyer) -> bool:
    """Whether the buyer has a purchase PIN now (read afresh: staff may have just set it)."""
    return Buyer.objects.filter(pk=buyer.pk).exclude(pin_hash="").exists()


def _gateway_key(purchase: Purchase) -> str:
    return f"purchase:{purchase.code}"


def _check_and_reserve(request: PurchaseRequest) -> Purchase:
    now = timezone.now()
    if request.buyer is None:
        raise errors.AuthenticationRequired()
    # The PIN is checked first and on its own: a wrong PIN is counted even though we refuse.
    if request.staff_user is None and _has_pin(request.buyer):
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
    subscription = _check_product(request.subscription, now)
    if request.pricing_model is None:
        raise errors.InvalidPricingModel()
    pricing_model = _offered_pricing_model(subscription, request.pricing_model)

    payment_type = request.payment_type
    gateway = get_gateway(payment_type) if payment_type != WALLET else None
    if payment_type != WALLET and gateway is None:
        raise errors.InvalidPaymentType()
    if gateway is not None and pricing_model.is_recurring and not gateway.supports_recurring:
        raise errors.WebpayIsntAvailableForRecurringPayment()
    redirect = gateway is not None and gateway.is_redirect
    if redirect and not (_check_url(request.return_url) and _check_url(request.cancel_url)):
        raise errors.InvalidReturnOrCancelURL()
    if gateway is not None and not gateway.is_redirect and not request.instrument.strip():
        raise errors.InvalidPaymentType("Give the card to charge.", field="instrument")

    _check_mandatory(buyer, subscription, now)
    if Purchase.objects.filter(
        buyer=buyer, subscription=subscription, status=Purchase.Status.PENDING
    ).exists():
        raise errors.PendingProductCanNotBePurchased()
    if _active_access(buyer, subscription, now) is not None:
        raise errors.UserAlreadyHasProduct()
    _check_can_acquire(subscription, pricing_model, request.device_type)

    session = request.session
    if session is not None:
        session = PurchaseSession.objects.select_for_update().filter(pk=session.pk).first()
        if (
            session is None
            or session.consumed_at is not None
            or session.is_expired_at(now)
            or session.buyer_id != buyer.pk
            or session.subscription_id != subscription.pk
            or (session.pricing_model_id and session.pricing_model_id != pricing_model.pk)
        ):
            raise errors.InvalidPurchaseSession()
        coupon = session.coupon
        list_price, discount, currency = _session_price(session, request.coupon_code)
    else:
        coupon = _find_coupon(request.coupon_code)
        list_price, discount, currency = _list_price_and_discount(
            pricing_model, coupon, subscription, now
        )
    discount, trial_ends_at = _with_trial(pricing_model, list_price, discount, redirect, now)
    amount = list_price - discount
    if payment_type == WALLET and trial_ends_at is None:
        balance = WalletBalance.objects.filter(buyer=buyer, currency=currency).first()
        if balance is None or balance.balance < amount:
            raise errors.InsufficientBalance()

    return Purchase.objects.create(
        buyer=buyer,
        subscription=subscription,
        pricing_model=pricing_model,
        session=session,
        list_price=list_price,
        discount=discount,
        amount=amount,
        currency=currency,
        trial_ends_at=trial_ends_at,
        coupon=coupon,
        coupon_code=coupon.code if coupon else "",
        is_recurring=pricing_model.is_recurring,
        payment_type=payment_type,
        instrument=request.instrument.strip(),
        return_url=request.return_url,
        cancel_url=request.cancel_url,
        status=Purchase.Status.PENDING,
        created_by=request.staff_user,
        created_at=now,
        expires_at=now + timedelta(minutes=pending_minutes()),
    )


def _session_price(session: PurchaseSession, coupon_code: str):
    """The price a live session quoted (list price, discount, currency): it holds until the
    session expires, whatever staff change in the pricing model or the coupon's validity
    meanwhile. Two things void it: another coupon than the session's (open a new session), and
    the session's coupon used up meanwhile (a session does not reserve a use, and a use limit
    is never exceeded); both refuse the purchase, so a buyer is never charged another price."""
    coupon = session.coupon  # read afresh with the session: its uses are today's
    code = (coupon_code or "").strip()
    if code and (coupon is None or code.lower() != coupon.code.lower()):
        raise errors.InvalidPurchaseSession(
            "This purchase session was opened with another coupon; open a new session to use "
            "this one.",
            field="coupon",
        )
    if coupon is not None and coupon.use_limit is not None and coupon.uses >= coupon.use_limit:
        raise errors.InvalidCoupon(
            "This session's coupon has been used up since the session was opened; open a new "
            "session at today's price."
        )
    if session.list_price is None:
        # Opened before sessions kept their quote (they last PURCHASE_SESSION_MINUTES): its
        # split into list price and discount is unknown, so it is not charged at a guess.
        raise errors.InvalidPurchaseSession(
            "This purchase session was opened before an upgrade; open a new session."
        )
    return session.list_price, session.discount, session.currency


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
    Purchase.objects.filter(pk=purchase.pk, status=Purchase.Status.PENDING).update(
        status=Purchase.Status.FAILED, result_code=result_code, response_message=message[:200]
    )
    purchase.refresh_from_db()
    return purchase


def _complete(purchase: Purchase) -> Purchase:
    """Settle a paid (or wallet) pending purchase: money, coupon, access, session, receipt."""
    try:
        with transaction.atomic():
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
                    )
                purchase.result_code, purchase.response_message = "0", "Paid from the e-wallet"
            if purchase.coupon_id:
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
                _start_contract(purchase, amount_each_period, now)
            purchase.status, purchase.completed_at = Purchase.Status.COMPLETED, now
            purchase.save()
            from .notifications import queue_purchase_receipt

            queue_purchase_receipt(purchase)
            return purchase
    except (errors.PurchaseError, buyer_errors.BuyerError) as refusal:
        # Paid but not grantable after all (stock taken, wallet emptied, coupon used up by a
        # concurrent purchase): the attempt is kept as failed and a card payment is given back.
        failed = _fail(purchase, "", refusal.message)
        if failed.gateway_reference and failed.payment_type != WALLET:
            _refund_gateway(failed, failed.amount, "Purchase could not be completed", None)
        return failed


def _first_bill_date(purchase: Purchase, now):
    """When a recurring purchase completed at `now` is first billed again: at its trial's end,
    else at the end of its first period."""
    return purchase.trial_ends_at or period_end(purchase.pricing_model, now, 1)


def _start_contract(purchase: Purchase, amount: Decimal, now) -> RecurringContract:
    """The contract a recurring purchase starts: period 1 is paid now (or, with a trial, free
    until the trial ends, when period 1 is charged); the next bill date is that period's end."""
    trial = purchase.trial_ends_at is not None
    anchor = purchase.trial_ends_at if trial else now
    return RecurringContract.objects.create(
        purchase=purchase,
        buyer=purchase.buyer,
        subscription=purchase.subscription,
        pricing_model=purchase.pricing_model,
        access=purchase.access,
        amount=amount,
        currency=purchase.currency,
        payment_type=purchase.payment_type,
        instrument=purchase.instrument or purchase.gateway_reference,
        recurrence_unit=purchase.pricing_model.recurrence_unit,
        recurrence_count=purchase.pricing_model.recurrence_count,
        anchor=anchor,
        periods_paid=0 if trial else 1,
        next_bill_date=_first_bill_date(purchase, now),
        created_at=now,
    )


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
        until = access_end_of_contract(_first_bill_date(purchase, now), stopping=False)
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


# --- Refunds and cancellations (reference 002) --------------------------------------------------


def _refund_gateway(
    purchase: Purchase, amount: Decimal, reason: str, staff_user, charge=None
) -> Refund:
    """Give `amount` back to where it was paid from: the purchase's own payment, or the renewal
    `charge` (a ContractTransaction) when given."""
    number = purchase.refunds.count() + 1
    key = f"refund:{purchase.code}:{number}"
    if purchase.payment_type == WALLET:
        buyer_services.refund_to_wallet(
            buyer=purchase.buyer,
            amount=amount,
            currency=purchase.currency,
            reference=purchase.code,
        )
        reference = ""
    else:
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
            raise errors.RefundRefused(
                f"The gateway refused the refund: {result.response_message}."
            )
        reference = result.pnref
    return Refund.objects.create(
        purchase=purchase,
        contract_transaction=charge,
        amount=amount,
        currency=purchase.currency,
        method=purchase.payment_type,
        gateway_reference=reference,
        reason=reason,
        created_by=staff_user,
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
    if not (reason or "").strip():
        raise errors.RefundRefused("Say why.", field="reason")
    refund = _refund_gateway(purchase, amount, reason.strip(), staff_user)
    if already + amount == purchase.amount:
        purchase.status = Purchase.Status.REFUNDED
        purchase.save(update_fields=["status"])
        if purchase.access and purchase.access.revoked_at is None:
            buyer_services.revoke_access(access=purchase.access, revoked_by=staff_user)
        _end_contract(purchase, timezone.now())
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
    if by_buyer and _has_pin(purchase.buyer):
        # Outside the cancellation's transaction, so that a wrong PIN stays counted.
        try:
            buyer_services.verify_purchase_pin(buyer=purchase.buyer, pin=pin)
        except buyer_errors.BuyerError as refusal:
            raise errors.UserPurchasePinValueNoMatch(refusal.message) from None
    with transaction.atomic():
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
    contract = RecurringContract.objects.select_for_update().filter(purchase=purchase).first()
    if contract is not None and contract.claimed_until and contract.claimed_until > now:
        raise errors.PurchaseError(
            "A renewal charge of this subscription is running; try again in a few minutes."
        )
    if mode == Cancellation.Mode.PERIOD_END:
        purchase.status = Purchase.Status.CANCELLING
        if contract is not None:
            contract.cancel_at_period_end = True
            contract.save(update_fields=["cancel_at_period_end"])
            _end_access_at_period_end(contract)
    else:
        _end_contract(purchase, now)
        purchase.status = Purchase.Status.CANCELLED
        amount, charge = _refund_amount(purchase, refund, now)
        if amount > 0:
            refund_row = _refund_gateway(
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
    purchase.refresh_from_db()
    return product_view(purchase, now=now)


def _end_access_at_period_end(contract: RecurringContract) -> None:
    """A contract that stops at its period's end gives no renewal grace: its access ends at the
    period's end. A past-due one keeps its access until its next retry, when the renewal job
    ends it (dunning)."""
    if contract.status != RecurringContract.Status.ACTIVE:
        return
    end = access_end_of_contract(contract.next_bill_date, stopping=True)
    Access.objects.filter(pk=contract.access_id, access_expire__gt=end).update(access_expire=end)


def _end_contract(purchase: Purchase, now) -> None:
    """A recurring purchase ended now (cancelled or refunded in full): its contract stops
    charging, and the buyer is told."""
    contract = RecurringContract.objects.select_for_update().filter(purchase=purchase).first()
    if contract is None or contract.status not in RecurringContract.LIVE_STATUSES:
        return
    contract.status, contract.ended_at = RecurringContract.Status.CANCELLED, now
    contract.save(update_fields=["status", "ended_at"])
    from .notifications import CONTRACT_ENDED, queue_renewal_emails

    queue_renewal_emails([(CONTRACT_ENDED, contract.pk, f"contract-ended:{contract.code}")])


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
        start = period_end(contract, contract.anchor, contract.periods_paid - 1)
        end = contract.next_bill_date
    elif purchase.access is not None and purchase.access.access_expire:
        start, end = purchase.access.access_start, purchase.access.access_expire
    else:
        return Decimal(0), charge
    total = (end - start).total_seconds()
    unused = min(total, max(0.0, (end - now).total_seconds()))
    share = Decimal(unused / total) if total > 0 else Decimal(0)
    step = Decimal(1).scaleb(-minor_digits(purchase.currency))
    return min(left, (paid * share).quantize(step, rounding="ROUND_DOWN")), charge


@transaction.atomic
def apply_new_price_to_contracts(*, pricing_model: PricingModel) -> int:
    """The shop's choice to charge running contracts of `pricing_model` its current price from
    their next period on (without it, a contract keeps the price it was bought at). Answers how
    many contracts changed."""
    return RecurringContract.objects.filter(
        pricing_model=pricing_model,
        status__in=RecurringContract.LIVE_STATUSES,
    ).update(amount=pricing_model.price)
