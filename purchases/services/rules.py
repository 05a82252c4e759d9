"""The rules of reference 001 that a purchase session and a purchase both check: the product is on
sale, the pricing model is one it offers, the coupon exists and applies, the buyer may acquire
it. Each refusal raises its named PurchaseError and writes nothing."""

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from buyers import selectors as buyer_selectors
from buyers.models import Access, Buyer
from subscriptions import errors as catalog_errors
from subscriptions import selectors as catalog_selectors
from subscriptions.models import Coupon, PricingModel, Subscription
from subscriptions.services import price_with_coupon

from .. import errors
from ..models import Purchase


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


def check_can_acquire(subscription, pricing_model, device_type: str) -> None:
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


def is_web_url(value: str) -> bool:
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return False
    return True


def has_pin(buyer: Buyer) -> bool:
    """Whether the buyer has a purchase PIN now (read afresh: staff may have just set it)."""
    return Buyer.objects.filter(pk=buyer.pk).exclude(pin_hash="").exists()
