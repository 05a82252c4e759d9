"""Accessibility: axe-core (vendored, tests/browser/vendor/) finds no violation on the main pages,
on a wide screen and on a phone, signed out and signed in."""

import pytest

from tests.factories import TEST_PASSWORD

from .pages import axe_violations, reachable_pages
from .test_sign_in_journey import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_the_sign_in_page_has_no_axe_violation(page, live_server):
    page.goto(live_server.url + "/accounts/login/")
    assert axe_violations(page) == []


@pytest.mark.parametrize("width", [1280, 375])
def test_the_main_pages_have_no_axe_violation(browser, live_server, demo_shop, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_server.url, "sam", TEST_PASSWORD)
    page.wait_for_url(live_server.url + "/")
    found = {}
    # Every kind of page the navigation reaches, and one of each kind they link to.
    for path in reachable_pages(page, live_server.url, demo_shop, depth=1, per_kind=1):
        violations = axe_violations(page)
        if violations:
            found[path] = violations
    for path in ("/search/?q=example", "/no-such-page/"):
        page.goto(live_server.url + path)
        if violations := axe_violations(page):
            found[path] = violations
    context.close()
    assert found == {}, found
