"""Before buying for a buyer, staff see the price, the coupon's discount and what will be
charged: the quote the purchase service itself charges."""

from decimal import Decimal

import pytest
from django.urls import reverse

from purchases.models import Purchase
from purchases.services import checkout
from subscriptions.models import Coupon
from tests.subscriptions.factories import CouponFactory

from .factories import offer_for_sale, wallet_buyer, written

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer():
    subscription, pricing_model = offer_for_sale(price="19.50")
    CouponFactory(code="TENOFF", percent=Decimal("10"))
    return subscription, pricing_model


def test_the_quote_is_what_the_purchase_then_charges(offer):
    subscription, pricing_model = offer
    quote = checkout.quote_purchase(
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="wallet",
        coupon_code="tenoff",
    )
    assert (quote.list_price, quote.discount, quote.amount, quote.currency) == (
        Decimal("19.50"),
        Decimal("1.95"),
        Decimal("17.55"),
        "EUR",
    )
    assert quote.coupon.code == "TENOFF"
    purchase = checkout.create_purchase(
        buyer=wallet_buyer("50"),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="wallet",
        coupon_code="tenoff",
        staff_user=None,
    )
    assert (purchase.list_price, purchase.discount, purchase.amount) == (
        quote.list_price,
        quote.discount,
        quote.amount,
    )


def test_a_free_trial_is_quoted_as_nothing_charged_now():
    subscription, pricing_model = offer_for_sale(price="9.99", recurring=True)
    pricing_model.trial_days = 7
    pricing_model.save()
    quote = checkout.quote_purchase(
        subscription=subscription, pricing_model=pricing_model, payment_type="sandbox_card"
    )
    assert quote.amount == 0 and quote.trial_ends_at is not None and quote.recurring


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def form(subscription, pricing_model, **overrides):
    return {
        "buyer": wallet_buyer("50").email,
        "subscription": subscription.code,
        "pricing_model": pricing_model.code,
        "payment_type": "wallet",
        "coupon_code": "TENOFF",
        "show_price": "1",
        **overrides,
    }


def test_show_the_price_shows_price_coupon_and_charge_and_buys_nothing(staff, offer):
    data = form(*offer)
    before = written()
    response = staff.post(reverse("purchases:create"), data)
    assert response.status_code == 200
    quote = " ".join(response.content.decode().split())
    assert 'Price</dt><dd class="col-6 text-end">19.50 EUR' in quote
    assert 'Coupon TENOFF</dt><dd class="col-6 text-end">−1.95 EUR' in quote
    assert 'data-testid="charged-now">17.55 EUR' in quote
    assert written() == before and Coupon.objects.get().uses == 0
    # The form is shown again as typed, to buy with one more click.
    assert response.context["form"]["coupon_code"].value() == "TENOFF"


def test_an_unknown_coupon_is_refused_when_showing_the_price(staff, offer):
    response = staff.post(reverse("purchases:create"), form(*offer, coupon_code="NOPE"))
    assert response.context["form"].non_field_errors() == ["There is no coupon with this code."]
    assert 'data-testid="quote"' not in response.content.decode()
    assert Purchase.objects.count() == 0


def test_the_new_purchase_page_offers_the_price_step(staff):
    page = staff.get(reverse("purchases:create")).content.decode()
    assert 'name="show_price"' in page
