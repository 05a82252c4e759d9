"""The catalog in the Django admin: every model listed, searched, edited with the same rules."""

import pytest
from django.urls import reverse

from subscriptions import services
from subscriptions.models import Subscription

from .factories import (
    CouponFactory,
    MediaFactory,
    OfferFactory,
    PricingModelFactory,
    SubscriptionMediaFactory,
)

pytestmark = pytest.mark.django_db

MODELS = [
    "subscription",
    "media",
    "subscriptionmedia",
    "pricingmodel",
    "subscriptionpricingmodel",
    "coupon",
    "shopcontacts",
]


@pytest.fixture
def catalog(db):
    link = SubscriptionMediaFactory()
    offer = OfferFactory(subscription=link.subscription)
    services.update_shop_contacts(name="Alex", phone="1")
    return {
        "subscription": link.subscription,
        "media": link.media,
        "subscriptionmedia": link,
        "pricingmodel": offer.pricing_model,
        "subscriptionpricingmodel": offer,
        "coupon": CouponFactory(),
    }


@pytest.mark.parametrize("model", MODELS)
def test_admin_lists_searches_and_opens_every_catalog_model(admin_client, catalog, model):
    changelist = reverse(f"admin:subscriptions_{model}_changelist")
    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(changelist, {"q": "x"}).status_code == 200
    instance = catalog.get(model)
    if instance is not None:
        change = reverse(f"admin:subscriptions_{model}_change", args=[instance.pk])
        assert admin_client.get(change).status_code == 200


@pytest.mark.parametrize("model", ["subscription", "pricingmodel"])
def test_admin_shows_the_history(admin_client, catalog, model):
    url = reverse(f"admin:subscriptions_{model}_history", args=[catalog[model].pk])
    assert admin_client.get(url).status_code == 200


def test_admin_autocomplete_finds_media_by_code(admin_client):
    media = MediaFactory()
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "term": media.code,
            "app_label": "subscriptions",
            "model_name": "subscriptionmedia",
            "field_name": "media",
        },
    )
    assert response.json()["results"][0]["id"] == str(media.pk)


def test_an_admin_save_that_breaks_a_rule_shows_the_message_beside_the_field(admin_client):
    response = admin_client.post(
        reverse("admin:subscriptions_subscription_add"),
        {
            "name": "No DRM",
            "kind": "subscription",
            "scope": "group",
            "period": "30",
            "watermark": "on",
            "offers-TOTAL_FORMS": "0",
            "offers-INITIAL_FORMS": "0",
            "media_links-TOTAL_FORMS": "0",
            "media_links-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "only with DRM" in str(response.context["adminform"].form.errors["watermark"])
    assert not Subscription.objects.exists()


def test_the_pricing_model_admin_refuses_a_price_its_currency_cannot_hold(admin_client):
    pricing_model = PricingModelFactory()
    response = admin_client.post(
        reverse("admin:subscriptions_pricingmodel_change", args=[pricing_model.pk]),
        {
            "title": "Rental",
            "price": "10.5",
            "currency": "JPY",
            "quality": "HD",
            "grant_all_devices": "on",
            "device_types": "[]",
            "trial_days": "0",
            "rental_hours": "48",
        },
    )
    assert "JPY amounts have 0 decimal places" in str(response.context["adminform"].form.errors)
    pricing_model.refresh_from_db()
    assert pricing_model.currency == "EUR"


def inline_data(prefix, rows):
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0"}
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def subscription_admin_post(admin_client, scope, media=(), offers=()):
    return admin_client.post(
        reverse("admin:subscriptions_subscription_add"),
        {
            "name": "Via admin",
            "kind": "subscription",
            "scope": scope,
            "period": "30",
            **inline_data("offers", offers),
            **inline_data("media_links", media),
        },
    )


def test_the_admin_refuses_two_media_on_a_single_subscription(admin_client):
    media = MediaFactory.create_batch(2)
    response = subscription_admin_post(
        admin_client, "single", media=[{"media": str(m.pk)} for m in media]
    )
    assert response.status_code == 200
    assert b"at most one media" in response.content
    assert not Subscription.objects.exists()


def test_the_admin_refuses_two_default_pricing_models(admin_client):
    pricing_models = PricingModelFactory.create_batch(2)
    response = subscription_admin_post(
        admin_client,
        "group",
        offers=[{"pricing_model": str(p.pk), "is_default": "on"} for p in pricing_models],
    )
    assert response.status_code == 200
    assert b"Only one pricing model can be the default" in response.content
    assert not Subscription.objects.exists()


def test_the_contacts_admin_asks_for_a_phone_or_email_beside_the_phone(admin_client):
    response = admin_client.post(
        reverse("admin:subscriptions_shopcontacts_add"), {"name": "Alex", "phone": "", "email": ""}
    )
    assert "phone number or an e-mail" in str(response.context["adminform"].form.errors["phone"])
