"""Reading money from the journal: what counts as revenue, and days read the same as rows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from buyers import services as buyer_services
from purchases.journal import selectors
from purchases.journal.booking import shop_zone
from purchases.journal.models import JournalDayZone
from purchases.renewals import renew_due_contracts
from purchases.services.cancellations import refund_purchase
from purchases.services.checkout import create_purchase
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer

pytestmark = pytest.mark.django_db


def buy(payment_type, price, *, currency="EUR", recurring=False, buyer=None):
    subscription, pricing_model = offer_for_sale(
        price=price, currency=currency, recurring=recurring
    )
    return create_purchase(
        buyer=buyer or BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type=payment_type,
        instrument="tok_approve" if payment_type != "wallet" else "",
    )


def today():
    return timezone.localdate(timezone.now(), shop_zone())


@pytest.fixture
def shop(finance_user):
    """Today: a card sale (30), a wallet sale (20, after a 50 top-up), a refund (5) of the card
    sale, a recurring card sale (10) and a 7.50 USD sale; a month on: its renewal (10)."""
    card = buy("sandbox_card", "30.00")
    buy("wallet", "20.00", buyer=wallet_buyer("50.00"))
    refund_purchase(purchase=card, amount="5.00", reason="Late", staff_user=finance_user)
    renewing = buy("sandbox_card", "10.00", recurring=True)
    buy("sandbox_card", "7.50", currency="USD")
    renew_due_contracts(now=renewing.contract.next_bill_date)
    return renewing


def test_revenue_is_sales_and_renewals_less_refunds_and_wallet_top_ups_are_not_revenue(shop):
    end = shop.contract.transactions.get().transaction_date.astimezone(shop_zone()).date()
    eur, usd = selectors.money(today(), end, grouping=None)
    assert (eur.currency, eur.sales, eur.renewals, eur.refunds) == (
        "EUR",
        Decimal("60.00"),
        Decimal("10.00"),
        Decimal("5.00"),
    )
    assert (eur.gross, eur.net, eur.from_wallet) == (
        Decimal("70.00"),
        Decimal("65.00"),
        Decimal("20.00"),
    )
    assert eur.wallet_top_ups == Decimal("50.00")
    assert (eur.sales_count, eur.renewals_count, eur.refunds_count) == (3, 1, 1)
    assert (usd.currency, usd.gross, usd.net) == ("USD", Decimal("7.50"), Decimal("7.50"))


@pytest.mark.parametrize("grouping", ["period", "subscription", "payment_type", None])
@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_the_daily_totals_and_the_rows_give_the_same_figures(shop, grouping, period):
    start, end = today() - timedelta(days=40), today() + timedelta(days=40)
    from_days = selectors.money(start, end, grouping=grouping, period=period)
    JournalDayZone.objects.all().delete()  # as right after SHOP_TIME_ZONE changed
    from_rows = selectors.money(start, end, grouping=grouping, period=period)
    assert from_rows == from_days and from_days


def test_money_filters_by_subscription_currency_and_payment_type(shop):
    rows = selectors.money(today(), today(), grouping=None, subscription=shop.subscription)
    assert [(r.currency, r.gross) for r in rows] == [("EUR", Decimal("10.00"))]
    rows = selectors.money(today(), today(), grouping="payment_type", currency="EUR")
    assert [(r.key, r.gross, r.refunds) for r in rows] == [
        (("sandbox_card",), Decimal("40.00"), Decimal("5.00")),
        (("wallet",), Decimal("20.00"), Decimal(0)),
    ]
    assert selectors.money(today(), today(), grouping=None, payment_type="sandbox_paypal") == []


def test_money_of_rows_agrees_with_money_of_days(shop):
    from purchases.journal.models import JournalEntry

    by_rows = selectors.money_of_entries(JournalEntry.objects.all())
    by_days = selectors.money(
        today() - timedelta(days=40), today() + timedelta(days=40), grouping=None
    )
    assert by_rows == by_days


def test_a_wallet_adjustment_is_shown_beside_revenue_not_in_it(staff_user):
    buyer = BuyerFactory()
    buyer_services.top_up_wallet(buyer=buyer, amount="30", currency="EUR", created_by=staff_user)
    buyer_services.adjust_wallet(
        buyer=buyer, amount="-4", currency="EUR", reason="Fee", created_by=staff_user
    )
    (row,) = selectors.money(today(), today(), grouping=None)
    assert (row.gross, row.net, row.wallet_top_ups, row.wallet_adjustments) == (
        Decimal(0),
        Decimal(0),
        Decimal(30),
        Decimal(-4),
    )
