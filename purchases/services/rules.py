"""The rules of reference 001 that a purchase session and a purchase both check: the product is on
sale, the pricing model is one it offers, the coupon exists and applies, the buyer may acquire
it. Each refusal raises its named PurchaseError and writes nothing.

`PURCHASE_RULES` is the ordered list a purchase checks (checkout's `_reserve` runs it and stops
at the first refusal); the support explainer (purchases/support/explain.py) runs the same list
and collects every answer, so it cannot disagree with a real purchase."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from buyers import selectors as buyer_selectors
from buyers.models import Access, Buyer, WalletBalance
from subscriptions import errors as catalog_errors
from subscriptions import selectors as catalog_selectors
from subscriptions.models import Coupon, PricingModel, Subscription
from subscriptions.services import price_with_coupon

from .. import errors
from ..gateways import get_gateway
from ..models import WALLET, Purchase, PurchaseSession


def offered_pricing_model(subscription: Subscription, pricing_model) -> PricingModel:
    if pricing_model is None:
        offer = subscription.offers.filter(is_default=True).select_related("pricing_model").first()
        if offer is None:
            raise errors.InvalidPricingModel()
        return offer.pricing_model
    if not subscription.offers.filter(pricing_model=pricing_model).exists():
        raise errors.InvalidPricingModelForThisProduct()
    return pricing_model


def check_product(subscription, now) -> Subscription:
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


def find_coupon(code: str) -> Coupon | None:
    code = (code or "").strip()
    if not code:
        return None
    coupon = Coupon.objects.filter(code__iexact=code).first()
    if coupon is None:
        raise errors.InvalidCoupon("There is no coupon with this code.")
    return coupon


def check_coupon_for_buyer(coupon: Coupon | None, buyer: Buyer | None, *, purchase=None) -> None:
    """The coupon's rules about who uses it: at most `uses_per_buyer` paid purchases with it per
    buyer, and `first_purchase_only` for a buyer who has never paid for a purchase. Before the
    purchase is made (`purchase` None) a pending purchase with the coupon counts as a use; when
    `purchase` settles, only paid ones other than it do (the caller holds the buyer's row lock,
    so two purchases of one buyer cannot both take the last use)."""
    if coupon is None or buyer is None:
        return
    if coupon.uses_per_buyer is None and not coupon.first_purchase_only:
        return
    counted = (
        Purchase.PAID_STATUSES
        if purchase is not None
        else (
            *Purchase.PAID_STATUSES,
            Purchase.Status.PENDING,
        )
    )
    bought = Purchase.objects.filter(buyer=buyer, status__in=counted)
    if purchase is not None:
        bought = bought.exclude(pk=purchase.pk)
    with_coupon = bought.filter(coupon=coupon)
    if coupon.first_purchase_only and (
        with_coupon.exists() or bought.filter(status__in=Purchase.PAID_STATUSES).exists()
    ):
        raise errors.InvalidCoupon(
            f"The coupon {coupon.code} is for a buyer's first purchase only, and this buyer has "
            "bought before."
        )
    if coupon.uses_per_buyer is not None:
        used = with_coupon.count()
        if used >= coupon.uses_per_buyer:
            times = "once" if coupon.uses_per_buyer == 1 else f"{coupon.uses_per_buyer} times"
            raise errors.InvalidCoupon(
                f"The coupon {coupon.code} can be used {times} per buyer, and this buyer has "
                "used it up."
            )


def quote_price(pricing_model, coupon, subscription, now):
    try:
        return price_with_coupon(
            pricing_model=pricing_model, coupon=coupon, subscription=subscription, at=now
        )
    except catalog_errors.CatalogError as refusal:
        raise errors.InvalidCoupon(refusal.message) from None


def list_price_and_discount(pricing_model, coupon, subscription, now):
    quote = quote_price(pricing_model, coupon, subscription, now)
    return quote.as_decimal(quote.list_price), quote.as_decimal(quote.discount), quote.currency


def with_trial(pricing_model, list_price, discount, redirect: bool, now):
    """A free trial delays the first charge to the trial's end (by stored card or e-wallet; a
    payment page cannot store an agreement without a payment, so it is charged at once):
    (the discount today, when the trial ends or None)."""
    if pricing_model.is_recurring and pricing_model.trial_days and not redirect:
        return list_price, now + timedelta(days=pricing_model.trial_days)
    return discount, None


def active_access(buyer: Buyer, subscription: Subscription, now) -> Access | None:
    return buyer_selectors.live_access_of(buyer=buyer, subscription=subscription, now=now)


def check_mandatory(buyer: Buyer, subscription: Subscription, now) -> None:
    mandatory = catalog_selectors.mandatory_subscription()
    if mandatory is None or mandatory.pk == subscription.pk:
        return
    if active_access(buyer, mandatory, now) is None:
        raise errors.UserDoesNotHaveMandatorySubscription(
            f"The buyer must first hold the mandatory subscription “{mandatory.name}”."
        )


def check_stock(subscription) -> None:
    if subscription.stock is not None:
        granted = subscription.accesses.filter(revoked_at__isnull=True).count()
        if granted >= subscription.stock:
            raise errors.UserCantAcquire(
                f"This subscription is out of stock ({granted} of {subscription.stock} granted)."
            )


def check_device_type(pricing_model, device_type: str) -> None:
    if (
        device_type
        and not pricing_model.grant_all_devices
        and device_type not in (pricing_model.device_types or [])
    ):
        covered = ", ".join(pricing_model.device_types or []) or "none"
        raise errors.UserCantAcquire(
            f"This pricing model does not cover the device type “{device_type}” "
            f"(it covers: {covered})."
        )


def is_web_url(value: str) -> bool:
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return False
    return True


def has_pin(buyer: Buyer) -> bool:
    """Whether the buyer has a purchase PIN now (read afresh: staff may have just set it)."""
    return Buyer.objects.filter(pk=buyer.pk).exclude(pin_hash="").exists()


# --- The purchase's rules, in the order a purchase checks them ----------------------------------


@dataclass
class PurchaseFacts:
    """What the rules read (the request) and what they find on the way (the product, the pricing
    model, the gateway, the quote): a rule that needs a finding whose rule refused is not run."""

    buyer: Buyer
    subscription: Subscription | None
    pricing_model: PricingModel | None
    payment_type: str
    now: datetime
    device_type: str = ""
    coupon_code: str = ""
    instrument: str = ""
    return_url: str = ""
    cancel_url: str = ""
    session: PurchaseSession | None = None
    # Found by the rules:
    product: Subscription | None = None
    offer: PricingModel | None = None
    gateway: object = None
    payment_ok: bool = False
    coupon: Coupon | None = None
    priced: bool = False
    list_price: Decimal | None = None
    discount: Decimal | None = None
    currency: str = ""
    trial_ends_at: datetime | None = None
    amount: Decimal | None = None
    notes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PurchaseRule:
    """One rule: `check(facts)` raises its PurchaseError or records what it found; `needs` names
    the findings it reads (`product`, `offer`, `payment_ok`, `priced`)."""

    name: str
    title: str
    check: Callable[[PurchaseFacts], None]
    needs: tuple[str, ...] = ()


def _rule_product(facts: PurchaseFacts) -> None:
    facts.product = check_product(facts.subscription, facts.now)


def _rule_pricing_model(facts: PurchaseFacts) -> None:
    if facts.pricing_model is None:
        raise errors.InvalidPricingModel()
    facts.offer = offered_pricing_model(facts.product, facts.pricing_model)


def _rule_payment_type(facts: PurchaseFacts) -> None:
    payment_type = facts.payment_type
    gateway = get_gateway(payment_type) if payment_type != WALLET else None
    if payment_type != WALLET and gateway is None:
        raise errors.InvalidPaymentType()
    if gateway is not None and facts.offer.is_recurring and not gateway.supports_recurring:
        raise errors.WebpayIsntAvailableForRecurringPayment()
    redirect = gateway is not None and gateway.is_redirect
    if redirect and not (is_web_url(facts.return_url) and is_web_url(facts.cancel_url)):
        raise errors.InvalidReturnOrCancelURL()
    if gateway is not None and not gateway.is_redirect and not facts.instrument.strip():
        raise errors.InvalidPaymentType("Give the card to charge.", field="instrument")
    facts.gateway, facts.payment_ok = gateway, True


def _rule_mandatory(facts: PurchaseFacts) -> None:
    check_mandatory(facts.buyer, facts.product, facts.now)


def _rule_no_pending(facts: PurchaseFacts) -> None:
    if Purchase.objects.filter(
        buyer=facts.buyer, subscription=facts.product, status=Purchase.Status.PENDING
    ).exists():
        raise errors.PendingProductCanNotBePurchased()


def _rule_not_owned(facts: PurchaseFacts) -> None:
    if active_access(facts.buyer, facts.product, facts.now) is not None:
        raise errors.UserAlreadyHasProduct()


def _rule_stock(facts: PurchaseFacts) -> None:
    check_stock(facts.product)


def _rule_device_type(facts: PurchaseFacts) -> None:
    check_device_type(facts.offer, facts.device_type)


def _rule_price(facts: PurchaseFacts) -> None:
    """The session's quote, else today's price with the coupon; the coupon's rules for this
    buyer; then a free trial's zero."""
    session = facts.session
    if session is not None:
        session = PurchaseSession.objects.select_for_update().filter(pk=session.pk).first()
        if (
            session is None
            or session.consumed_at is not None
            or session.is_expired_at(facts.now)
            or session.buyer_id != facts.buyer.pk
            or session.subscription_id != facts.product.pk
            or (session.pricing_model_id and session.pricing_model_id != facts.offer.pk)
        ):
            raise errors.InvalidPurchaseSession()
        from .sessions import session_price  # sessions imports this module

        facts.session, facts.coupon = session, session.coupon
        list_price, discount, currency = session_price(session, facts.coupon_code)
    else:
        facts.coupon = find_coupon(facts.coupon_code)
        list_price, discount, currency = list_price_and_discount(
            facts.offer, facts.coupon, facts.product, facts.now
        )
    check_coupon_for_buyer(facts.coupon, facts.buyer)
    redirect = facts.gateway is not None and facts.gateway.is_redirect
    discount, facts.trial_ends_at = with_trial(
        facts.offer, list_price, discount, redirect, facts.now
    )
    facts.list_price, facts.discount, facts.currency = list_price, discount, currency
    facts.amount = list_price - discount
    facts.priced = True


