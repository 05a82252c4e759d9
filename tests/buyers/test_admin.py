"""The Django admin of buyers: changelists open, writes go through the services, the ledger is
read-only."""

import pytest
from django.urls import reverse

from buyers.models import Access, Buyer

from .factories import AccessFactory, BuyerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_with_rows(admin_client):
    access = AccessFactory(buyer=BuyerFactory(email="ann@example.com"))
    from buyers import services

    services.top_up_wallet(buyer=access.buyer, amount="5", currency="EUR")
    services.check_access(
        subscription_code=access.subscription.code, access_password=access.hash, device_id="tv"
    )
    return admin_client, access


@pytest.mark.parametrize(
    "model", ["buyer", "access", "walletentry", "accessactivation", "sentemail"]
)
def test_changelists_open_and_search(admin_client_with_rows, model):
    client, _ = admin_client_with_rows
    url = reverse(f"admin:buyers_{model}_changelist")
    assert client.get(url).status_code == 200
    assert client.get(url, {"q": "ann"}).status_code == 200


def test_access_changelist_filters_by_status(admin_client_with_rows):
    client, _ = admin_client_with_rows
    url = reverse("admin:buyers_access_changelist")
    for status in ("active", "expired", "revoked"):
        assert client.get(url, {"status": status}).status_code == 200


def test_ledger_cannot_be_added_changed_or_deleted_in_the_admin(admin_client_with_rows):
    client, _ = admin_client_with_rows
    assert client.get(reverse("admin:buyers_walletentry_add")).status_code == 403


def test_admin_buyer_form_shows_the_service_refusal_beside_the_field(admin_client):
    BuyerFactory(email="taken@example.com")
    response = admin_client.post(
        reverse("admin:buyers_buyer_add"), {"email": "TAKEN@example.com", "phone": "", "name": ""}
    )
    assert response.status_code == 200
    assert "Another buyer already has this e-mail address." in str(
        response.context["adminform"].form.errors["email"]
    )
    assert Buyer.objects.count() == 1


def test_admin_adds_buyer_and_grants_access_through_the_services(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:buyers_buyer_add"), {"email": "new@example.com", "phone": "", "name": "N"}
    )
    assert response.status_code == 302
    buyer = Buyer.objects.get(email="new@example.com")
    subscription = SubscriptionFactory(activation=4, stock=1)
    data = {
        "buyer": buyer.pk,
        "subscription": subscription.pk,
        "activation_limit": "",
        "access_start_0": "",
        "access_start_1": "",
        "access_expire_0": "",
        "access_expire_1": "",
        "custom_url": "",
    }
    response = admin_client.post(reverse("admin:buyers_access_add"), data)
    assert response.status_code == 302
    access = Access.objects.get()
    assert (access.activation_limit, access.granted_by) == (4, admin_user)
    other = Buyer.objects.create(email="other@example.com")
    response = admin_client.post(reverse("admin:buyers_access_add"), {**data, "buyer": other.pk})
    assert b"stock is used up" in response.content
    assert Access.objects.count() == 1


def test_admin_grant_to_a_buyer_with_a_live_access_keeps_it_and_says_so(admin_client):
    buyer = Buyer.objects.create(email="fan@example.com")
    subscription = SubscriptionFactory(activation=2)
    data = {
        "buyer": buyer.pk,
        "subscription": subscription.pk,
        "activation_limit": "",
        "access_start_0": "",
        "access_start_1": "",
        "access_expire_0": "",
        "access_expire_1": "",
        "custom_url": "",
    }
    admin_client.post(reverse("admin:buyers_access_add"), data, follow=True)
    access = Access.objects.get()
    response = admin_client.post(
        reverse("admin:buyers_access_add"), {**data, "activation_limit": "5"}, follow=True
    )
    assert Access.objects.get() == access
    access.refresh_from_db()
    assert access.activation_limit == 5
    assert "already had a live access" in response.content.decode()
    assert "was added successfully" not in response.content.decode()


def test_admin_revoke_action_keeps_the_rows(admin_client_with_rows, admin_user):
    client, access = admin_client_with_rows
    client.post(
        reverse("admin:buyers_access_changelist"),
        {"action": "revoke_selected", "_selected_action": [access.pk]},
    )
    access.refresh_from_db()
    assert (access.status, access.revoked_by) == ("revoked", admin_user)
