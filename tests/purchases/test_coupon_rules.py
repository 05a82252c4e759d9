"""Coupon rules about who uses a coupon (issue 19): a limit per buyer, a first purchase only, the
refusal named and nothing written; the coupon's page lists its redemptions; the coupon form
refuses "every subscription" beside chosen subscriptions instead of dropping them."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse

from purchases import errors
from purchases.models import Purchase
from purchases.services.checkout import create_purchase, quote_purchase
from purchases.services.sessions import open_purchase_session
from subscriptions import demo as catalog_demo
from subscriptions.models import Coupon
from tests.subscriptions.factories import CouponFactory, SubscriptionFactory

from .factories import offer_for_sale, wallet_buyer, written

pytestmark = pytest.mark.django_db


def buy(buyer, product, **kwargs):
    subscription, pricing_model = product
    return create_purchase(
        buyer=buyer,
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="wallet",
        **kwargs,
    )


def refused(buyer, product, message, **kwargs):
    before = written()
    with pytest.raises(errors.InvalidCoupon) as refusal:
        buy(buyer, product, **kwargs)
    assert written() == before, "a refusal wrote something"
    assert message in refusal.value.message
    return refusal.value


def test_a_first_purchase_coupon_is_refused_to_a_buyer_who_bought_before():
    CouponFactory(code="WELCOME", percent=Decimal("10"), first_purchase_only=True)
    first, second = offer_for_sale(price="10.00"), offer_for_sale(price="20.00")
    buyer = wallet_buyer("100")
    purchase = buy(buyer, first, coupon_code="welcome")
    assert (purchase.status, purchase.discount) == (Purchase.Status.COMPLETED, Decimal("1.00"))
    error = refused(buyer, second, "first purchase only", coupon_code="WELCOME")
    assert error.code == "invalid_coupon" and error.field == "coupon"
    # Without the coupon the same buyer buys as usual.
    assert buy(buyer, second).status == Purchase.Status.COMPLETED


def test_a_first_purchase_coupon_counts_purchases_made_without_it_but_not_failed_ones():
    CouponFactory(code="WELCOME", first_purchase_only=True)
    first, second = offer_for_sale(price="10.00"), offer_for_sale(price="20.00")
    buyer = wallet_buyer("100")
    buy(buyer, first)
    refused(buyer, second, "bought before", coupon_code="WELCOME")

    newcomer = wallet_buyer("100")
    Purchase.objects.create(
        buyer=newcomer,
        subscription=first[0],
        pricing_model=first[1],
        list_price=Decimal("10.00"),
        amount=Decimal("10.00"),
        currency="EUR",
        payment_type="wallet",
        status=Purchase.Status.FAILED,
    )
    assert buy(newcomer, second, coupon_code="WELCOME").coupon_code == "WELCOME"


def test_a_coupon_is_used_at_most_its_uses_per_buyer_by_each_buyer():
    CouponFactory(code="TWICE", percent=Decimal("50"), uses_per_buyer=2)
    products = [offer_for_sale(price="10.00") for _ in range(3)]
    buyer, other = wallet_buyer("100"), wallet_buyer("100")
    buy(buyer, products[0], coupon_code="TWICE")
    buy(buyer, products[1], coupon_code="TWICE")
    refused(buyer, products[2], "2 times per buyer", coupon_code="TWICE")
    assert buy(other, products[2], coupon_code="TWICE").discount == Decimal("5.00")
    assert Coupon.objects.get().uses == 3


def test_a_purchase_session_with_a_used_up_coupon_is_refused_for_that_buyer():
    CouponFactory(code="ONCE", uses_per_buyer=1)
    first, second = offer_for_sale(), offer_for_sale()
    buyer = wallet_buyer("100")
    buy(buyer, first, coupon_code="ONCE")
    with pytest.raises(errors.InvalidCoupon, match="once per buyer"):
        open_purchase_session(buyer=buyer, subscription=second[0], coupon_code="ONCE")
    # Another buyer opens one with it.
    session = open_purchase_session(
        buyer=wallet_buyer(), subscription=second[0], coupon_code="ONCE"
    )
    assert session.coupon.code == "ONCE"


def test_the_price_shown_for_a_buyer_refuses_a_coupon_that_buyer_may_not_use():
    CouponFactory(code="WELCOME", first_purchase_only=True)
    first, second = offer_for_sale(), offer_for_sale()
    buyer = wallet_buyer("100")
    buy(buyer, first)
    quote = dict(
        subscription=second[0],
        pricing_model=second[1],
        payment_type="wallet",
        coupon_code="WELCOME",
    )
    assert quote_purchase(**quote).discount > 0  # no buyer named: the coupon's own rules
    with pytest.raises(errors.InvalidCoupon, match="first purchase only"):
        quote_purchase(**quote, buyer=buyer)


def test_the_demo_welcome_coupon_is_for_a_first_purchase_only():
    catalog_demo.load(io.StringIO())
    coupon = Coupon.objects.get(code="WELCOME10")
    assert coupon.first_purchase_only and coupon.description == "Ten percent off a first purchase"


# --- The coupon's page and form ---------------------------------------------------------------


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def test_the_coupon_page_lists_who_used_it_when_and_the_discount_given(staff):
    coupon = CouponFactory(code="HALF", percent=Decimal("50"))
    buyer = wallet_buyer("100", email="ana@example.com")
    purchase = buy(buyer, offer_for_sale(price="12.34"), coupon_code="HALF")
    page = staff.get(reverse("coupons:detail", args=[coupon.code])).content.decode()
    panel = page[page.index('data-testid="coupon-redemptions"') :]
    assert "1 use so far" in panel
    assert "ana@example.com" in panel and purchase.code in panel
    assert "6.17 EUR" in panel


def test_a_user_who_may_not_see_purchases_sees_no_redemptions(client, user_with_perms):
    coupon = CouponFactory(code="HALF")
    client.force_login(user_with_perms("subscriptions.view_coupon"))
    page = client.get(reverse("coupons:detail", args=[coupon.code])).content.decode()
    assert "Coupon" in page and "coupon-redemptions" not in page


def coupon_form(**overrides):
    data = {"code": "SPRING", "discount_type": "percent", "percent": "15", "applies_to_all": "on"}
    data.update(overrides)
    return data


def test_every_subscription_and_chosen_subscriptions_are_refused_together(staff):
    subscription = SubscriptionFactory()
    response = staff.post(reverse("coupons:create"), coupon_form(subscriptions=[subscription.pk]))
    assert "takes no list" in response.context["form"].errors["applies_to_all"][0]
    assert not Coupon.objects.exists()


def test_ticking_every_subscription_on_a_limited_coupon_keeps_its_list_until_cleared(staff):
    subscription = SubscriptionFactory()
    coupon = CouponFactory(code="ONLY", applies_to_all=False)
    coupon.subscriptions.set([subscription])
    edit = reverse("coupons:edit", args=[coupon.code])
    response = staff.post(edit, coupon_form(code="ONLY", subscriptions=[subscription.pk]))
    assert "takes no list" in response.context["form"].errors["applies_to_all"][0]
    coupon.refresh_from_db()
    assert not coupon.applies_to_all and list(coupon.subscriptions.all()) == [subscription]
    staff.post(edit, coupon_form(code="ONLY"))
    coupon.refresh_from_db()
    assert coupon.applies_to_all and not coupon.subscriptions.exists()


def test_the_coupon_form_takes_the_per_buyer_rules_and_refuses_a_limit_of_zero(staff):
    response = staff.post(reverse("coupons:create"), coupon_form(uses_per_buyer="0"))
    assert response.context["form"].errors["uses_per_buyer"]
    assert not Coupon.objects.exists()
    staff.post(reverse("coupons:create"), coupon_form(uses_per_buyer="1", first_purchase_only="on"))
    coupon = Coupon.objects.get()
    assert coupon.uses_per_buyer == 1 and coupon.first_purchase_only


def test_the_admin_refuses_every_subscription_with_chosen_subscriptions(admin_client):
    subscription = SubscriptionFactory()
    response = admin_client.post(
        reverse("admin:subscriptions_coupon_add"),
        {
            "code": "ADMIN1",
            "discount_type": "percent",
            "percent": "5",
            "applies_to_all": "on",
            "subscriptions": [subscription.pk],
            "uses": "0",
        },
    )
    assert response.status_code == 200
    assert "takes no list" in str(response.context["adminform"].form.errors)
    assert not Coupon.objects.exists()
