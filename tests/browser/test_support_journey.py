"""Support answers a buyer's call in a real browser: find the buyer, read the timeline, open the
e-mail they were sent (its HTML in a sandboxed frame), ask why they cannot buy it again, then
extend their access from the accesses list (a bulk action) and undo it."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from core import outbox
from core.models import OutboxMessage
from core.roles import SHOP_STAFF, apply_role_permissions
from purchases.services.checkout import create_purchase
from tests.factories import TEST_PASSWORD, UserFactory
from tests.purchases.factories import offer_for_sale, wallet_buyer

from .conftest import ARTIFACTS
from .test_sign_in_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_support_answers_a_buyers_call(page, live_server):
    # Transactional tests empty every table after them, the role groups too: make them again.
    apply_role_permissions(apps, None)
    staff = UserFactory(username="sue")
    staff.groups.add(Group.objects.get(name=SHOP_STAFF))
    buyer = wallet_buyer(balance="50.00", email="ann@example.com", name="Ann Lee")
    subscription, pricing_model = offer_for_sale(price="20.00", name="Jazz Nights")
    purchase = create_purchase(
        buyer=buyer, subscription=subscription, pricing_model=pricing_model, payment_type="wallet"
    )
    outbox.deliver(OutboxMessage.objects.values_list("pk", flat=True))

    sign_in(page, live_server.url, "sue", TEST_PASSWORD)
    page.get_by_text("Welcome").wait_for()
    page.goto(f"{live_server.url}/buyers/?q=ann@example.com")
    page.get_by_role("link", name=buyer.code).click()

    page.get_by_test_id("buyer-timeline").click()
    timeline = page.get_by_test_id("timeline")
    timeline.get_by_text(f"Purchase {purchase.code} of Jazz Nights").wait_for()
    page.screenshot(path=str(ARTIFACTS / "support_timeline.png"), full_page=True)
    timeline.get_by_role("link", name="E-mail sent: Your receipt").click()

    page.get_by_test_id("email-text").wait_for()
    frame = page.frame_locator("[data-testid=email-preview]")
    frame.get_by_text("Jazz Nights").first.wait_for()
    assert page.get_by_test_id("email-preview").get_attribute("sandbox") == ""
    page.screenshot(path=str(ARTIFACTS / "support_email.png"), full_page=True)

    page.get_by_role("link", name="Ann Lee").first.click()
    panel = page.get_by_test_id("explain-panel")
    panel.get_by_label("Subscription").select_option(label="Jazz Nights")
    panel.get_by_role("button", name="Explain").click()
    assert page.get_by_test_id("can-buy").inner_text() == "Cannot buy"
    assert page.get_by_test_id("can-watch").inner_text() == "Can watch"
    row = page.locator("[data-testid=explain-purchase] tr[data-rule=not_owned]")
    assert "Failed" in row.inner_text()

    # Extend the buyer's access by 30 days from the accesses list, then undo it.
    access = purchase.access
    access.refresh_from_db()
    expire = access.access_expire
    page.goto(f"{live_server.url}/accesses/?buyer={buyer.code}")
    page.get_by_label(f"Choose {access.code}").check()
    page.get_by_label("With the chosen rows").select_option("extend")
    page.get_by_label("Days (to extend by)").fill("30")
    page.get_by_test_id("bulk-selected").click()
    assert "Extend 1 access by 30 days." in page.get_by_test_id("bulk-count").inner_text()
    page.get_by_test_id("bulk-confirm-button").click()
    assert "Done" in page.get_by_test_id("bulk-state").inner_text()
    access.refresh_from_db()
    assert access.access_expire == expire + timedelta(days=30)
    page.screenshot(path=str(ARTIFACTS / "support_bulk_extend.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("bulk-undo").click()
    page.get_by_text("Undoing: this page shows how far it has got.").wait_for()
    assert "Done: 1" in page.get_by_test_id("bulk-counts").inner_text()
    access.refresh_from_db()
    assert access.access_expire == expire
    assert page.console_problems == []
