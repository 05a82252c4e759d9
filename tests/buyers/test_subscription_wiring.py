"""A subscription's page shows its buyers (the buyers panel with their count)."""

import pytest
from django.urls import reverse

from buyers import services
from tests.buyers.factories import BuyerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_the_subscription_page_counts_buyers_with_a_live_access(client, staff_user):
    subscription = SubscriptionFactory()
    services.grant_access(subscription=subscription, buyer=BuyerFactory())
    gone = services.grant_access(subscription=subscription, buyer=BuyerFactory())
    services.revoke_access(access=gone)
    client.force_login(staff_user)
    response = client.get(reverse("subscriptions:detail", kwargs={"code": subscription.code}))
    assert response.context["subscription_buyer_count"] == 1


def test_the_subscription_page_lists_its_buyers(client, staff_user):
    subscription = SubscriptionFactory()
    access = services.grant_access(
        subscription=subscription, buyer=BuyerFactory(email="ana@example.com")
    )
    client.force_login(staff_user)
    page = client.get(reverse("subscriptions:detail", kwargs={"code": subscription.code}))
    assert b'data-testid="subscription-accesses"' in page.content
    assert access.code.encode() in page.content and b"ana@example.com" in page.content
    assert b"buyers-placeholder" not in page.content


def test_the_buyers_panel_needs_the_right_to_see_accesses(client, user_with_perms):
    subscription = SubscriptionFactory()
    services.grant_access(subscription=subscription, buyer=BuyerFactory(email="ana@example.com"))
    client.force_login(user_with_perms("subscriptions.view_subscription"))
    page = client.get(reverse("subscriptions:detail", kwargs={"code": subscription.code}))
    assert page.status_code == 200 and b"ana@example.com" not in page.content
