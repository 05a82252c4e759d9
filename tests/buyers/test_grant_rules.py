"""Granting twice never makes a second live access (the PPV API's addbuyer, a purchase and the
staff pages all call `grant_access`); a client may choose the access password."""

from datetime import timedelta

import pytest
from django.utils import timezone

from buyers import errors, services
from buyers.models import Access, Buyer
from buyers.services import GrantOutcome

from .factories import BuyerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_a_second_grant_answers_the_buyers_live_access_unchanged():
    subscription = SubscriptionFactory(period=30, activation=3)
    first = services.grant_access(subscription=subscription, email="ann@example.com")
    again = services.grant_access(subscription=subscription, email="ANN@example.com")
    assert (first.grant_outcome, again.grant_outcome) == (GrantOutcome.CREATED, GrantOutcome.KEPT)
    assert again == first
    assert (again.hash, again.access_expire, again.activation_limit) == (
        first.hash,
        first.access_expire,
        3,
    )
    assert Access.objects.count() == 1


def test_a_second_grant_reaching_further_extends_the_live_access_never_shortens_it():
    subscription = SubscriptionFactory(period=30, activation=2)
    buyer = BuyerFactory()
    first = services.grant_access(subscription=subscription, buyer=buyer)
    later = timezone.now() + timedelta(days=90)
    extended = services.grant_access(
        subscription=subscription, buyer=buyer, access_expire=later, activation_limit=5
    )
    assert extended.grant_outcome == GrantOutcome.EXTENDED
    assert (extended.pk, extended.access_expire, extended.activation_limit) == (first.pk, later, 5)
    sooner = services.grant_access(
        subscription=subscription,
        buyer=buyer,
        access_expire=timezone.now() + timedelta(days=1),
        activation_limit=1,
    )
    assert sooner.grant_outcome == GrantOutcome.KEPT
    sooner.refresh_from_db()
    assert (sooner.access_expire, sooner.activation_limit) == (later, 5)


def test_a_grant_saying_no_limit_lifts_the_live_access_limit():
    subscription = SubscriptionFactory(period=30, activation=2)
    buyer = BuyerFactory()
    services.grant_access(subscription=subscription, buyer=buyer)
    lifted = services.grant_access(subscription=subscription, buyer=buyer, activation_limit=None)
    assert (lifted.grant_outcome, lifted.activation_limit) == (GrantOutcome.EXTENDED, None)


def test_an_expired_or_revoked_access_is_not_live_a_new_grant_makes_a_new_one():
    subscription = SubscriptionFactory(period=30)
    buyer = BuyerFactory()
    now = timezone.now()
    expired = services.grant_access(
        subscription=subscription,
        buyer=buyer,
        access_start=now - timedelta(days=40),
        access_expire=now - timedelta(days=10),
    )
    new = services.grant_access(subscription=subscription, buyer=buyer)
    assert new.grant_outcome == GrantOutcome.CREATED and new != expired
    services.revoke_access(access=new)
    newer = services.grant_access(subscription=subscription, buyer=buyer)
    assert newer.grant_outcome == GrantOutcome.CREATED
    assert Access.objects.filter(buyer=buyer).count() == 3


def test_a_second_grant_takes_no_stock_and_mails_nothing(
    django_capture_on_commit_callbacks, mailoutbox
):
    subscription = SubscriptionFactory(stock=1)
    buyer = BuyerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_access(subscription=subscription, buyer=buyer, notify=True)
        services.grant_access(subscription=subscription, buyer=buyer, notify=True)
    assert len(mailoutbox) == 1
    with pytest.raises(errors.SubscriptionOutOfStock):
        services.grant_access(subscription=subscription, buyer=BuyerFactory())


def test_a_chosen_password_is_kept_as_given_and_answered_again_for_the_same_password():
    subscription = SubscriptionFactory(period=7)
    password = "moodle.example.edu:8443|42|Am0TlUow"
    first = services.grant_access(
        subscription=subscription, email="student@example.edu", access_password=password
    )
    assert (first.hash, first.grant_outcome) == (password, GrantOutcome.CREATED)
    # The password names the access, whoever the e-mail says (a client's user changed theirs).
    again = services.grant_access(
        subscription=subscription, email="renamed@example.edu", access_password=password
    )
    assert (again, again.grant_outcome) == (first, GrantOutcome.KEPT)
    assert not Buyer.objects.filter(email="renamed@example.edu").exists()


def test_each_chosen_password_opens_its_own_access_even_for_one_buyer():
    """A client sends `<host>|<user>|<media>`: one buyer, one password per media."""
    subscription = SubscriptionFactory(period=7)
    one = services.grant_access(
        subscription=subscription, email="s@example.edu", access_password="h|42|MEDIA001"
    )
    two = services.grant_access(
        subscription=subscription, email="s@example.edu", access_password="h|42|MEDIA002"
    )
    assert one != two and one.buyer == two.buyer
    for access in (one, two):
        assert services.check_access(
            subscription_code=subscription.code, access_password=access.hash
        ).granted


def test_the_same_password_opens_a_separate_access_on_another_subscription():
    first, second = SubscriptionFactory(), SubscriptionFactory()
    one = services.grant_access(subscription=first, email="a@example.com", access_password="h|1")
    two = services.grant_access(subscription=second, email="a@example.com", access_password="h|1")
    assert one != two
    services.revoke_access(access=one)
    assert not services.check_access(subscription_code=first.code, access_password="h|1").granted
    assert services.check_access(subscription_code=second.code, access_password="h|1").granted


def test_a_revoked_password_is_not_granted_again():
    subscription = SubscriptionFactory()
    access = services.grant_access(
        subscription=subscription, email="a@example.com", access_password="gone|1"
    )
    services.revoke_access(access=access)
    with pytest.raises(errors.AccessRevoked) as refused:
        services.grant_access(
            subscription=subscription, email="a@example.com", access_password="gone|1"
        )
    assert refused.value.field == "hash"
    assert Access.objects.count() == 1


@pytest.mark.parametrize(
    "password",
    ["x" * 256, "tab\there", "line\nbreak", " padded", "padded ", "nul\x00"],
    ids=["256 characters", "tab", "newline", "leading space", "trailing space", "NUL"],
)
def test_an_unprintable_or_too_long_password_is_refused_and_nothing_is_written(password):
    subscription = SubscriptionFactory()
    with pytest.raises(errors.InvalidAccessPassword):
        services.grant_access(
            subscription=subscription, email="new@example.com", access_password=password
        )
    assert not Access.objects.exists()
    assert not Buyer.objects.exists()


def test_a_password_of_255_printable_characters_is_accepted():
    subscription = SubscriptionFactory()
    password = ("host.example:443|" + "9" * 300)[:255]
    access = services.grant_access(
        subscription=subscription, email="a@example.com", access_password=password
    )
    access.refresh_from_db()
    assert access.hash == password
    assert services.check_access(
        subscription_code=subscription.code, access_password=password
    ).granted
