"""The rules of creating, changing, deleting and archiving a subscription (reference 004)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from subscriptions import errors, services
from subscriptions.models import Subscription, SubscriptionPricingModel

from .factories import (
    MediaFactory,
    OfferFactory,
    PricingModelFactory,
    SubscriptionFactory,
    SubscriptionMediaFactory,
)

pytestmark = pytest.mark.django_db


def create(**fields):
    fields.setdefault("name", "Yoga course")
    fields.setdefault("period", 30)
    return services.create_subscription(**fields)


def test_create_gives_a_public_code_and_keeps_every_field():
    subscription = create(
        kind="collection",
        collection_type="collect",
        scope="group",
        description="Twelve lessons",
        activation=3,
        materials="PDF",
        buy_redirect_url="https://shop.example/thanks",
        custom_url="https://shop.example/watch",
        ip_recovery=True,
        device_ban=True,
        buyer_commission=True,
        drm=True,
        downloadable_origin=True,
        preview=60,
        watermark=True,
        watermark_email=True,
        watermark_name=True,
        watermark_ip=True,
        stock=100,
        provisioning_only=True,
    )
    subscription.refresh_from_db()
    assert len(subscription.code) == 8
    assert subscription.preview == 60 and subscription.watermark_ip
    assert subscription.collection_type == "collect"


def test_period_or_access_expire_is_required_and_nothing_is_written():
    with pytest.raises(errors.PeriodOrAccessExpireRequired) as caught:
        create(period=None)
    assert caught.value.field == "period"
    assert caught.value.code == "period_or_access_expire_required"
    assert not Subscription.objects.exists()


def test_access_expire_alone_is_enough():
    subscription = create(period=None, access_expire=date(2030, 1, 31))
    assert subscription.period is None


@pytest.mark.parametrize("period", [0, -1])
def test_period_must_be_at_least_one_day(period):
    with pytest.raises(errors.NotANumberInRange) as caught:
        create(period=period)
    assert caught.value.field == "period"
    assert not Subscription.objects.exists()


def test_a_date_alone_means_the_first_and_last_second_of_the_day_in_the_shops_time_zone(settings):
    settings.TIME_ZONE = "Europe/Madrid"
    subscription = create(access_start=date(2030, 7, 1), access_expire=date(2030, 7, 31))
    madrid = ZoneInfo("Europe/Madrid")
    assert subscription.access_start == datetime(2030, 7, 1, 0, 0, 1, tzinfo=madrid)
    assert subscription.access_expire == datetime(2030, 7, 31, 23, 59, 59, tzinfo=madrid)
    subscription.refresh_from_db()
    assert subscription.access_expire == datetime(2030, 7, 31, 21, 59, 59, tzinfo=ZoneInfo("UTC"))


def test_a_date_and_time_is_kept_as_given(settings):
    settings.TIME_ZONE = "Europe/Madrid"
    given = datetime(2030, 12, 31, 14, 1, 55)
    subscription = create(access_expire=given)
    assert subscription.access_expire == given.replace(tzinfo=ZoneInfo("Europe/Madrid"))
    aware = datetime(2030, 12, 31, 14, 1, 55, tzinfo=ZoneInfo("UTC"))
    assert create(access_expire=aware).access_expire == aware


def test_access_must_start_before_it_expires():
    with pytest.raises(errors.AccessStartNotBeforeExpire) as caught:
        create(access_start=date(2030, 2, 1), access_expire=date(2030, 1, 31))
    assert caught.value.field == "access_expire"
    assert not Subscription.objects.exists()


def test_a_one_day_window_from_dates_alone_is_allowed():
    subscription = create(access_start=date(2030, 2, 1), access_expire=date(2030, 2, 1))
    assert subscription.access_start < subscription.access_expire


def test_sale_must_start_before_it_ends():
    with pytest.raises(errors.SaleStartNotBeforeEnd):
        create(sale_start=date(2030, 3, 2), sale_end=date(2030, 3, 1))
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("downloadable_origin", True),
        ("preview", 30),
        ("preview", 0),
        ("watermark", True),
        ("watermark_email", True),
        ("watermark_name", True),
        ("watermark_ip", True),
    ],
)
def test_drm_only_options_are_refused_without_drm(option, value):
    with pytest.raises(errors.DrmOptionWithoutDrm) as caught:
        create(drm=False, **{option: value})
    assert caught.value.field == option
    assert not Subscription.objects.exists()


def test_turning_drm_off_while_an_option_is_on_is_refused_and_changes_nothing():
    subscription = create(drm=True, watermark=True)
    with pytest.raises(errors.DrmOptionWithoutDrm):
        services.update_subscription(subscription=subscription, drm=False)
    subscription.refresh_from_db()
    assert subscription.drm


@pytest.mark.parametrize("kind", ["subscription", "password"])
def test_collection_type_is_only_for_collections(kind):
    with pytest.raises(errors.CollectionTypeOnlyForCollections) as caught:
        create(kind=kind, collection_type="protect")
    assert caught.value.field == "collection_type"
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "free"), ("scope", "many"), ("collection_type", "keep")],
)
def test_unknown_choices_are_refused(field, value):
    with pytest.raises(errors.InvalidChoice) as caught:
        create(**{"kind": "collection", field: value})
    assert caught.value.field == field
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("field", ["buy_redirect_url", "custom_url"])
@pytest.mark.parametrize("value", ["not a url", "javascript:alert(1)", "ftp://files.example/x"])
def test_urls_must_be_web_addresses(field, value):
    with pytest.raises(errors.InvalidUrl) as caught:
        create(**{field: value})
    assert caught.value.field == field
    assert not Subscription.objects.exists()


def test_a_blank_name_is_refused():
    with pytest.raises(errors.FieldRequired) as caught:
        create(name="   ")
    assert caught.value.field == "name"


def test_only_one_subscription_may_be_mandatory():
    first = create(mandatory=True)
    with pytest.raises(errors.MandatorySubscriptionExists) as caught:
        create(name="Second", mandatory=True)
    assert caught.value.field == "mandatory"
    assert list(Subscription.objects.all()) == [first]
    other = create(name="Other")
    with pytest.raises(errors.MandatorySubscriptionExists):
        services.update_subscription(subscription=other, mandatory=True)
    other.refresh_from_db()
    assert not other.mandatory
    # The mandatory one itself may be saved again.
    services.update_subscription(subscription=first, name="Still mandatory")


def test_the_first_pricing_model_offered_is_the_default_unless_one_is_named():
    monthly, yearly = PricingModelFactory(), PricingModelFactory()
    subscription = create(pricing_models=[monthly, yearly])
    offers = SubscriptionPricingModel.objects.filter(subscription=subscription)
    assert offers.get(is_default=True).pricing_model == monthly
    services.update_subscription(
        subscription=subscription, pricing_models=[monthly, yearly], default_pricing_model=yearly
    )
    assert offers.get(is_default=True).pricing_model == yearly
    assert offers.count() == 2


def test_the_default_must_be_one_of_the_pricing_models_offered():
    offered, other = PricingModelFactory(), PricingModelFactory()
    with pytest.raises(errors.DefaultPricingModelNotOffered):
        create(pricing_models=[offered], default_pricing_model=other)
    assert not Subscription.objects.exists()
    assert not SubscriptionPricingModel.objects.exists()


def test_removing_an_offer_keeps_the_pricing_model_and_records_the_change():
    kept, dropped = PricingModelFactory(), PricingModelFactory()
    subscription = create(pricing_models=[kept, dropped])
    services.update_subscription(subscription=subscription, pricing_models=[kept])
    assert list(subscription.pricing_models.all()) == [kept]
    assert dropped.pk and type(dropped).objects.filter(pk=dropped.pk).exists()
    assert SubscriptionPricingModel.history.filter(history_type="-").count() == 1


def test_changes_are_recorded_in_the_history_with_the_old_values():
    subscription = create(name="Before")
    services.update_subscription(subscription=subscription, name="After")
    names = list(subscription.history.order_by("history_date").values_list("name", flat=True))
    assert names == ["Before", "After"]


def test_a_single_subscription_cannot_become_single_while_holding_several_media():
    subscription = create(scope="group")
    services.attach_media(subscription=subscription, media=MediaFactory())
    services.attach_media(subscription=subscription, media=MediaFactory())
    with pytest.raises(errors.SingleSubscriptionHoldsOneMedia) as caught:
        services.update_subscription(subscription=subscription, scope="single")
    assert caught.value.field == "scope"
    subscription.refresh_from_db()
    assert subscription.scope == "group"


def test_a_subscription_without_sales_is_deleted_with_its_media_links_and_offers():
    subscription = SubscriptionFactory()
    link = SubscriptionMediaFactory(subscription=subscription)
    OfferFactory(subscription=subscription)
    outcome = services.delete_or_archive_subscription(subscription=subscription)
    assert outcome == services.DeletionOutcome.DELETED
    assert not Subscription.objects.exists()
    assert type(link.media).objects.filter(pk=link.media.pk).exists()


def test_a_subscription_with_records_outside_the_catalog_is_archived_not_deleted(monkeypatch):
    # Purchases and accesses come with later apps; any relation outside the catalog's own
    # bookkeeping keeps the subscription. Treat its media links as such a record here.
    monkeypatch.setattr(services, "CATALOG_OWN_RELATIONS", {"offers", "coupons"})
    subscription = SubscriptionFactory(mandatory=True)
    SubscriptionMediaFactory(subscription=subscription)
    assert services.records_keeping_subscription(subscription) == ["media of subscriptions"]
    outcome = services.delete_or_archive_subscription(subscription=subscription)
    assert outcome == services.DeletionOutcome.ARCHIVED
    subscription.refresh_from_db()
    assert subscription.archived_at is not None
    assert subscription.status == "archived"
    assert not subscription.mandatory
    assert subscription.media_links.count() == 1


def test_an_archived_subscription_is_frozen():
    subscription = SubscriptionFactory(archived_at=timezone.now())
    with pytest.raises(errors.SubscriptionArchived):
        services.update_subscription(subscription=subscription, name="Renamed")
    with pytest.raises(errors.SubscriptionArchived):
        services.attach_media(subscription=subscription, media=MediaFactory())
    subscription.refresh_from_db()
    assert subscription.name != "Renamed"


def test_status_reads_the_sale_and_access_windows():
    now = timezone.now()
    day = timezone.timedelta(days=1)
    assert SubscriptionFactory().status_at(now) == "active"
    assert SubscriptionFactory(sale_start=now + day).status_at(now) == "upcoming"
    assert SubscriptionFactory(sale_end=now - day).status_at(now) == "expired"
    assert SubscriptionFactory(access_expire=now - day).status_at(now) == "expired"
    assert SubscriptionFactory(archived_at=now).status_at(now) == "archived"


def test_a_subscription_a_buyer_has_access_to_is_archived_not_deleted():
    from tests.buyers.factories import AccessFactory

    access = AccessFactory()
    subscription = access.subscription
    assert services.records_keeping_subscription(subscription) == ["accesses"]
    outcome = services.delete_or_archive_subscription(subscription=subscription)
    assert outcome == services.DeletionOutcome.ARCHIVED
    subscription.refresh_from_db()
    assert subscription.archived_at is not None
    # Archiving twice changes nothing.
    archived_at = subscription.archived_at
    services.delete_or_archive_subscription(subscription=subscription)
    subscription.refresh_from_db()
    assert subscription.archived_at == archived_at
