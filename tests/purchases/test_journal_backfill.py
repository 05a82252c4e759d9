"""The migration that backfills the journal from the rows that moved money before it existed:
it books what the services book today, and its sums equal their sources."""

import importlib
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from buyers import services as buyer_services
from purchases.journal.models import (
    REVENUE_KINDS,
    WALLET_KINDS,
    JournalDay,
    JournalDayZone,
    JournalEntry,
    Kind,
)
from purchases.renewals import renew_due_contracts
from purchases.services.cancellations import cancel_purchase, refund_purchase
from purchases.services.checkout import create_purchase
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer
from tests.purchases.journal_checks import assert_journal_matches_sources, journal_rows

pytestmark = pytest.mark.django_db

migration = importlib.import_module("purchases.migrations.0018_backfill_money_journal")


def shop_history(staff):
    """Every way money moves: card, payment-page and wallet sales, a trial, a declined card,
    renewals by card and wallet, refunds of sales and of renewals, top-ups, adjustments."""
    one_off, one_off_price = offer_for_sale(price="19.99", currency="USD")
    monthly, monthly_price = offer_for_sale(price="10.00", recurring=True)
    yen, yen_price = offer_for_sale(price="1500", currency="JPY")
    buy = create_purchase
    card = buy(
        buyer=BuyerFactory(),
        subscription=one_off,
        pricing_model=one_off_price,
        payment_type="sandbox_card",
        instrument="tok_approve",
        staff_user=staff,
    )
    refund_purchase(purchase=card, amount="4.99", reason="Late start", staff_user=staff)
    buy(
        buyer=BuyerFactory(),
        subscription=one_off,
        pricing_model=one_off_price,
        payment_type="sandbox_card",
        instrument="tok_decline",
    )
    wallet = wallet_buyer("5000", currency="JPY")
    paid_from_wallet = buy(
        buyer=wallet, subscription=yen, pricing_model=yen_price, payment_type="wallet"
    )
    refund_purchase(purchase=paid_from_wallet, amount="1500", reason="Twice", staff_user=staff)
    buyer_services.adjust_wallet(
        buyer=wallet, amount="-100", currency="JPY", reason="Fee", created_by=staff
    )
    renewing = [
        buy(
            buyer=BuyerFactory(),
            subscription=monthly,
            pricing_model=monthly_price,
            payment_type="sandbox_card",
            instrument="tok_approve",
        ),
        buy(
            buyer=wallet_buyer("100.00"),
            subscription=monthly,
            pricing_model=monthly_price,
            payment_type="wallet",
        ),
    ]
    renew_due_contracts(now=max(p.contract.next_bill_date for p in renewing))
    for purchase in renewing:
        cancel_purchase(purchase=purchase, mode="now", refund="full", staff_user=staff)
    monthly_price.trial_days = 14
    monthly_price.save()
    buy(
        buyer=BuyerFactory(),
        subscription=monthly,
        pricing_model=monthly_price,
        payment_type="sandbox_card",
        instrument="tok_approve",
    )


