"""The money journal: every movement of money is one row, written with it, never changed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from buyers import services as buyer_services
from buyers.models import WalletEntry
from purchases import errors
from purchases.gateways import get_gateway
from purchases.journal import booking
from purchases.journal.models import JournalDay, JournalEntry, Kind
from purchases.models import ContractTransaction, Purchase, RecurringContract, Refund
from purchases.renewals import renew_due_contracts
from purchases.services.cancellations import cancel_purchase, refund_purchase
from purchases.services.checkout import _charge_and_settle, create_purchase
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer
from tests.purchases.journal_checks import assert_journal_matches_sources
from tests.subscriptions.factories import CouponFactory

pytestmark = pytest.mark.django_db


def buy(payment_type="sandbox_card", price="30.00", recurring=False, buyer=None, **kwargs):
    subscription, pricing_model = offer_for_sale(price=price, recurring=recurring)
    if buyer is None:
        buyer = wallet_buyer("100.00") if payment_type == "wallet" else BuyerFactory()
    return create_purchase(
        buyer=buyer,
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type=payment_type,
        instrument="tok_approve" if payment_type == "sandbox_card" else "",
        **kwargs,
    )


def test_a_card_purchase_books_one_sale_with_everything_finance_needs(staff_user):
    purchase = buy(staff_user=staff_user)
    entry = JournalEntry.objects.get(kind=Kind.SALE)
    assert len(entry.code) == 8
    assert entry.booked_at == purchase.completed_at
    assert (entry.amount, entry.currency) == (Decimal("30.00"), "EUR")
    assert (entry.buyer, entry.subscription, entry.pricing_model, entry.purchase) == (
        purchase.buyer,
        purchase.subscription,
        purchase.pricing_model,
        purchase,
    )
    assert entry.payment_type == "sandbox_card"
    assert entry.gateway_reference == purchase.gateway_reference != ""
    assert entry.created_by == staff_user
    assert_journal_matches_sources()


def test_a_wallet_purchase_is_revenue_and_a_payment_out_of_the_prepaid_balance():
    purchase = buy("wallet")
    top_up, payment, sale = JournalEntry.objects.order_by("pk")
    assert (top_up.kind, top_up.amount, top_up.payment_type) == (
        Kind.WALLET_TOP_UP,
        Decimal("100.00"),
        "wallet",
    )
    assert (payment.kind, payment.amount) == (Kind.WALLET_PAYMENT, Decimal("-30.00"))
    assert payment.wallet_entry == WalletEntry.objects.get(kind="purchase")
    assert payment.purchase == purchase and payment.subscription == purchase.subscription
    assert (sale.kind, sale.amount, sale.payment_type) == (Kind.SALE, Decimal("30.00"), "wallet")
    assert sale.is_revenue and not payment.is_revenue and not top_up.is_revenue
    assert_journal_matches_sources()


def test_a_purchase_that_moves_no_money_books_nothing():
    subscription, pricing_model = offer_for_sale(price="10.00", recurring=True)
    pricing_model.trial_days = 7
    pricing_model.save()
    trial = create_purchase(
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="sandbox_card",
        instrument="tok_approve",
    )
    assert trial.status == Purchase.Status.COMPLETED and trial.amount == 0
    subscription, pricing_model = offer_for_sale(price="10.00")
    failed = create_purchase(
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="sandbox_card",
        instrument="tok_decline",
    )
    assert failed.status == Purchase.Status.FAILED
    assert JournalEntry.objects.count() == 0
    assert JournalDay.objects.count() == 0


def test_a_refund_is_booked_when_it_happens_negative_and_naming_the_charge(finance_user):
    purchase = buy()
    refund = refund_purchase(
        purchase=purchase, amount="12.50", reason="Bad stream", staff_user=finance_user
    )
    sale = JournalEntry.objects.get(kind=Kind.SALE)
    entry = JournalEntry.objects.get(kind=Kind.REFUND)
    assert entry.amount == Decimal("-12.50") and entry.booked_at == refund.created_at
    assert entry.refund == refund and entry.corrects == sale and entry.purchase == purchase
    assert entry.created_by == finance_user and entry.reason == "Bad stream"
    assert entry.gateway_reference == refund.gateway_reference != ""
    assert_journal_matches_sources()


def test_a_refund_to_the_wallet_is_a_refund_and_a_credit_of_the_balance(finance_user):
    purchase = buy("wallet")
    refund_purchase(purchase=purchase, amount="30.00", reason="Duplicate", staff_user=finance_user)
    refund = JournalEntry.objects.get(kind=Kind.REFUND)
    credit = JournalEntry.objects.get(kind=Kind.WALLET_REFUND)
    assert refund.amount == Decimal("-30.00") and refund.payment_type == "wallet"
    assert credit.amount == Decimal("30.00") and credit.refund == refund.refund
    assert credit.created_by == finance_user
    assert_journal_matches_sources()


def test_a_renewal_charge_and_its_refund_are_booked_against_the_renewal(finance_user):
    purchase = buy(recurring=True, price="10.00")
    contract = purchase.contract
    renew_due_contracts(now=contract.next_bill_date)
    charge = ContractTransaction.objects.get(status="approved")
    renewal = JournalEntry.objects.get(kind=Kind.RENEWAL)
    assert renewal.renewal_charge == charge and renewal.contract == contract
    assert renewal.booked_at == charge.transaction_date and renewal.amount == Decimal("10.00")
    assert renewal.gateway_reference == charge.pnref and renewal.purchase == purchase
    cancel_purchase(purchase=purchase, mode="now", refund="full", staff_user=finance_user)
    refund = JournalEntry.objects.get(kind=Kind.REFUND)
    assert refund.renewal_charge == charge and refund.corrects == renewal
    assert refund.amount == Decimal("-10.00")
    assert_journal_matches_sources()


def test_renewals_paid_from_the_wallet_book_the_payment_and_the_revenue():
    buyer = wallet_buyer("100.00")
    purchase = buy("wallet", recurring=True, price="10.00", buyer=buyer)
    renew_due_contracts(now=purchase.contract.next_bill_date)
    charge = ContractTransaction.objects.get(status="approved")
    payment = JournalEntry.objects.filter(kind=Kind.WALLET_PAYMENT).order_by("pk").last()
    assert payment.renewal_charge_id == charge.pk and payment.contract == purchase.contract
    renewal = JournalEntry.objects.get(kind=Kind.RENEWAL)
    assert renewal.payment_type == "wallet" and renewal.gateway_reference == ""
    assert_journal_matches_sources()


def test_many_renewals_in_one_run_are_each_booked_once():
    purchases = [buy(recurring=True, price="10.00") for _ in range(5)]
    due = max(p.contract.next_bill_date for p in purchases)
    renew_due_contracts(now=due, batch_size=2)
    renew_due_contracts(now=due, batch_size=2)  # nothing left: nothing booked twice
    assert JournalEntry.objects.filter(kind=Kind.RENEWAL).count() == 5
    assert_journal_matches_sources()


def test_wallet_top_ups_and_adjustments_say_who_made_them(staff_user):
    buyer = BuyerFactory()
    buyer_services.top_up_wallet(buyer=buyer, amount="20.00", currency="USD", created_by=staff_user)
    buyer_services.adjust_wallet(
        buyer=buyer, amount="-5.00", currency="USD", reason="Fee", created_by=staff_user
    )
    top_up, adjustment = JournalEntry.objects.order_by("pk")
    assert (top_up.kind, top_up.amount, top_up.created_by) == (
        Kind.WALLET_TOP_UP,
        Decimal("20.00"),
        staff_user,
    )
    assert (adjustment.kind, adjustment.amount, adjustment.reason) == (
        Kind.WALLET_ADJUSTMENT,
        Decimal("-5.00"),
        "Fee",
    )
    assert top_up.subscription is None and not top_up.is_revenue
    assert_journal_matches_sources()


def test_money_moved_through_the_api_names_its_key():
    with booking.api_key("AbCd1234"):
        buy()
    assert JournalEntry.objects.get().api_key == "AbCd1234"


def test_a_purchase_that_cannot_complete_after_the_charge_books_the_charge_and_its_return():
    subscription, pricing_model = offer_for_sale(price="10.00")
    # Used up by another purchase between this one's quote and its completion.
    coupon = CouponFactory(code="ONCE", use_limit=1, uses=1)
    buyer = BuyerFactory()
    purchase = Purchase.objects.create(
        buyer=buyer,
        subscription=subscription,
        pricing_model=pricing_model,
        list_price=Decimal("10.00"),
        discount=Decimal("1.00"),
        amount=Decimal("9.00"),
        currency="EUR",
        coupon=coupon,
        payment_type="sandbox_card",
        instrument="tok_approve",
        expires_at=timezone.now() + timedelta(minutes=30),
    )
    failed = _charge_and_settle(purchase, get_gateway("sandbox_card"))
    assert failed.status == Purchase.Status.FAILED
    amounts = sorted(JournalEntry.objects.values_list("kind", "amount"))
    assert amounts == [(Kind.REFUND, Decimal("-9.00")), (Kind.SALE, Decimal("9.00"))]
    assert_journal_matches_sources()


def test_journal_entries_are_never_changed_or_deleted_through_the_orm():
    buy()
    entry = JournalEntry.objects.get()
    entry.amount = Decimal("1.00")
    with pytest.raises(ValueError, match="never changed"):
        entry.save()
    with pytest.raises(ValueError, match="never deleted"):
        entry.delete()
    with pytest.raises(ValueError, match="never changed"):
        JournalEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1.00"))
    with pytest.raises(ValueError, match="never deleted"):
        JournalEntry.objects.all().delete()
    entry.refresh_from_db()
    assert entry.amount == Decimal("30.00")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE purchases_journalentry SET amount = 1",
        "DELETE FROM purchases_journalentry",
    ],
)
def test_the_database_refuses_to_change_or_delete_journal_rows(statement):
    buy()
    refused = pytest.raises(IntegrityError, match="never changed or deleted")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert JournalEntry.objects.get().amount == Decimal("30.00")


def test_a_booking_dated_inside_a_closed_month_is_refused_and_writes_nothing(finance_user):
    from purchases.journal.services import close_month

    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    close_month(month=last_month, closed_by=finance_user)
    purchase = buy()
    late = booking.sale_entry(purchase, booked_at=timezone.now() - timedelta(days=40))
    late.purchase = None  # a second row for the same purchase would break its own rule
    with pytest.raises(errors.PeriodClosed, match="closed until"), transaction.atomic():
        booking.book([late])
    assert JournalEntry.objects.count() == 1
    assert_journal_matches_sources()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_a_row_dated_inside_a_closed_period(finance_user):
    from purchases.journal.models import ClosedPeriod

    now = timezone.now()
    buy()
    ClosedPeriod.objects.create(
        first_day=(now - timedelta(days=40)).date(),
        last_day=(now - timedelta(days=10)).date(),
        time_zone="UTC",
        starts_at=now - timedelta(days=40),
        ends_at=now - timedelta(days=9),
        closed_by=finance_user,
        closed_at=now,
    )
    refused = pytest.raises(DatabaseError, match="books are closed")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO purchases_journalentry (code, booked_at, kind, amount, currency,"
            " buyer_id, payment_type, gateway_reference, api_key, reason)"
            " SELECT 'zzzzzzzz', now() - interval '20 days', kind, amount, currency,"
            " buyer_id, payment_type, '', '', '' FROM purchases_journalentry"
        )
    assert JournalEntry.objects.count() == 1


def test_a_movement_that_rolls_back_takes_its_journal_rows_with_it():
    buyer = BuyerFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        buyer_services.top_up_wallet(buyer=buyer, amount="20.00", currency="EUR")
        raise RuntimeError("the caller's transaction fails")
    assert JournalEntry.objects.count() == 0 and JournalDay.objects.count() == 0


def test_daily_totals_follow_every_booking_in_the_shops_time_zone(settings):
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: most days differ from UTC's
    from purchases.journal.days import rebuild_days

    rebuild_days()
    buy()
    buy("wallet")
    purchase = buy(recurring=True, price="10.00")
    renew_due_contracts(now=purchase.contract.next_bill_date)
    assert_journal_matches_sources()
    day = JournalDay.objects.get(kind=Kind.RENEWAL)
    assert (
        day.day
        == purchase.contract.transactions.get()
        .transaction_date.astimezone(booking.shop_zone())
        .date()
    )
    assert RecurringContract.objects.get().periods_paid == 2
    assert Refund.objects.count() == 0
