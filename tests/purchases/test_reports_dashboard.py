"""The finance dashboard on the home page: figures per currency, server-drawn charts, and who
sees it."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from purchases.models import Purchase
from tests.buyers.factories import AccessFactory, BuyerFactory
from tests.purchases.factories import offer_for_sale
from tests.purchases.test_reports import make_purchase, refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def recent_sales():
    now = timezone.now()
    eur = offer_for_sale(price="10.00", currency="EUR")
    jpy = offer_for_sale(price="1500", currency="JPY")
    make_purchase(created_at=now - timedelta(minutes=1), offer=eur)
    make_purchase(created_at=now - timedelta(minutes=2), offer=eur, discount="2.50")
    make_purchase(created_at=now - timedelta(minutes=3), offer=eur, status="failed")
    make_purchase(created_at=now - timedelta(days=10), offer=jpy, currency="JPY", price="1500")
    make_purchase(created_at=now - timedelta(days=45), offer=eur)  # only in the 90-day chart
    refunded = make_purchase(created_at=now - timedelta(days=5), offer=eur, status="refunded")
    refund(refunded, "10.00")
    AccessFactory()
    AccessFactory(revoked_at=now)


def home(client, **query):
    response = client.get(reverse("home"), query)
    assert response.status_code == 200
    return response


def test_finance_sees_gross_refunds_and_net_today_and_over_30_days(
    client, finance_user, recent_sales
):
    client.force_login(finance_user)
    response = home(client)
    dashboard = response.context["dashboard"]
    figures = {f.currency: f for f in dashboard["currencies"]}
    today = timezone.localdate()
    eur = figures["EUR"]
    if (timezone.localtime() - timedelta(minutes=3)).date() == today:  # not just after midnight
        # The refund given today counts today, though its purchase was 5 days ago.
        assert (eur.today.gross, eur.today.refunds, eur.today.net, eur.today.sales_count) == (
            Decimal("17.50"),
            Decimal("10.00"),
            Decimal("7.50"),
            2,
        )
    month = eur.last_30_days
    assert (month.gross, month.refunds, month.net, month.sales_count) == (
        Decimal("27.50"),
        Decimal("10.00"),
        Decimal("17.50"),
        3,
    )
    assert figures["JPY"].last_30_days.net == Decimal(1500)
    assert dashboard["sales_30_days"] == 4
    assert dashboard["new_buyers_30_days"] == BuyerFactory._meta.model.objects.count()
    assert dashboard["active_accesses"] == 1
    page = response.content.decode()
    assert '<th class="text-end">Refunds</th>' in page and "1,500" in page


def test_the_chart_is_svg_with_a_bar_per_day(client, finance_user, recent_sales):
    client.force_login(finance_user)
    page = home(client).content.decode()
    charts = re.findall(r"<svg class=\"revenue-chart\".*?</svg>", page, re.S)
    assert len(charts) == 2  # EUR and JPY
    assert all(chart.count("<rect ") == 30 for chart in charts)
    page_90 = home(client, days="90").content.decode()
    charts_90 = re.findall(r"<svg class=\"revenue-chart\".*?</svg>", page_90, re.S)
    assert all(chart.count("<rect ") == 90 for chart in charts_90)
    assert "10.00 EUR</title>" in charts_90[0]  # the purchase 45 days ago
    assert home(client, days="lots").context["dashboard"]["days"] == 30
    assert home(client, days="7").context["dashboard"]["days"] == 30


def test_the_dashboard_is_csp_clean(client, finance_user, recent_sales):
    client.force_login(finance_user)
    page = home(client).content.decode()
    assert " style=" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\son[a-z]+=", page)


def test_the_dashboard_runs_a_fixed_number_of_queries(
    client, finance_user, recent_sales, django_assert_max_num_queries
):
    client.force_login(finance_user)
    with django_assert_max_num_queries(12) as few:
        home(client)
    eur = offer_for_sale(price="10.00", currency="EUR")
    for day in range(20):
        make_purchase(created_at=timezone.now() - timedelta(days=day), offer=eur)
    with django_assert_max_num_queries(12) as many:
        home(client)
    assert len(few.captured_queries) == len(many.captured_queries)


def test_shop_staff_see_the_areas_but_no_money(client, staff_user, recent_sales):
    client.force_login(staff_user)
    response = home(client)
    assert "dashboard" not in response.context
    page = response.content.decode()
    assert 'data-testid="dashboard"' not in page
    assert reverse("purchases:list") in page  # the navigation cards stay


def test_no_purchases_says_so(client, finance_user):
    client.force_login(finance_user)
    page = home(client).content.decode()
    assert "No money moved in the last 30 days." in page
    assert Purchase.objects.count() == 0
