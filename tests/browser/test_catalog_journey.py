"""Shop staff build a subscription in the browser: create it, add media, remove it again."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from core.roles import SHOP_STAFF, apply_role_permissions
from subscriptions.models import Subscription
from tests.factories import TEST_PASSWORD, UserFactory
from tests.subscriptions.factories import MediaFactory, PricingModelFactory

from .test_sign_in_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop_staff(db):
    # Transactional tests empty every table after them, the role groups too: make them again.
    apply_role_permissions(apps, None)
    user = UserFactory(username="sam")
    user.groups.add(Group.objects.get(name=SHOP_STAFF))
    return user


def test_staff_creates_a_subscription_adds_and_removes_media(page, live_server, shop_staff):
    PricingModelFactory(title="Monthly", price="9.99", currency="EUR")
    MediaFactory(title="Knife skills")
    sign_in(page, live_server.url, shop_staff.username, TEST_PASSWORD)
    page.get_by_text("Welcome").wait_for()

    menu = page.get_by_role("navigation", name="Main navigation")
    menu.get_by_role("button", name="Catalog", exact=True).click()
    menu.get_by_role("link", name="Subscriptions").click()
    page.get_by_role("link", name="Add").click()

    # Neither a period nor an expiry date: refused beside the field, and nothing is saved.
    page.locator("#id_name").fill("Cooking course")
    page.locator("#id_scope").select_option("group")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Give a period in days or an access expiry date").wait_for()
    assert not Subscription.objects.exists()

    page.get_by_label("Period (days)").fill("30")
    page.get_by_label("Pricing models offered").select_option(label="Monthly · 9.99 EUR")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("alert").get_by_text("created").wait_for()
    page.get_by_test_id("offers").get_by_text("9.99 EUR").wait_for()

    page.get_by_label("Find media to add").fill("knife")
    page.get_by_role("button", name="Search").click()
    page.get_by_test_id("media-candidates").get_by_role("button", name="Add").click()
    page.get_by_test_id("media-table").get_by_text("Knife skills").wait_for()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("media-table").get_by_role("button", name="Remove").click()
    page.get_by_text("No media yet.").wait_for()
    assert page.console_problems == []
