"""A buyer on a phone manages their subscription (issue 19): from the link in their receipt
e-mail they see the subscription, change the card, stop at the period's end and change their
mind, pause and resume, on a 375 px screen, with no axe violation, nothing wider than the
screen, and no error in the console (the CSP allows no inline script)."""

import re

import pytest
from django.core.cache import cache

from purchases.models import RecurringContract
from tests.purchases.test_renewals import subscribe

from .conftest import ARTIFACTS
from .pages import axe_violations, overflow

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PHONE = {"width": 375, "height": 740}


@pytest.fixture
def phone(browser, request):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = []
    page.on(
        "console",
        lambda msg: (
            problems.append(f"{msg.text} {msg.location.get('url')}")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.console_problems = problems
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def looks_right(page, status=None):
    assert overflow(page, PHONE["width"]) is None
    assert axe_violations(page) == []
    # A phone's browser asks for /favicon.ico whatever the page names (the site has none), and
    # a refused link's page answers its status, which the browser logs as a failed load.
    expected = ["/favicon.ico"] + ([f"with a status of {status}"] if status else [])
    problems = [p for p in page.console_problems if not any(said in p for said in expected)]
    assert problems == []
    page.console_problems.clear()


def test_a_buyer_manages_their_subscription_from_a_phone(phone, live_server, settings, mailoutbox):
    cache.clear()
    settings.SITE_URL = live_server.url
    contract = subscribe(price="9.99")
    (receipt,) = [message for message in mailoutbox if "receipt" in message.subject]
    link = re.search(re.escape(live_server.url) + r"/my/[^\s]+/", receipt.body).group(0)

    phone.goto(link)
    subscription = phone.get_by_test_id("subscription")
    assert contract.subscription.name in subscription.inner_text()
    assert "Renews automatically" in subscription.inner_text()
    assert "Visa •••• 4242" in phone.get_by_test_id("subscription-card").inner_text()
    assert "9.99 EUR" in phone.get_by_test_id("receipt").inner_text()
    looks_right(phone)

    # A new card the gateway declines is refused beside the field; the old one stays.
    phone.get_by_text("Update my card").click()
    phone.get_by_label("New card").fill("tok_decline")
    phone.get_by_role("button", name="Check and use this card").click()
    phone.get_by_text("declined when checked").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "self_service_card_refused.png"), full_page=True)
    looks_right(phone, status=400)
    phone.get_by_label("New card").fill("tok_approve")
    phone.get_by_role("button", name="Check and use this card").click()
    phone.get_by_text("Your new card is checked").wait_for()
    contract.refresh_from_db()
    assert contract.instrument == "tok_approve"

    # Stop at the period's end: the page says until when.
    phone.get_by_text("Stop renewing").click()
    phone.get_by_role("button", name="Stop at the end of this period").click()
    phone.get_by_text("stops at the end of this period").wait_for()
    assert "Stops on" in phone.get_by_test_id("subscription-status").inner_text()
    looks_right(phone)
    contract.refresh_from_db()
    assert contract.cancel_at_period_end

    # Changed their mind: it renews again.
    phone.get_by_role("button", name="Keep my subscription").click()
    phone.get_by_text("renews again").wait_for()
    assert "Renews automatically" in phone.get_by_test_id("subscription-status").inner_text()
    looks_right(phone)
    contract.refresh_from_db()
    assert not contract.cancel_at_period_end
    assert contract.status == RecurringContract.Status.ACTIVE

    # A pause for one period, then resumed early.
    phone.get_by_text("Pause", exact=True).click()
    phone.get_by_label("For a number of periods").check()
    phone.get_by_label("Periods", exact=True).fill("1")
    phone.get_by_role("button", name="Pause my subscription").click()
    phone.get_by_text("Your subscription is paused").wait_for()
    assert "Paused from" in phone.get_by_test_id("subscription-status").inner_text()
    looks_right(phone)
    phone.get_by_role("button", name="Resume my subscription").click()
    phone.get_by_text("runs again").wait_for()
    assert "Renews automatically" in phone.get_by_test_id("subscription-status").inner_text()
    contract.refresh_from_db()
    assert contract.status == RecurringContract.Status.ACTIVE


def test_an_expired_link_page_fits_a_phone_and_offers_a_fresh_link(phone, live_server):
    cache.clear()
    phone.goto(live_server.url + "/my/not-a-real-link/")
    assert "not complete or not valid" in phone.content()
    looks_right(phone, status=404)
    phone.get_by_label("Your e-mail address").fill("someone@example.com")
    phone.get_by_role("button", name="E-mail me a new link").click()
    phone.get_by_test_id("link-sent").wait_for()
    looks_right(phone)
