"""An admin adds a shop-staff member in the Django admin; that member signs in and finds the
finance reports closed to them: no Reports menu, and the report's address answers 403."""

from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.urls import reverse

from core.roles import SHOP_STAFF, apply_role_permissions
from tests.factories import TEST_PASSWORD, UserFactory

from .test_sign_in_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Quiet-harbour-4817"


def test_admin_creates_a_shop_staff_user_who_cannot_open_finance_reports(page, live_server):
    # Transactional tests empty every table after them, the role groups too: make them again.
    apply_role_permissions(apps, None)
    UserFactory(username="ada", is_staff=True, is_superuser=True)
    failed_loads = []
    page.on(
        "console",
        lambda msg: (
            failed_loads.append(urlsplit(msg.location["url"]).path)
            if msg.type == "error" and msg.text.startswith("Failed to load resource")
            else None
        ),
    )

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Users", exact=True).first.click()
    page.get_by_role("link", name="Add user").click()

    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password:", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was added successfully").wait_for()

    # The change page: Staff status (ticked already or not), and the group chosen with the
    # admin's two-box selector.
    page.get_by_label("Staff status").check()
    page.locator("#id_groups_from").select_option(label="Shop staff")
    page.get_by_role("button", name="Choose selected groups").click()
    assert page.locator("#id_groups_to option").all_text_contents() == ["Shop staff"]
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was changed successfully").wait_for()

    sam = get_user_model().objects.get(username="sam")
    assert sam.is_staff and not sam.is_superuser
    assert list(sam.groups.values_list("name", flat=True)) == [SHOP_STAFF]
    assert sam.check_password(NEW_PASSWORD)

    page.get_by_role("button", name="Log out").click()
    # Signed out of the admin, the back office's sign-in page (LOGOUT_REDIRECT_URL) shows.
    page.get_by_role("heading", name="Sign in").wait_for()

    sign_in(page, live_server.url, "sam", NEW_PASSWORD)
    page.get_by_text("Welcome").wait_for()
    menu = page.get_by_role("navigation", name="Main navigation")
    menu.get_by_role("button", name="Catalog", exact=True).wait_for()
    assert menu.get_by_role("button", name="Reports", exact=True).count() == 0
    assert page.get_by_role("heading", name="Reports", exact=True).count() == 0
    assert page.get_by_test_id("dashboard").count() == 0
    for name in ("refunds", "renewals", "contract_transactions"):
        url = live_server.url + reverse(f"purchases:reports:{name}")
        assert page.request.get(url).status == 403, name

    revenue = reverse("purchases:reports:revenue")
    response = page.goto(live_server.url + revenue)
    assert response.status == 403
    page.get_by_role("heading", name="You may not open this page").wait_for()
    # Chromium logs the 403 itself, and the admin's pages (which name no favicon) make it ask
    # for /favicon.ico, a 404; no other load may fail and nothing else may go wrong.
    assert revenue in failed_loads
    assert set(failed_loads) <= {"/favicon.ico", revenue}, failed_loads
    problems = [p for p in page.console_problems if not p.startswith("Failed to load resource")]
    assert problems == []
