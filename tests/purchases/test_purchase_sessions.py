"""A purchase session (reference 000) quotes a price, currency and coupon; a purchase made with
it while it is open is charged exactly that quote, whatever staff change meanwhile, and records
it (list price, discount, amount, coupon) as the purchase's own."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from buyers.models import WalletBalance
from purchases import errors
from purchases.models import Purchase, PurchaseSession, SandboxCharge
from purchases.services.cancellations import refund_purchase
from purchases.services.checkout import create_purchase
from purchases.services.sessions import open_purchase_session
from subscriptions.models import Coupon
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer, written
from tests.subscriptions.factories import CouponFactory

pytestmark = pytest.mark.django_db


def set_price(pricing_model, price, currency=None):
    pricing_model.price = Decimal(price)
    if currency:
        pricing_model.currency = currency
    pricing_model.save()


def buy_with(session, payment_type="wallet", **kwargs):
    return create_purchase(
        buyer=session.buyer,
        subscription=session.subscription,
        pricing_model=session.pricing_model,
        payment_type=payment_type,
        session=session,
        **kwargs,
    )


def balance(buyer, currency="EUR"):
    return WalletBalance.objects.get(buyer=buyer, currency=currency).balance


@pytest.mark.parametrize("new_price", ["14.99", "4.99"])
def test_a_price_changed_after_the_session_opened_is_not_charged(new_price):
    subscription, pricing_model = offer_for_sale(price="9.99")
    buyer = wallet_buyer("50.00")
    session = open_purchase_session(buyer=buyer, subscription=subscription)
    set_price(pricing_model, new_price)
    purchase = buy_with(session)
    assert purchase.status == Purchase.Status.COMPLETED
    assert (purchase.list_price, purchase.discount, purchase.amount, purchase.currency) == (
        Decimal("9.99"),
        Decimal(0),
        Decimal("9.99"),
        "EUR",
    )
    assert balance(buyer) == Decimal("40.01")


def test_the_sessions_coupon_and_quote_hold_when_staff_edit_the_price_and_the_coupon():
    subscription, pricing_model = offer_for_sale(price="20.00")
    coupon = CouponFactory(code="SAVE25", percent=Decimal("25"), use_limit=5)
    buyer = wallet_buyer("50.00")
    session = open_purchase_session(buyer=buyer, subscription=subscription, coupon_code="save25")
    assert (session.list_price, session.discount, session.price) == (
        Decimal("20.00"),
        Decimal("5.00"),
        Decimal("15.00"),
    )
    set_price(pricing_model, "30.00")
    coupon.percent = Decimal("10")
    coupon.save()
    purchase = buy_with(session)
    assert (purchase.list_price, purchase.discount, purchase.amount) == (
        Decimal("20.00"),
        Decimal("5.00"),
        Decimal("15.00"),
    )
    assert (purchase.coupon, purchase.coupon_code) == (coupon, "SAVE25")
    coupon.refresh_from_db()
    assert coupon.uses == 1  # the use is counted, as for any purchase with a coupon
    assert balance(buyer) == Decimal("35.00")


def test_a_coupon_ended_by_staff_after_the_session_opened_still_gives_the_quoted_price():
    # The session quoted while the coupon was valid; its short life bounds what that costs.
    subscription, _ = offer_for_sale(price="20.00")
    coupon = CouponFactory(code="LAUNCH", percent=Decimal("50"))
    buyer = wallet_buyer("50.00")
    session = open_purchase_session(buyer=buyer, subscription=subscription, coupon_code="LAUNCH")
    coupon.valid_until = timezone.now() - timedelta(seconds=1)
    coupon.save()
    purchase = buy_with(session)
    assert purchase.status == Purchase.Status.COMPLETED
    assert (purchase.amount, purchase.discount, purchase.coupon) == (
        Decimal("10.00"),
        Decimal("10.00"),
        coupon,
    )


def test_a_coupon_used_up_after_the_session_opened_refuses_the_purchase_and_writes_nothing():
    # A session reserves no use, and a use limit is never exceeded: the buyer opens a new
    # session at today's price rather than being charged another price than the quote.
    subscription, _ = offer_for_sale(price="20.00")
    coupon = CouponFactory(code="LAST", percent=Decimal("50"), use_limit=1)
    buyer = wallet_buyer("50.00")
    session = open_purchase_session(buyer=buyer, subscription=subscription, coupon_code="LAST")
    Coupon.objects.filter(pk=coupon.pk).update(uses=1)
    before = written()
    with pytest.raises(errors.InvalidCoupon) as refusal:
        buy_with(session)
    assert refusal.value.field == "coupon" and "new session" in refusal.value.message
    assert written() == before
    session.refresh_from_db()
    assert session.consumed_at is None


def test_another_coupon_than_the_sessions_is_refused():
    subscription, _ = offer_for_sale(price="20.00")
    CouponFactory(code="TEN", percent=Decimal("10"))
    CouponFactory(code="FIFTY", percent=Decimal("50"))
    buyer = wallet_buyer("50.00")
    session = open_purchase_session(buyer=buyer, subscription=subscription, coupon_code="TEN")
    plain = open_purchase_session(buyer=wallet_buyer(), subscription=subscription)
    before = written()
    with pytest.raises(errors.InvalidPurchaseSession):
        buy_with(session, coupon_code="FIFTY")
    with pytest.raises(errors.InvalidPurchaseSession):
        buy_with(plain, coupon_code="TEN")
    assert written() == before
    # The session's own coupon, in any letter case, is no change.
    assert buy_with(session, coupon_code="ten").amount == Decimal("18.00")


def test_a_card_is_charged_the_sessions_price():
    subscription, pricing_model = offer_for_sale(price="9.99")
    session = open_purchase_session(buyer=BuyerFactory(), subscription=subscription)
    set_price(pricing_model, "19.99")
    purchase = buy_with(session, "sandbox_card", instrument="tok_approve")
    assert purchase.status == Purchase.Status.COMPLETED and purchase.amount == Decimal("9.99")
    charge = SandboxCharge.objects.get(idempotency_key=f"purchase:{purchase.code}")
    assert (charge.amount, charge.currency) == (Decimal("9.99"), "EUR")


def test_the_sessions_currency_is_charged_even_if_the_pricing_model_changed_it():
    subscription, pricing_model = offer_for_sale(price="9.99")
    buyer = wallet_buyer("50.00")
    session = open_purchase_session(buyer=buyer, subscription=subscription)
    set_price(pricing_model, "12.00", currency="USD")
    purchase = buy_with(session)
    assert (purchase.amount, purchase.currency) == (Decimal("9.99"), "EUR")
    assert balance(buyer, "EUR") == Decimal("40.01")


def test_a_recurring_purchase_through_a_session_renews_at_the_quoted_price():
    subscription, pricing_model = offer_for_sale(price="10.00", recurring=True)
    session = open_purchase_session(buyer=BuyerFactory(), subscription=subscription)
    set_price(pricing_model, "12.00")
    purchase = buy_with(session, "sandbox_card", instrument="tok_approve")
    assert purchase.amount == Decimal("10.00") and purchase.contract.amount == Decimal("10.00")


def test_a_free_trial_through_a_session_renews_at_the_quoted_price():
    subscription, pricing_model = offer_for_sale(price="10.00", recurring=True)
    pricing_model.trial_days = 7
    pricing_model.save()
    CouponFactory(code="HALF", percent=Decimal("50"))
    session = open_purchase_session(
        buyer=BuyerFactory(), subscription=subscription, coupon_code="HALF"
    )
    set_price(pricing_model, "12.00")
    purchase = buy_with(session, "sandbox_card", instrument="tok_approve")
    assert purchase.amount == 0 and purchase.trial_ends_at is not None
    assert purchase.contract.amount == Decimal("5.00")


def test_a_session_purchase_refunds_what_was_charged():
    subscription, pricing_model = offer_for_sale(price="9.99")
    buyer = wallet_buyer("50.00")
    session = open_purchase_session(buyer=buyer, subscription=subscription)
    set_price(pricing_model, "99.00")
    purchase = buy_with(session)
    with pytest.raises(errors.RefundRefused):
        refund_purchase(purchase=purchase, amount="10.00", reason="too much", staff_user=None)
    refund_purchase(purchase=purchase, amount="9.99", reason="asked", staff_user=None)
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert balance(buyer) == Decimal("50.00")


def test_an_expired_session_is_refused_even_when_its_price_is_better():
    subscription, pricing_model = offer_for_sale(price="9.99")
    buyer = wallet_buyer("50.00")
    session = open_purchase_session(buyer=buyer, subscription=subscription)
    set_price(pricing_model, "19.99")
    PurchaseSession.objects.filter(pk=session.pk).update(
        created_at=session.created_at - timedelta(hours=2),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    session.refresh_from_db()
    before = written()
    with pytest.raises(errors.InvalidPurchaseSession):
        buy_with(session)
    assert written() == before
    # Without the session, today's price applies.
    purchase = create_purchase(
        buyer=buyer, subscription=subscription, pricing_model=pricing_model, payment_type="wallet"
    )
    assert purchase.amount == Decimal("19.99")


def test_a_used_session_is_refused():
    subscription, _ = offer_for_sale(price="9.99")
    buyer = wallet_buyer("50.00")
    session = open_purchase_session(buyer=buyer, subscription=subscription)
    purchase = buy_with(session)
    refund_purchase(purchase=purchase, amount="9.99", reason="asked", staff_user=None)
    with pytest.raises(errors.InvalidPurchaseSession):
        buy_with(session)


def test_a_session_opened_before_sessions_kept_their_quote_is_refused_and_writes_nothing():
    subscription, _ = offer_for_sale(price="20.00")
    buyer = wallet_buyer("50.00")
    session = open_purchase_session(buyer=buyer, subscription=subscription)
    PurchaseSession.objects.update(list_price=None, discount=None)
    session.refresh_from_db()
    before = written()

    with pytest.raises(errors.InvalidPurchaseSession, match="open a new session"):
        buy_with(session)
    assert written() == before
