"""Finance in a real browser: filter purchases by date range and currency, read the totals,
download the CSV and check it against the database, then see the dashboard's charts."""

import csv
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from unittest.mock import patch

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.utils import timezone
from openpyxl import load_workbook

from core.roles import FINANCE, apply_role_permissions
from purchases.models import Purchase
from purchases.services.checkout import create_purchase
from tests.factories import TEST_PASSWORD, UserFactory
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer

from .test_sign_in_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def finance_user(db):
    # Transactional tests empty every table after them, the role groups too: make them again.
    apply_role_permissions(apps, None)
    user = UserFactory(username="fiona")
    user.groups.add(Group.objects.get(name=FINANCE))
    return user


def buy(*, days_ago, price, currency, declined=False):
    """A purchase through the purchase service at noon (shop time) `days_ago`: the clock is set
    back while it is made, so its journal rows are booked then too (they are never moved)."""
    subscription, pricing_model = offer_for_sale(price=price, currency=currency)
    day = timezone.localdate() - timedelta(days=days_ago)
    created_at = datetime.combine(day, time(12), timezone.get_current_timezone())
    with patch("django.utils.timezone.now", return_value=created_at):
        return _buy(subscription, pricing_model, currency, declined)


def _buy(subscription, pricing_model, currency, declined):
    if declined:
        purchase = create_purchase(
            buyer=BuyerFactory(),
            subscription=subscription,
            pricing_model=pricing_model,
            payment_type="sandbox_card",
            instrument="tok_decline",
        )
    else:
        purchase = create_purchase(
            buyer=wallet_buyer("100", currency=currency),
            subscription=subscription,
            pricing_model=pricing_model,
            payment_type="wallet",
        )
    return Purchase.objects.get(pk=purchase.pk)


def test_finance_filters_purchases_exports_the_csv_and_sees_the_charts(
    page, live_server, finance_user
):
    buy(days_ago=12, price="40.00", currency="EUR")  # before the range
    in_range = [
        buy(days_ago=6, price="9.99", currency="EUR"),
        buy(days_ago=3, price="12.50", currency="EUR"),
        buy(days_ago=3, price="99.00", currency="EUR", declined=True),
    ]
    buy(days_ago=4, price="7.25", currency="USD")  # in the range, another currency
    buy(days_ago=0, price="20.00", currency="USD")
    assert [p.status for p in in_range] == ["completed", "completed", "failed"]
    today = timezone.localdate()
    first, last = today - timedelta(days=7), today - timedelta(days=1)

    sign_in(page, live_server.url, finance_user.username, TEST_PASSWORD)
    page.get_by_text("Welcome").wait_for()
    menu = page.get_by_role("navigation", name="Main navigation")
    menu.get_by_role("button", name="Purchases", exact=True).click()
    menu.get_by_role("link", name="Purchases", exact=True).click()
    page.get_by_role("heading", name="Purchases").wait_for()

    filters = page.get_by_role("search")
    filters.locator("input[name=created_min]").fill(first.isoformat())
    filters.locator("input[name=created_max]").fill(last.isoformat())
    filters.get_by_label("Currency").select_option("EUR")
    filters.get_by_role("button", name="Filter").click()
    page.wait_for_url("**currency=EUR**")

    # Money taken, from the journal: the two paid EUR purchases in the range, not the declined
    # one (it charged nothing).
    totals = page.get_by_test_id("totals").locator("[data-currency=EUR]")
    totals.get_by_text("2 sales").wait_for()
    assert totals.locator("[data-figure=gross]").inner_text() == "22.49"
    assert totals.locator("[data-figure=refunds]").inner_text() == "0.00"
    assert totals.locator("[data-figure=net]").inner_text() == "22.49"

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"purchases_{first}_to_{last}.csv"
    with open(download.path(), newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    Path(download.path()).unlink()

    expected = {purchase.code: purchase for purchase in in_range}
    assert sorted(row["Code"] for row in rows) == sorted(expected)
    for row in rows:
        purchase = expected[row["Code"]]
        assert row["Currency"] == "EUR"
        assert Decimal(row["Amount"]) == purchase.amount
        assert row["Status"] == purchase.status
        assert row["Buyer e-mail"] == purchase.buyer.email
        assert row["Subscription code"] == purchase.subscription.code
        assert row["Payment type"] == purchase.payment_type
        created = row[f"Created ({timezone.get_current_timezone_name()})"]
        assert created.startswith(timezone.localdate(purchase.created_at).isoformat())

    # The same rows as a workbook: amounts as numbers, a frozen header.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download .xlsx").click()
    download = download_info.value
    assert download.suggested_filename == f"purchases_{first}_to_{last}.xlsx"
    with open(download.path(), "rb") as file:  # the download's own name has no extension
        sheet = load_workbook(file).active
    Path(download.path()).unlink()
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    amounts = {
        row[header.index("Code")]: row[header.index("Amount")]
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    for code, purchase in expected.items():
        assert Decimal(str(amounts[code])) == purchase.amount
    paid = sum(Decimal(row["Amount"]) for row in rows if row["Status"] == "completed")
    assert paid == Decimal("22.49")

    page.locator("a.navbar-brand").click()
    dashboard = page.get_by_test_id("dashboard")
    dashboard.wait_for()
    eur = page.get_by_test_id("revenue-EUR")
    assert eur.locator("[data-figure='30-days-gross']").inner_text() == "62.49"
    assert eur.locator("[data-figure='30-days-net']").inner_text() == "62.49"
    for currency in ("EUR", "USD"):
        chart = dashboard.get_by_role("img", name=f"Daily gross revenue in {currency}")
        chart.wait_for()
        assert chart.evaluate("node => node.tagName.toLowerCase()") == "svg"
        assert chart.locator("rect").count() == 30
    eur_bar = f"{today - timedelta(days=3)}: 12.50 EUR"
    assert eur_bar in dashboard.locator("svg.revenue-chart title").all_text_contents()
    dashboard.locator("svg.renewals-chart").wait_for()
    assert dashboard.locator("svg").count() == 3
    assert page.console_problems == []
