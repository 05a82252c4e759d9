"""Granting, changing and revoking accesses (reference 004 addbuyer/updatebuyer/deletebuyer)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from buyers import errors, selectors, services
from buyers.models import ACCESS_HASH_LENGTH, Access, Buyer

from .factories import AccessFactory, BuyerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_grant_creates_a_buyer_by_email_and_defaults_from_the_subscription(staff_user):
    subscription = SubscriptionFactory(period=30, activation=3)
    before = timezone.now()
    access = services.grant_access(
        subscription=subscription, email="new@example.com", name="New", granted_by=staff_user
    )
    assert access.buyer.email == "new@example.com"
    assert access.activation_limit == 3
    assert before <= access.access_start <= timezone.now()
    assert access.access_expire == access.access_start + timedelta(days=30)
    assert access.granted_by == staff_user
    assert access.status == Access.Status.ACTIVE
    assert len(access.hash) == ACCESS_HASH_LENGTH


def test_grant_reuses_the_buyer_with_that_email_in_any_case():
    buyer = BuyerFactory(email="ann@example.com")
    access = services.grant_access(subscription=SubscriptionFactory(), email="ANN@example.com")
    assert access.buyer == buyer
    assert Buyer.objects.count() == 1


def test_grant_by_phone_reuses_or_creates_the_buyer():
    subscription = SubscriptionFactory()
    first = services.grant_access(subscription=subscription, phone="+1 555 0100")
    other = services.grant_access(subscription=SubscriptionFactory(), phone="+1 555 0100")
    assert first.buyer == other.buyer
    assert first.hash != other.hash


def test_access_passwords_are_random_and_unique():
    subscription = SubscriptionFactory()
    hashes = {
        services.grant_access(subscription=subscription, buyer=BuyerFactory()).hash
        for _ in range(30)
    }
    assert len(hashes) == 30


def test_grant_takes_the_subscriptions_access_window(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    subscription = SubscriptionFactory(
        period=None,
        access_start=datetime(2030, 1, 1, 0, 0, 1, tzinfo=ZoneInfo("Europe/Berlin")),
        access_expire=datetime(2030, 1, 31, 23, 59, 59, tzinfo=ZoneInfo("Europe/Berlin")),
    )
    access = services.grant_access(subscription=subscription, buyer=BuyerFactory())
    assert access.access_start == subscription.access_start
    assert access.access_expire == subscription.access_expire


def test_date_only_dates_mean_start_and_end_of_day_in_the_shop_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    zone = ZoneInfo("America/New_York")
    access = services.grant_access(
        subscription=SubscriptionFactory(),
        buyer=BuyerFactory(),
        access_start=date(2030, 3, 1),
        access_expire=date(2030, 3, 31),
    )
    assert access.access_start == datetime(2030, 3, 1, 0, 0, 1, tzinfo=zone)
    assert access.access_expire == datetime(2030, 3, 31, 23, 59, 59, tzinfo=zone)


def test_given_start_with_a_period_expires_a_period_later():
    start = datetime(2030, 5, 1, 12, 0, tzinfo=ZoneInfo("UTC"))
    access = services.grant_access(
        subscription=SubscriptionFactory(period=7), buyer=BuyerFactory(), access_start=start
    )
    assert access.access_expire == start + timedelta(days=7)


def test_grant_on_an_archived_subscription_is_refused_and_writes_nothing():
    subscription = SubscriptionFactory(archived_at=timezone.now())
    with pytest.raises(errors.SubscriptionArchived) as refused:
        services.grant_access(subscription=subscription, email="x@example.com")
    assert refused.value.field == "subscription"
    assert not Access.objects.exists()
    assert not Buyer.objects.exists()


def test_grant_beyond_stock_is_refused_and_revoked_accesses_free_stock():
    subscription = SubscriptionFactory(stock=2)
    first = services.grant_access(subscription=subscription, buyer=BuyerFactory())
    services.grant_access(subscription=subscription, buyer=BuyerFactory())
    with pytest.raises(errors.SubscriptionOutOfStock):
        services.grant_access(subscription=subscription, email="late@example.com")
    assert subscription.accesses.count() == 2
    assert not Buyer.objects.filter(email="late@example.com").exists()
    services.revoke_access(access=first)
    services.grant_access(subscription=subscription, email="late@example.com")
    assert subscription.accesses.count() == 3


def test_grant_with_start_after_expiry_is_refused():
    with pytest.raises(errors.AccessStartNotBeforeExpire):
        services.grant_access(
            subscription=SubscriptionFactory(),
            email="x@example.com",
            access_start=date(2030, 2, 1),
            access_expire=date(2030, 1, 1),
        )
    assert not Access.objects.exists()
    assert not Buyer.objects.exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"activation_limit": 0}, errors.InvalidActivationLimit),
        ({"custom_url": "javascript:alert(1)"}, errors.InvalidUrl),
        ({"notify": True, "phone": "+1 555 0100"}, errors.NotifyNeedsEmail),
        ({}, errors.BuyerNotFound),
        ({"email": "broken"}, errors.InvalidEmail),
    ],
)
def test_bad_grants_write_nothing(fields, error):
    with pytest.raises(error):
        services.grant_access(subscription=SubscriptionFactory(), **fields)
    assert not Access.objects.exists()
    assert not Buyer.objects.exists()


def test_update_access_changes_dates_and_limit():
    access = AccessFactory(activation_limit=2)
    services.update_access(
        access=access, activation_limit=4, access_expire=date(2031, 12, 31), access_start=None
    )
    access.refresh_from_db()
    assert access.activation_limit == 4
    assert access.access_expire.date() == date(2031, 12, 31)


def test_update_refuses_a_limit_below_activations_used():
    access = AccessFactory(activation_limit=3, activations_used=2)
    with pytest.raises(errors.ActivationLimitBelowUsed):
        services.update_access(access=access, activation_limit=1)
    access.refresh_from_db()
    assert access.activation_limit == 3


def test_update_refuses_start_after_expiry_and_keeps_the_access():
    access = AccessFactory(access_start=None, access_expire=None)
    with pytest.raises(errors.AccessStartNotBeforeExpire):
        services.update_access(
            access=access, access_start=date(2030, 2, 1), access_expire=date(2030, 1, 1)
        )
    access.refresh_from_db()
    assert access.access_start is None


def test_revoke_keeps_the_row_with_who_and_when(staff_user):
    access = AccessFactory()
    services.revoke_access(access=access, revoked_by=staff_user)
    access.refresh_from_db()
    assert access.status == Access.Status.REVOKED
    assert access.revoked_by == staff_user
    assert access.revoked_at is not None
    with pytest.raises(errors.AccessRevoked):
        services.update_access(access=access, activation_limit=9)


def test_revoking_twice_keeps_the_first_revocation(staff_user):
    access = services.revoke_access(access=AccessFactory(), revoked_by=staff_user)
    again = services.revoke_access(access=access, revoked_by=None)
    assert again.revoked_at == access.revoked_at
    assert again.revoked_by == staff_user


def test_expired_status_is_computed_from_the_expiry():
    access = AccessFactory(access_expire=timezone.now() - timedelta(seconds=1))
    assert access.status == Access.Status.EXPIRED


def test_list_accesses_by_email_returns_every_match():
    subscription = SubscriptionFactory()
    buyer = BuyerFactory(email="ann@example.com")
    over = timezone.now() - timedelta(days=1)
    services.grant_access(
        subscription=subscription,
        buyer=buyer,
        access_start=over - timedelta(days=9),
        access_expire=over,
    )
    services.grant_access(subscription=subscription, buyer=buyer)
    services.grant_access(subscription=subscription, buyer=BuyerFactory())
    services.grant_access(subscription=SubscriptionFactory(), buyer=buyer)
    found = selectors.accesses_by_email(subscription=subscription, email="ANN@example.com")
    assert found.count() == 2


def test_buyer_counts_by_subscription_count_distinct_live_buyers(django_assert_num_queries):
    one, two = SubscriptionFactory(), SubscriptionFactory()
    ann = BuyerFactory()
    services.grant_access(subscription=one, buyer=ann)
    services.grant_access(subscription=one, buyer=ann)
    services.grant_access(subscription=one, buyer=BuyerFactory())
    services.revoke_access(access=services.grant_access(subscription=two, buyer=ann))
    with django_assert_num_queries(1):
        counts = selectors.buyer_counts_by_subscription()
    assert counts == {one.pk: 2}
    annotated = selectors.with_buyer_count(type(one).objects.order_by("pk"))
    assert [s.buyer_count for s in annotated] == [2, 0]


def test_update_access_may_rename_the_buyer_as_updatebuyer_does():
    access = AccessFactory(buyer=BuyerFactory(name="Old"))
    services.update_access(access=access, name=" New Name ")
    access.buyer.refresh_from_db()
    assert access.buyer.name == "New Name"
