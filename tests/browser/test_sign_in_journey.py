import pytest

from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base_url, username, password):
    page.goto(base_url + "/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_admin_signs_in_finds_the_team_page_and_signs_out(page, live_server):
    UserFactory(username="ada", is_staff=True, is_superuser=True)
    sign_in(page, live_server.url, "ada", TEST_PASSWORD)
    page.get_by_text("Welcome").wait_for()

    # The menus need Bootstrap's script: this proves it loads under the CSP.
    menu = page.get_by_role("navigation", name="Main navigation")
    menu.get_by_role("button", name="Admin", exact=True).click()
    menu.get_by_role("link", name="Team").click()
    page.get_by_role("heading", name="Team").wait_for()
    assert page.get_by_test_id("result-count").inner_text().strip() == "1 result"

    page.get_by_label("Search").fill("nobody")
    page.get_by_role("button", name="Filter").click()
    page.get_by_test_id("result-count").get_by_text("0 results").wait_for()

    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.console_problems == []


def test_wrong_password_shows_the_message_beside_the_form(page, live_server):
    UserFactory(username="ada")
    sign_in(page, live_server.url, "ada", "not the password")
    page.get_by_text("Please enter a correct username and password").wait_for()
    assert "/accounts/login/" in page.url


def test_pages_fit_a_phone_screen(page, live_server):
    UserFactory(username="ada", is_superuser=True, is_staff=True)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url, "ada", TEST_PASSWORD)
    page.get_by_text("Welcome").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="Toggle navigation").click()
    menu = page.get_by_role("navigation", name="Main navigation")
    menu.get_by_role("button", name="Admin", exact=True).click()
    menu.get_by_role("link", name="Team").click()
    page.get_by_role("heading", name="Team").wait_for()
    assert page.console_problems == []
