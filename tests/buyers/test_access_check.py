"""The access check the API will call: granted, or why not; activations counted per device."""

from datetime import timedelta

import pytest
from django.utils import timezone

from buyers import services
from buyers.models import AccessActivation
from buyers.services import AccessRefusal

from .factories import AccessFactory

pytestmark = pytest.mark.django_db


def check(access, device="phone-1", ip="192.0.2.1", **kwargs):
    return services.check_access(
        subscription_code=access.subscription.code,
        access_password=access.hash,
        device_id=device,
        ip_address=ip,
        **kwargs,
    )


def test_valid_password_is_granted_and_counts_one_activation():
    access = AccessFactory(activation_limit=2)
    result = check(access)
    assert result.granted and result.new_activation
    access.refresh_from_db()
    assert access.activations_used == 1
    activation = AccessActivation.objects.get()
    assert (activation.device_id, activation.ip_address) == ("phone-1", "192.0.2.1")


def test_same_device_again_is_not_counted_twice():
    access = AccessFactory(activation_limit=1)
    assert check(access).granted
    again = check(access, ip="198.51.100.7")
    assert again.granted and not again.new_activation
    access.refresh_from_db()
    assert access.activations_used == 1


def test_new_device_beyond_the_limit_is_refused_and_nothing_is_written():
    access = AccessFactory(activation_limit=1)
    check(access, device="phone")
    result = check(access, device="tablet")
    assert (result.granted, result.reason) == (False, AccessRefusal.ACTIVATION_LIMIT_REACHED)
    access.refresh_from_db()
    assert access.activations_used == 1
    assert AccessActivation.objects.count() == 1


def test_no_limit_means_any_number_of_devices():
    access = AccessFactory(activation_limit=None)
    for n in range(5):
        assert check(access, device=f"d{n}").granted


def test_device_without_an_id_is_known_by_its_ip():
    access = AccessFactory(activation_limit=1)
    assert check(access, device="", ip="203.0.113.5").granted
    assert check(access, device="", ip="203.0.113.5").granted
    assert check(access, device="", ip="203.0.113.6").reason == (
        AccessRefusal.ACTIVATION_LIMIT_REACHED
    )


@pytest.mark.parametrize(("password", "code_of_other"), [("wrong-password", False), (None, True)])
def test_unknown_password_or_other_subscription_is_refused(password, code_of_other):
    access = AccessFactory()
    other = AccessFactory()
    result = services.check_access(
        subscription_code=other.subscription.code if code_of_other else access.subscription.code,
        access_password=password or access.hash,
        device_id="d",
    )
    assert (result.granted, result.reason) == (False, AccessRefusal.UNKNOWN)
    assert not AccessActivation.objects.exists()


def test_revoked_not_started_and_expired_are_refused_without_counting():
    now = timezone.now()
    revoked = AccessFactory(revoked_at=now)
    upcoming = AccessFactory(access_start=now + timedelta(days=1))
    expired = AccessFactory(access_expire=now - timedelta(seconds=1))
    assert check(revoked).reason == AccessRefusal.REVOKED
    assert check(upcoming).reason == AccessRefusal.NOT_STARTED
    assert check(expired).reason == AccessRefusal.EXPIRED
    assert not AccessActivation.objects.exists()


def test_an_unreadable_ip_address_is_not_stored():
    access = AccessFactory()
    assert check(access, ip="not-an-address").granted
    assert AccessActivation.objects.get().ip_address is None
