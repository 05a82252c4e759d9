"""Catalog rules that hold when people act at the same moment (PostgreSQL, real threads)."""

import threading

import pytest
from django.db import connection

from subscriptions import errors, services
from subscriptions.models import Coupon, Subscription, SubscriptionMedia

from .factories import CouponFactory, MediaFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_at_once(actions):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (make test)")
    barrier, outcomes = threading.Barrier(len(actions)), []

    def attempt(action):
        barrier.wait()
        try:
            outcomes.append(action())
        except errors.CatalogError as refusal:
            outcomes.append(refusal)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_ten_buyers_racing_for_the_last_three_uses_of_a_coupon_get_exactly_three():
    coupon = CouponFactory(use_limit=5, uses=2)
    outcomes = run_at_once([lambda: services.use_coupon(coupon=coupon)] * 10)
    assert sum(isinstance(o, Coupon) for o in outcomes) == 3
    assert sum(isinstance(o, errors.CouponUsedUp) for o in outcomes) == 7
    coupon.refresh_from_db()
    assert coupon.uses == 5


def test_two_media_attached_at_once_to_a_single_subscription_leave_one():
    subscription = SubscriptionFactory(scope="single")
    media = MediaFactory.create_batch(6)
    outcomes = run_at_once(
        [lambda m=m: services.attach_media(subscription=subscription, media=m) for m in media]
    )
    assert sum(isinstance(o, SubscriptionMedia) for o in outcomes) == 1
    assert SubscriptionMedia.objects.filter(subscription=subscription).count() == 1


def test_two_subscriptions_made_mandatory_at_once_leave_one():
    first, second = SubscriptionFactory(), SubscriptionFactory()
    outcomes = run_at_once(
        [
            lambda: services.update_subscription(subscription=first, mandatory=True),
            lambda: services.update_subscription(subscription=second, mandatory=True),
        ]
    )
    assert sum(isinstance(o, Subscription) for o in outcomes) == 1
    assert sum(isinstance(o, errors.MandatorySubscriptionExists) for o in outcomes) == 1
    assert Subscription.objects.filter(mandatory=True).count() == 1
