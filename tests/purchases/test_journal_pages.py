"""Finance's journal pages: the journal list with its totals and export, an entry, corrections,
closing a month; who may open them."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from buyers import services as buyer_services
from purchases.journal.models import ClosedPeriod, JournalEntry, Kind
from purchases.services.cancellations import refund_purchase
from purchases.services.checkout import create_purchase
from tests.purchases.factories import BuyerFactory, offer_for_sale

pytestmark = pytest.mark.django_db

JOURNAL = reverse("purchases:reports:journal")


def buy(price="30.00", currency="EUR", **kwargs):
    subscription, pricing_model = offer_for_sale(price=price, currency=currency)
    return create_purchase(
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="sandbox_card",
        instrument="tok_approve",
        **kwargs,
    )


@pytest.fixture
def shop(finance_user, staff_user):
    purchase = buy()
    refund_purchase(purchase=purchase, amount="7.50", reason="Late", staff_user=finance_user)
    buy("1500", "JPY")
    buyer_services.top_up_wallet(
        buyer=BuyerFactory(), amount="40.00", currency="EUR", created_by=staff_user
    )
    return purchase


def exported(client, **query):
    response = client.get(JOURNAL, {**query, "export": "csv"})
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_only_finance_opens_the_journal(client, staff_user, finance_user, shop):
    client.force_login(staff_user)
    assert client.get(JOURNAL).status_code == 403
    assert client.get(reverse("purchases:reports:reconciliation")).status_code == 403
    assert client.get(reverse("purchases:reports:closed_periods")).status_code == 403
    client.force_login(finance_user)
    page = client.get(JOURNAL)
    assert page.status_code == 200
    assert len(page.context["table"].page.object_list) == 4


def test_the_totals_are_the_revenue_of_the_filtered_rows_and_the_export_adds_up_to_them(
    client, finance_user, shop
):
    client.force_login(finance_user)
    today = timezone.localdate().isoformat()
    query = {"booked_min": today, "booked_max": today, "currency": "EUR"}
    (eur,) = client.get(JOURNAL, query).context["totals"]
    assert (eur.gross, eur.refunds, eur.net, eur.wallet_top_ups) == (
        Decimal("30.00"),
        Decimal("7.50"),
        Decimal("22.50"),
        Decimal("40.00"),
    )
    rows = exported(client, **query)
    assert {row["Kind"] for row in rows} == {"sale", "refund", "wallet_top_up"}
    revenue = sum(Decimal(r["Amount"]) for r in rows if r["Kind"] in ("sale", "refund"))
    assert revenue == eur.net
    assert {row["Currency"] for row in rows} == {"EUR"}
    # A search is summed over its rows, with the same figures.
    (searched,) = client.get(JOURNAL, {**query, "q": shop.code}).context["totals"]
    assert (searched.gross, searched.refunds) == (Decimal("30.00"), Decimal("7.50"))


def test_the_export_names_every_link_of_a_row(client, finance_user, shop):
    client.force_login(finance_user)
    (refund,) = exported(client, kind="refund")
    entry = JournalEntry.objects.get(kind=Kind.REFUND)
    assert refund["Code"] == entry.code and refund["Amount"] == "-7.50"
    assert refund["Purchase"] == shop.code and refund["Refund"] == entry.refund.code
    assert refund["Corrects"] == JournalEntry.objects.get(purchase=shop, kind="sale").code
    assert refund["By"] == finance_user.username and refund["Reason"] == "Late"
    assert refund["Buyer e-mail"] == shop.buyer.email


def test_the_ledger_filter_keeps_revenue_and_e_wallets_apart(client, finance_user, shop):
    client.force_login(finance_user)
    revenue = client.get(JOURNAL, {"ledger": "revenue"}).context
    assert {row.record.kind for row in revenue["table"].page.object_list} == {"sale", "refund"}
    wallet = client.get(JOURNAL, {"ledger": "wallet"}).context
    (eur,) = wallet["totals"]
    assert (eur.gross, eur.wallet_top_ups) == (Decimal(0), Decimal("40.00"))


def test_bad_filters_show_a_message_and_no_500(client, finance_user, shop):
    client.force_login(finance_user)
    response = client.get(JOURNAL, {"booked_min": "not a day", "kind": "nonsense"})
    assert response.status_code == 200
    assert response.context["totals"] is None


def test_an_entry_page_shows_what_it_belongs_to_and_finance_books_a_correction(
    client, finance_user, shop
):
    client.force_login(finance_user)
    sale = JournalEntry.objects.get(kind=Kind.SALE, purchase=shop)
    page = client.get(reverse("purchases:reports:journal_entry", args=[sale.code]))
    assert page.status_code == 200 and shop.code in page.content.decode()
    url = reverse("purchases:reports:journal_correct", args=[sale.code])
    refused = client.post(url, {"amount": "0.001", "reason": "Settled less"})
    assert "fewer decimal places" in refused.content.decode()
    response = client.post(url, {"amount": "-0.50", "reason": "Settled less"})
    correction = JournalEntry.objects.get(kind=Kind.CORRECTION)
    assert response.status_code == 302 and correction.corrects == sale
    page = client.get(reverse("purchases:reports:journal_entry", args=[sale.code]))
    assert correction.code in page.content.decode()


def test_an_e_wallet_row_offers_no_correction(client, finance_user, shop):
    client.force_login(finance_user)
    top_up = JournalEntry.objects.get(kind=Kind.WALLET_TOP_UP)
    page = client.get(reverse("purchases:reports:journal_entry", args=[top_up.code]))
    assert page.context["can_correct"] is False
    response = client.post(
        reverse("purchases:reports:journal_correct", args=[top_up.code]),
        {"amount": "1", "reason": "x"},
    )
    assert "adjusting the buyer's e-wallet" in response.context["form"].non_field_errors()[0]
    assert not JournalEntry.objects.filter(kind=Kind.CORRECTION).exists()


def test_finance_closes_last_month_on_its_page(client, finance_user):
    client.force_login(finance_user)
    url = reverse("purchases:reports:closed_periods")
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    response = client.post(url, {"month": last_month.strftime("%Y-%m")})
    assert response.status_code == 302
    assert ClosedPeriod.objects.get().first_day == last_month
    again = client.post(url, {"month": last_month.strftime("%Y-%m")})
    assert "already closed" in again.content.decode()
    bad = client.post(url, {"month": "2999-01"})
    assert bad.status_code == 200 and ClosedPeriod.objects.count() == 1


def test_shop_staff_cannot_close_or_correct(client, staff_user, shop):
    client.force_login(staff_user)
    sale = JournalEntry.objects.filter(kind=Kind.SALE).first()
    assert (
        client.post(
            reverse("purchases:reports:journal_correct", args=[sale.code]),
            {"amount": "1", "reason": "x"},
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("purchases:reports:closed_periods"), {"month": "2020-01"}).status_code
        == 403
    )
    assert ClosedPeriod.objects.count() == 0


def test_the_journal_list_query_count_does_not_grow(
    client, finance_user, django_assert_max_num_queries
):
    for _ in range(12):
        buy()
    client.force_login(finance_user)
    with django_assert_max_num_queries(14) as five:
        client.get(JOURNAL, {"per_page": 5})
    with django_assert_max_num_queries(14) as fifty:
        client.get(JOURNAL, {"per_page": 50})
    assert len(five.captured_queries) == len(fifty.captured_queries)
