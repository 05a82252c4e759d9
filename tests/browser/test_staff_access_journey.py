"""A staff journey in a real browser: grant a buyer access from a subscription's page, read the
access password, then revoke it after confirming."""

import pytest

from buyers.models import Access
from tests.factories import TEST_PASSWORD, UserFactory
from tests.subscriptions.factories import SubscriptionFactory

from .test_sign_in_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_grants_access_sees_the_password_and_revokes_it(page, live_server):
    UserFactory(username="sam", is_staff=True, is_superuser=True)
    subscription = SubscriptionFactory(name="Jazz Nights", activation=2)
    sign_in(page, live_server.url, "sam", TEST_PASSWORD)
    page.get_by_text("Welcome").wait_for()

    page.goto(f"{live_server.url}/accesses/subscription/{subscription.code}/")
    page.get_by_role("link", name="Grant access").click()
    page.get_by_label("Buyer's e-mail").fill("ann@example.com")
    page.get_by_label("Notify the buyer by e-mail").uncheck()
    page.get_by_role("button", name="Grant access").click()

    access = Access.objects.get()
    assert page.get_by_test_id("access-password").inner_text() == access.hash
    assert access.activation_limit == 2

    page.get_by_role("link", name="Revoke").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_label("Tell the buyer by e-mail").uncheck()
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text("Access revoked").wait_for()
    access.refresh_from_db()
    assert access.revoked_at is not None
    assert page.console_problems == []
