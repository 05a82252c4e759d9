"""Purchase sessions (reference 000): a quote opened before paying, held for
PURCHASE_SESSION_MINUTES; a purchase made with it is charged exactly that quote."""

from datetime import timedelta
from ipaddress import ip_address

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from buyers.models import Buyer
from subscriptions.models import PricingModel, Subscription

from .. import errors
from ..models import PurchaseSession
from .rules import (
    check_coupon_for_buyer,
    check_product,
    find_coupon,
    offered_pricing_model,
    quote_price,
)


def session_minutes() -> int:
    return settings.PURCHASE_SESSION_MINUTES


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
    meanwhile (see `session_price` for what voids it)."""
    now = timezone.now()
    if buyer is None:
        raise errors.AuthenticationRequired()
    if transaction_type not in PurchaseSession.TransactionType.values:
        raise errors.PurchaseError("Unknown transaction type.", field="transaction_type")
    subscription = check_product(subscription, now)
    pricing_model = offered_pricing_model(subscription, pricing_model)
    if media is not None and not subscription.media.filter(pk=media.pk).exists():
        raise errors.ProductDoesNotExist("This content is not part of the subscription.")
    coupon = find_coupon(coupon_code)
    quote = quote_price(pricing_model, coupon, subscription, now)
    check_coupon_for_buyer(coupon, buyer)
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


def session_price(session: PurchaseSession, coupon_code: str):
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
