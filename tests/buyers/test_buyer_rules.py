"""Buyers: one of e-mail or phone, e-mail unique whatever its case, the purchase PIN."""

import pytest
from django.contrib.auth.hashers import check_password
from django.db import IntegrityError, transaction

from buyers import errors, services
from buyers.models import Buyer

from .factories import BuyerFactory

pytestmark = pytest.mark.django_db


def test_create_buyer_with_email_only_or_phone_only():
    by_email = services.create_buyer(email=" ann@example.com ", name=" Ann ")
    by_phone = services.create_buyer(phone="+44  20 7946 0958")
    assert (by_email.email, by_email.name) == ("ann@example.com", "Ann")
    assert by_phone.phone == "+44 20 7946 0958"
    assert len(by_email.code) == 8


def test_buyer_without_email_and_phone_is_refused():
    with pytest.raises(errors.EmailOrPhoneRequired) as refused:
        services.create_buyer(name="Nobody")
    assert refused.value.field == "email"
    assert not Buyer.objects.exists()


def test_email_is_unique_whatever_its_letter_case():
    services.create_buyer(email="Ann@Example.com")
    with pytest.raises(errors.EmailTaken):
        services.create_buyer(email="ann@EXAMPLE.com")
    assert Buyer.objects.count() == 1


def test_database_refuses_a_second_email_in_another_case_even_without_the_service():
    BuyerFactory(email="bob@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Buyer.objects.create(email="BOB@example.com")


def test_database_refuses_a_buyer_without_contact():
    with pytest.raises(IntegrityError), transaction.atomic():
        Buyer.objects.create(name="x")


def test_many_buyers_may_have_no_email():
    services.create_buyer(phone="+1 555 0100")
    services.create_buyer(phone="+1 555 0101")
    assert Buyer.objects.filter(email="").count() == 2


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"email": "not-an-email"}, errors.InvalidEmail),
        ({"phone": "call me maybe"}, errors.InvalidPhone),
        ({"email": "a@example.com", "name": "x" * 300}, errors.FieldTooLong),
    ],
)
def test_bad_contacts_are_refused_and_nothing_is_written(fields, error):
    with pytest.raises(error):
        services.create_buyer(**fields)
    assert not Buyer.objects.exists()


def test_update_buyer_keeps_own_email_and_refuses_another_buyers():
    ann = BuyerFactory(email="ann@example.com")
    BuyerFactory(email="bob@example.com")
    services.update_buyer(buyer=ann, email="ANN@example.com", name="Ann B")
    ann.refresh_from_db()
    assert (ann.email, ann.name) == ("ANN@example.com", "Ann B")
    with pytest.raises(errors.EmailTaken):
        services.update_buyer(buyer=ann, email="Bob@example.com")
    ann.refresh_from_db()
    assert ann.email == "ANN@example.com"


# --- Purchase PIN ---------------------------------------------------------------------------


def test_pin_is_stored_hashed_and_verified():
    buyer = services.set_purchase_pin(buyer=BuyerFactory(), pin="4821")
    buyer.refresh_from_db()
    assert "4821" not in buyer.pin_hash
    assert check_password("4821", buyer.pin_hash)
    services.verify_purchase_pin(buyer=buyer, pin="4821")


@pytest.mark.parametrize("pin", ["", "12", "123456789", "12a4", None])
def test_malformed_pin_is_refused(pin):
    buyer = BuyerFactory()
    with pytest.raises(errors.InvalidPin):
        services.set_purchase_pin(buyer=buyer, pin=pin)
    buyer.refresh_from_db()
    assert buyer.pin_hash == ""


def test_empty_or_unset_pin_never_matches():
    buyer = BuyerFactory()
    with pytest.raises(errors.UserPurchasePinValueNoMatch):
        services.verify_purchase_pin(buyer=buyer, pin="1234")
    services.set_purchase_pin(buyer=buyer, pin="1234")
    with pytest.raises(errors.UserPurchasePinValueNoMatch):
        services.verify_purchase_pin(buyer=buyer, pin="")


def test_wrong_pins_are_counted_and_lock_the_pin(settings):
    settings.PURCHASE_PIN_FAILURE_LIMIT = 3
    buyer = services.set_purchase_pin(buyer=BuyerFactory(), pin="1234")
    for _ in range(2):
        with pytest.raises(errors.UserPurchasePinValueNoMatch):
            services.verify_purchase_pin(buyer=buyer, pin="0000")
    buyer.refresh_from_db()
    assert buyer.pin_failed_attempts == 2
    with pytest.raises(errors.PurchasePinLocked):
        services.verify_purchase_pin(buyer=buyer, pin="0000")
    # Once locked, even the right PIN is refused until staff set a new one.
    with pytest.raises(errors.PurchasePinLocked):
        services.verify_purchase_pin(buyer=buyer, pin="1234")
    services.set_purchase_pin(buyer=buyer, pin="5678")
    services.verify_purchase_pin(buyer=buyer, pin="5678")
    buyer.refresh_from_db()
    assert (buyer.pin_failed_attempts, buyer.pin_locked_at) == (0, None)


def test_right_pin_clears_the_failure_count():
    buyer = services.set_purchase_pin(buyer=BuyerFactory(), pin="1234")
    with pytest.raises(errors.UserPurchasePinValueNoMatch):
        services.verify_purchase_pin(buyer=buyer, pin="9999")
    services.verify_purchase_pin(buyer=buyer, pin="1234")
    buyer.refresh_from_db()
    assert buyer.pin_failed_attempts == 0


def test_an_email_taken_between_the_check_and_the_write_is_a_clear_refusal(monkeypatch):
    from buyers import errors as buyer_errors
    from buyers import services as buyer_services

    buyer_services.create_buyer(email="race@example.com")
    monkeypatch.setattr(buyer_services, "check_buyer_fields", lambda **kwargs: None)
    with pytest.raises(buyer_errors.EmailTaken):
        buyer_services.create_buyer(email="RACE@example.com")
