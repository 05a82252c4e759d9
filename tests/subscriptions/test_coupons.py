"""Coupons and pricing with a coupon: rounding to the currency's minor units, never below zero."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from subscriptions import errors, services
from subscriptions.models import Coupon

from .factories import CouponFactory, PricingModelFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_a_coupon_code_is_unique_whatever_the_letter_case():
    services.create_coupon(code="Summer25", discount_type="percent", percent=Decimal("25"))
    with pytest.raises(errors.CouponCodeTaken) as caught:
        services.create_coupon(code="SUMMER25", discount_type="percent", percent=Decimal("5"))
    assert caught.value.field == "code"
    assert Coupon.objects.count() == 1


def test_an_empty_code_is_generated():
    coupon = services.create_coupon(discount_type="percent", percent=Decimal("5"))
    assert len(coupon.code) == 8


@pytest.mark.parametrize("code", ["ab", "with space", "semi;colon", "x" * 33])
def test_coupon_codes_are_letters_digits_dashes_and_underscores(code):
    with pytest.raises(errors.InvalidCouponCode):
        services.create_coupon(code=code, discount_type="percent", percent=Decimal("5"))


@pytest.mark.parametrize("percent", ["0", "100.01", "-5", "10.005"])
def test_a_percent_is_above_zero_and_at_most_one_hundred(percent):
    with pytest.raises(errors.InvalidDiscount) as caught:
        services.create_coupon(code="BAD", discount_type="percent", percent=Decimal(percent))
    assert caught.value.field == "percent"
    assert not Coupon.objects.exists()


def test_a_fixed_coupon_needs_a_currency_and_an_amount_it_can_hold():
    with pytest.raises(errors.FieldRequired) as caught:
        services.create_coupon(code="FIX", discount_type="fixed", amount=Decimal("5"))
    assert caught.value.field == "currency"
    with pytest.raises(errors.AmountTooPrecise):
        services.create_coupon(
            code="FIX", discount_type="fixed", amount=Decimal("5.5"), currency="JPY"
        )
    coupon = services.create_coupon(
        code="FIX", discount_type="fixed", amount=Decimal("5"), currency="EUR", percent=Decimal(9)
    )
    assert coupon.percent is None and coupon.discount_display == "5.00 EUR off"


def test_the_validity_window_reads_dates_in_the_shops_time_zone():
    coupon = services.create_coupon(
        code="WEEK",
        discount_type="percent",
        percent=Decimal("10"),
        valid_from=date(2030, 1, 1),
        valid_until=date(2030, 1, 7),
    )
    assert coupon.valid_until.hour == 23
    with pytest.raises(errors.ValidFromNotBeforeUntil):
        services.update_coupon(coupon=coupon, valid_from=date(2030, 1, 8))


def test_the_use_limit_cannot_drop_below_the_uses_so_far():
    coupon = CouponFactory(uses=5)
    with pytest.raises(errors.UseLimitBelowUses):
        services.update_coupon(coupon=coupon, use_limit=4)
    coupon.refresh_from_db()
    assert coupon.use_limit is None


def test_a_coupon_for_some_subscriptions_must_name_them():
    with pytest.raises(errors.CouponNeedsSubscriptions):
        services.create_coupon(
            code="SOME", discount_type="percent", percent=Decimal(5), applies_to_all=False
        )
    subscription = SubscriptionFactory()
    coupon = services.create_coupon(
        code="SOME",
        discount_type="percent",
        percent=Decimal(5),
        applies_to_all=False,
        subscriptions=[subscription],
    )
    assert list(coupon.subscriptions.all()) == [subscription]


def quote(price, currency, coupon, **kwargs):
    pricing_model = PricingModelFactory(price=Decimal(price), currency=currency)
    return services.price_with_coupon(pricing_model=pricing_model, coupon=coupon, **kwargs)


def test_without_a_coupon_the_price_is_the_list_price_in_minor_units():
    result = quote("9.99", "EUR", None)
    assert (result.list_price, result.discount, result.final_price) == (999, 0, 999)
    assert result.final_amount == Decimal("9.99")


@pytest.mark.parametrize(
    ("price", "currency", "percent", "discount", "final"),
    [
        ("9.99", "EUR", "15", 150, 849),  # 149.85 cents -> 150
        ("9.99", "EUR", "5", 50, 949),  # 49.95 -> 50: half-up, not banker's
        ("0.10", "EUR", "25", 3, 7),  # 2.5 -> 3
        ("999", "JPY", "10", 100, 899),  # 99.9 yen -> 100, no minor units
        ("1.005", "KWD", "50", 503, 502),  # 502.5 fils -> 503
        ("5.00", "EUR", "100", 500, 0),
    ],
)
def test_a_percent_coupon_rounds_half_up_to_the_currencys_minor_units(
    price, currency, percent, discount, final
):
    coupon = CouponFactory(percent=Decimal(percent))
    result = quote(price, currency, coupon)
    assert (result.discount, result.final_price) == (discount, final)


def test_a_fixed_coupon_never_takes_the_price_below_zero():
    coupon = CouponFactory(
        discount_type="fixed", percent=None, amount=Decimal("20"), currency="USD"
    )
    result = quote("14.99", "USD", coupon)
    assert (result.discount, result.final_price) == (1499, 0)


def test_a_fixed_coupon_in_another_currency_is_refused():
    coupon = CouponFactory(discount_type="fixed", percent=None, amount=Decimal("2"), currency="USD")
    with pytest.raises(errors.CouponCurrencyMismatch) as caught:
        quote("9.99", "EUR", coupon)
    assert caught.value.field == "coupon"


def test_a_coupon_outside_its_window_or_used_up_is_refused():
    now = timezone.now()
    with pytest.raises(errors.CouponNotValidYet):
        quote("9.99", "EUR", CouponFactory(valid_from=now + timedelta(hours=1)), at=now)
    with pytest.raises(errors.CouponExpired):
        quote("9.99", "EUR", CouponFactory(valid_until=now), at=now)
    with pytest.raises(errors.CouponUsedUp):
        quote("9.99", "EUR", CouponFactory(use_limit=3, uses=3))


def test_a_coupon_for_other_subscriptions_does_not_apply():
    coupon = CouponFactory(applies_to_all=False)
    coupon.subscriptions.add(SubscriptionFactory())
    with pytest.raises(errors.CouponNotApplicable):
        quote("9.99", "EUR", coupon, subscription=SubscriptionFactory())


def test_using_a_coupon_counts_one_use_and_refuses_past_its_limit():
    coupon = CouponFactory(use_limit=2)
    services.use_coupon(coupon=coupon)
    assert services.use_coupon(coupon=coupon).uses == 2
    with pytest.raises(errors.CouponUsedUp):
        services.use_coupon(coupon=coupon)
    coupon.refresh_from_db()
    assert coupon.uses == 2
    unlimited = CouponFactory()
    for _ in range(3):
        services.use_coupon(coupon=unlimited)
    assert unlimited.uses == 3
