"""Phones: every kind of page the navigation reaches, and the pages they link to, fits a 375 px
screen (nothing wider than the window); list filters fold away above the results."""

import pytest

from tests.factories import TEST_PASSWORD

from .pages import overflow, reachable_pages
from .test_sign_in_journey import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PHONE = {"width": 375, "height": 740}


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_no_page_is_wider_than_a_phone(phone, live_server, demo_shop):
    sign_in(phone, live_server.url, "sam", TEST_PASSWORD)
    phone.wait_for_url(live_server.url + "/")
    too_wide, visited = {}, []
    for path in reachable_pages(phone, live_server.url, demo_shop):
        visited.append(path)
        found = overflow(phone, PHONE["width"])
        if found:
            too_wide[path] = found
    assert len(visited) > 30, visited  # lists, details, forms of every area
    assert too_wide == {}, too_wide


def test_list_filters_fold_away_on_a_phone_and_open_on_demand(phone, page, live_server, demo_shop):
    sign_in(phone, live_server.url, "sam", TEST_PASSWORD)
    phone.wait_for_url(live_server.url + "/")
    phone.goto(live_server.url + "/purchases/?status=completed")
    filters = phone.locator("#filters form")
    assert not filters.is_visible()
    # The results come first: the table starts within the first screen.
    assert phone.locator("main table").bounding_box()["y"] < PHONE["height"]
    toggle = phone.get_by_test_id("filters-toggle")
    assert toggle.inner_text() == "Filters (1 set)"
    toggle.click()
    filters.wait_for(state="visible")
    assert phone.get_by_label("Status").input_value() == "completed"

    # On a wide screen the filters stand beside the results, open.
    sign_in(page, live_server.url, "sam", TEST_PASSWORD)
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + "/purchases/")
    assert page.locator("#filters form").is_visible()
    assert not page.get_by_test_id("filters-toggle").is_visible()


def test_the_search_box_is_reached_with_the_slash_key(page, live_server, demo_shop):
    sign_in(page, live_server.url, "sam", TEST_PASSWORD)
    page.wait_for_url(live_server.url + "/")
    page.keyboard.press("/")
    page.keyboard.type("alice@example.com")
    page.keyboard.press("Enter")
    page.wait_for_url("**/buyers/*/")
    assert "alice@example.com" in page.locator("main").inner_text()
    assert page.console_problems == []