def wipe_journal():
    """As before the journal existed (TRUNCATE passes the append-only trigger, as migrating
    back to before the journal would drop its tables)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The foreign keys' deferred checks must run before a TRUNCATE in this transaction.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "TRUNCATE purchases_journalentry, purchases_journalday, purchases_journalshopday"
            )
        else:
            cursor.execute("DELETE FROM purchases_journalentry")
            cursor.execute("DELETE FROM purchases_journalday")
            cursor.execute("DELETE FROM purchases_journalshopday")
    JournalDayZone.objects.all().delete()


def run_backfill():
    migration.backfill(apps, SimpleNamespace(connection=connection))


def test_the_backfill_books_what_the_services_book(finance_user):
    shop_history(finance_user)
    live = journal_rows()
    live_corrects = sorted(
        JournalEntry.objects.filter(corrects__isnull=False).values_list(
            "refund", "corrects__kind", "corrects__amount"
        )
    )
    assert {row[1] for row in live} == {
        Kind.SALE,
        Kind.RENEWAL,
        Kind.REFUND,
        Kind.WALLET_TOP_UP,
        Kind.WALLET_PAYMENT,
        Kind.WALLET_REFUND,
        Kind.WALLET_ADJUSTMENT,
    }
    wipe_journal()
    run_backfill()
    # The old wallet ledger names only the purchase a refund to the wallet was for, not the
    # refund or the renewal charge: those links are the services' from now on.
    expected = sorted(
        (
            row[:8] + (None, None, None) + row[11:] if row[1] == Kind.WALLET_REFUND else row
            for row in live
        ),
        key=str,
    )
    assert journal_rows() == expected
    assert (
        sorted(
            JournalEntry.objects.filter(corrects__isnull=False).values_list(
                "refund", "corrects__kind", "corrects__amount"
            )
        )
        == live_corrects
    )
    assert_journal_matches_sources()
    assert JournalDayZone.objects.get().time_zone == "UTC"


def test_the_backfill_of_an_empty_shop_books_nothing():
    wipe_journal()
    run_backfill()
    assert JournalEntry.objects.count() == 0 and JournalDay.objects.count() == 0


def test_the_backfill_draws_unique_codes(finance_user):
    shop_history(finance_user)
    wipe_journal()
    run_backfill()
    codes = list(JournalEntry.objects.values_list("code", flat=True))
    assert len(set(codes)) == len(codes) > 10
    assert all(len(code) == 8 and code.isalnum() and code.isascii() for code in codes)


def test_the_backfilled_days_are_local_days(finance_user, settings):
    shop_history(finance_user)
    wipe_journal()
    settings.TIME_ZONE = "Pacific/Pago_Pago"  # UTC-11
    run_backfill()
    assert_journal_matches_sources()
    yen = JournalDay.objects.filter(currency="JPY")
    revenue = sum(yen.filter(kind__in=REVENUE_KINDS).values_list("amount", flat=True))
    wallet = sum(yen.filter(kind__in=WALLET_KINDS).values_list("amount", flat=True))
    assert (revenue, wallet) == (Decimal(0), Decimal(5000 - 1500 + 1500 - 100))


def comparable(value):
    """A raw database value as the ORM reads it (SQLite answers times as text or naive, and
    amounts as floats)."""
    if isinstance(value, str) and value[:4].isdigit() and value[4:5] == "-":
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    if isinstance(value, float | Decimal):
        return Decimal(str(value)).quantize(Decimal("0.0001"))
    return value


def test_the_sources_read_in_bulk_give_the_rows_the_services_book(finance_user):
    from purchases.journal.sources import rows_from_sources

    shop_history(finance_user)
    live = journal_rows()
    assert list(rows_from_sources(first_id=1)) == []  # everything is booked already
    wipe_journal()
    fields = (
        "booked_at",
        "kind",
        "amount",
        "currency",
        "buyer_id",
        "subscription_id",
        "pricing_model_id",
        "purchase_id",
        "contract_id",
        "renewal_charge_id",
        "refund_id",
        "wallet_entry_id",
        "payment_type",
        "gateway_reference",
        "created_by_id",
    )
    bulk = [
        tuple(comparable(row[name]) for name in fields) for row in rows_from_sources(first_id=1)
    ]
    # As for the backfill: the wallet ledger does not name a refund to the wallet's refund.
    expected = [
        row[:8] + (None, None, None) + row[11:] if row[1] == Kind.WALLET_REFUND else row
        for row in live
    ]
    assert sorted(bulk, key=str) == sorted(expected, key=str)


def test_booking_a_shop_from_its_sources_gives_the_services_journal(finance_user):
    from purchases.journal.sources import book_from_sources

    shop_history(finance_user)
    live = journal_rows()
    wipe_journal()
    assert book_from_sources() == len(live)
    expected = [
        row[:8] + (None, None, None) + row[11:] if row[1] == Kind.WALLET_REFUND else row
        for row in live
    ]
    assert journal_rows() == sorted(expected, key=str)
    assert_journal_matches_sources()
    assert book_from_sources() == 0  # what the journal has is not booked again
    # The id sequence moved past the rows booked with their ids: the services book on.
    buyer_services.top_up_wallet(buyer=BuyerFactory(), amount="5.00", currency="EUR")
    assert JournalEntry.objects.count() == len(live) + 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="codes from a seed in SQL")
def test_the_same_seed_books_the_same_codes(finance_user):
    from purchases.journal.sources import book_from_sources

    shop_history(finance_user)
    codes = []
    for _ in range(2):
        wipe_journal()
        book_from_sources(seed="generated-7")
        codes.append(sorted(JournalEntry.objects.values_list("code", "kind", "amount")))
    assert codes[0] == codes[1]
    assert all(len(code) == 8 and code.isalnum() for code, _, _ in codes[0])


def test_generated_data_is_booked_in_the_journal_as_the_services_book_it():
    from purchases.generator import generate_data
    from purchases.journal.sources import book_from_sources

    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    counts = generate_data(purchases=120, buyers=30, contracts=12, seed=5, now=now)
    assert counts.rows["journal entries"] == JournalEntry.objects.count() > 120
    assert_journal_matches_sources()
    kinds = set(JournalEntry.objects.values_list("kind", flat=True))
    assert {Kind.SALE, Kind.RENEWAL, Kind.REFUND, Kind.WALLET_TOP_UP} <= kinds
    # The same seed and `now` give the same journal, codes included.
    first = sorted(JournalEntry.objects.values_list("code", "kind", "amount", "booked_at"))
    wipe_journal()
    book_from_sources(seed=f"generate_data:5:{now.isoformat()}")
    assert sorted(JournalEntry.objects.values_list("code", "kind", "amount", "booked_at")) == first