def _rule_balance(facts: PurchaseFacts) -> None:
    if facts.payment_type == WALLET and facts.trial_ends_at is None:
        balance = WalletBalance.objects.filter(buyer=facts.buyer, currency=facts.currency).first()
        facts.notes["balance"] = balance.balance if balance else Decimal(0)
        if balance is None or balance.balance < facts.amount:
            raise errors.InsufficientBalance()


PURCHASE_RULES: tuple[PurchaseRule, ...] = (
    PurchaseRule("product", "The subscription is on sale", _rule_product),
    PurchaseRule(
        "pricing_model", "The pricing model is one it offers", _rule_pricing_model, ("product",)
    ),
    PurchaseRule("payment_type", "The payment type is accepted", _rule_payment_type, ("offer",)),
    PurchaseRule(
        "mandatory", "The buyer holds the mandatory subscription", _rule_mandatory, ("product",)
    ),
    PurchaseRule(
        "no_pending", "No purchase of it is waiting for payment", _rule_no_pending, ("product",)
    ),
    PurchaseRule("not_owned", "The buyer does not hold it already", _rule_not_owned, ("product",)),
    PurchaseRule("stock", "It is in stock", _rule_stock, ("product",)),
    PurchaseRule(
        "device_type", "The pricing model covers the device type", _rule_device_type, ("offer",)
    ),
    PurchaseRule("price", "The price can be quoted (coupon)", _rule_price, ("offer", "payment_ok")),
    PurchaseRule("balance", "The e-wallet covers the price", _rule_balance, ("priced",)),
)


def missing_needs(rule: PurchaseRule, facts: PurchaseFacts) -> list[str]:
    """The findings `rule` reads that an earlier refusal left unfound."""
    return [need for need in rule.needs if not getattr(facts, need)]


def check_purchase_rules(facts: PurchaseFacts) -> PurchaseFacts:
    """Every rule in order; the first refusal is raised (checkout's way)."""
    for rule in PURCHASE_RULES:
        rule.check(facts)
    return facts
