"""The seller's contacts (reference 004 contacts/updatecontacts)."""

import pytest

from subscriptions import errors, services
from subscriptions.models import ShopContacts

pytestmark = pytest.mark.django_db


def test_contacts_are_empty_until_entered_then_one_row_is_kept():
    assert services.get_shop_contacts().name == ""
    assert not ShopContacts.objects.exists()
    services.update_shop_contacts(name="Alex", phone="+0 000 000 000")
    services.update_shop_contacts(name="Alex B", email="alex@shop.example")
    contacts = services.get_shop_contacts()
    assert ShopContacts.objects.count() == 1
    assert (contacts.name, contacts.phone, contacts.email) == ("Alex B", "", "alex@shop.example")


def test_a_name_is_required():
    with pytest.raises(errors.ShopNameRequired) as caught:
        services.update_shop_contacts(name=" ", phone="123")
    assert caught.value.field == "name"
    assert not ShopContacts.objects.exists()


def test_a_phone_or_an_email_is_required():
    with pytest.raises(errors.PhoneOrEmailRequired) as caught:
        services.update_shop_contacts(name="Alex")
    assert caught.value.field == "phone"
    assert not ShopContacts.objects.exists()


def test_email_and_site_must_be_valid():
    with pytest.raises(errors.InvalidEmail):
        services.update_shop_contacts(name="Alex", email="not-an-email")
    with pytest.raises(errors.InvalidUrl) as caught:
        services.update_shop_contacts(name="Alex", phone="1", site="shop")
    assert caught.value.field == "site"
    assert not ShopContacts.objects.exists()
