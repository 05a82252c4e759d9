"""Pricing models: money in the currency's minor units, recurrence, devices, history."""

from decimal import Decimal

import pytest

from subscriptions import errors, services
from subscriptions.models import PricingModel

from .factories import OfferFactory, PricingModelFactory

pytestmark = pytest.mark.django_db


def create(**fields):
    fields.setdefault("title", "Monthly")
    fields.setdefault("price", Decimal("9.99"))
    fields.setdefault("currency", "EUR")
    return services.create_pricing_model(**fields)


def test_a_recurring_pricing_model_renews_every_count_units():
    pricing_model = create(
        is_recurring=True, recurrence_unit="months", recurrence_count=3, trial_days=7
    )
    assert pricing_model.recurrence_display == "every 3 months"
    assert pricing_model.code and pricing_model.price_display == "9.99 EUR"


def test_a_negative_price_is_refused():
    with pytest.raises(errors.NegativeAmount) as caught:
        create(price=Decimal("-0.01"))
    assert caught.value.field == "price"
    assert not PricingModel.objects.exists()


@pytest.mark.parametrize(
    ("price", "currency"), [("1.234", "EUR"), ("10.5", "JPY"), ("1.0005", "KWD")]
)
def test_a_price_with_more_decimals_than_its_currency_is_refused(price, currency):
    with pytest.raises(errors.AmountTooPrecise) as caught:
        create(price=Decimal(price), currency=currency)
    assert currency in caught.value.message
    assert not PricingModel.objects.exists()


def test_prices_keep_three_decimals_for_currencies_that_have_them():
    assert create(price=Decimal("1.005"), currency="KWD").price == Decimal("1.005")


def test_an_unknown_currency_is_refused():
    with pytest.raises(errors.InvalidChoice) as caught:
        create(currency="XYZ")
    assert caught.value.field == "currency"


def test_a_recurring_model_needs_its_renewal_unit_and_count():
    with pytest.raises(errors.RecurrenceRequired):
        create(is_recurring=True, recurrence_count=1)
    with pytest.raises(errors.RecurrenceRequired) as caught:
        create(is_recurring=True, recurrence_unit="weeks")
    assert caught.value.field == "recurrence_count"
    assert not PricingModel.objects.exists()


def test_rental_hours_are_for_one_time_access_only():
    with pytest.raises(errors.RentalHoursOnlyForOneTime):
        create(is_recurring=True, recurrence_unit="days", recurrence_count=4, rental_hours=48)
    assert create(rental_hours=48).rental_hours == 48


def test_trial_days_and_renewal_are_for_recurring_models_only():
    with pytest.raises(errors.TrialOnlyForRecurring):
        create(trial_days=7)
    with pytest.raises(errors.RecurrenceOnlyForRecurring):
        create(recurrence_unit="months")
    assert not PricingModel.objects.exists()


def test_device_types_are_required_unless_all_devices_are_granted():
    with pytest.raises(errors.DeviceTypesRequired):
        create(grant_all_devices=False, device_types=[])
    with pytest.raises(errors.InvalidChoice):
        create(grant_all_devices=False, device_types=["toaster"])
    assert create(grant_all_devices=False, device_types=["web", "web", "mobile"]).device_types == [
        "web",
        "mobile",
    ]
    assert create(grant_all_devices=True, device_types=["web"]).device_types == []


def test_a_price_change_is_traceable_in_the_history():
    pricing_model = create(price=Decimal("9.99"))
    services.update_pricing_model(pricing_model=pricing_model, price=Decimal("12.50"))
    prices = list(pricing_model.history.order_by("history_date").values_list("price", flat=True))
    assert prices == [Decimal("9.99"), Decimal("12.50")]


def test_a_pricing_model_a_subscription_offers_cannot_be_deleted():
    offer = OfferFactory()
    with pytest.raises(errors.PricingModelInUse) as caught:
        services.delete_pricing_model(pricing_model=offer.pricing_model)
    assert offer.subscription.code in caught.value.message
    assert PricingModel.objects.count() == 1


def test_an_unused_pricing_model_is_deleted():
    services.delete_pricing_model(pricing_model=PricingModelFactory())
    assert not PricingModel.objects.exists()


def test_a_new_price_changes_the_pricing_model_only_this_subscription_offers():
    owned = create(price=Decimal("5.00"))
    subscription = services.create_subscription(name="Concert", period=7, pricing_models=[owned])
    default = services.set_subscription_price(
        subscription=subscription, price=Decimal("7.50"), currency="USD"
    )
    assert default == owned
    owned.refresh_from_db()
    assert (owned.price, owned.currency) == (Decimal("7.50"), "EUR")
    assert subscription.offers.count() == 1


def test_a_new_price_leaves_a_shared_pricing_model_to_the_others_and_offers_a_new_default():
    shared = create(price=Decimal("5.00"), currency="GBP")
    subscription = services.create_subscription(name="Concert", period=7, pricing_models=[shared])
    other = services.create_subscription(name="Other", period=7, pricing_models=[shared])
    new = services.set_subscription_price(
        subscription=subscription, price=Decimal("9.00"), currency="USD"
    )
    shared.refresh_from_db()
    assert shared.price == Decimal("5.00")
    assert (new.price, new.currency, new.title) == (Decimal("9.00"), "GBP", "Concert")
    assert subscription.offers.get(is_default=True).pricing_model == new
    assert set(subscription.offers.values_list("pricing_model", flat=True)) == {new.pk, shared.pk}
    assert other.offers.get().pricing_model == shared


def test_a_first_price_offers_a_pricing_model_in_the_given_currency():
    subscription = services.create_subscription(name="Free talk", period=1)
    new = services.set_subscription_price(
        subscription=subscription, price=Decimal("3.00"), currency="USD"
    )
    assert (new.price, new.currency) == (Decimal("3.00"), "USD")
    assert subscription.offers.get(is_default=True).pricing_model == new


def test_a_refused_new_price_changes_nothing():
    owned = create(price=Decimal("5.00"))
    subscription = services.create_subscription(name="Concert", period=7, pricing_models=[owned])
    with pytest.raises(errors.AmountTooPrecise):
        services.set_subscription_price(
            subscription=subscription, price=Decimal("1.001"), currency="EUR"
        )
    owned.refresh_from_db()
    assert owned.price == Decimal("5.00")
    assert PricingModel.objects.count() == 1
