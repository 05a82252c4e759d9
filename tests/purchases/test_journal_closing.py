"""Closing a month, corrections in the open period, chargebacks."""

import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from purchases import errors
from purchases.journal import booking, services
from purchases.journal.days import rebuild_days
from purchases.journal.models import ClosedPeriod, JournalEntry, Kind
from purchases.models import ContractTransaction, Refund
from purchases.services.cancellations import refund_purchase
from purchases.services.checkout import create_purchase
from tests.purchases.factories import BuyerFactory, offer_for_sale
from tests.purchases.journal_checks import assert_journal_matches_sources

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    rebuild_days()


def bought_at(moment, price="20.00", staff=None):
    """A card purchase completed at `moment` (the clock set back to it)."""
    subscription, pricing_model = offer_for_sale(price=price)
    real_now = timezone.now
    timezone.now = lambda: moment
    try:
        return create_purchase(
            buyer=BuyerFactory(),
            subscription=subscription,
            pricing_model=pricing_model,
            payment_type="sandbox_card",
            instrument="tok_approve",
            staff_user=staff,
        )
    finally:
        timezone.now = real_now


def local(*args):
    return datetime(*args, tzinfo=BERLIN)


def last_month():
    return (timezone.localdate(timezone.now(), BERLIN).replace(day=1) - timedelta(days=1)).replace(
        day=1
    )


def test_closing_a_month_stores_its_totals_and_later_refunds_land_in_the_open_month(
    finance_user,
):
    month = last_month()
    purchase = bought_at(local(month.year, month.month, 1, 0, 30))  # 23:30 UTC the day before
    bought_at(local(month.year, month.month, 2, 12), price="5.00")
    period = services.close_month(month=month, closed_by=finance_user)
    assert (period.first_day, period.ends_at) == (
        month,
        local(*(services.month_bounds(month)[1] + timedelta(days=1)).timetuple()[:3]),
    )
    totals = {(t.currency, t.kind): (t.amount, t.entries) for t in period.totals.all()}
    assert totals == {("EUR", Kind.SALE): (Decimal("25.00"), 2)}
    refund = refund_purchase(purchase=purchase, amount="20.00", reason="Late", staff_user=None)
    assert JournalEntry.objects.get(refund=refund).booked_at > period.ends_at
    # The closed month's figures are as they were when it was closed.
    assert services.period_totals(period.first_day, period.last_day) == [
        {
            "currency": "EUR",
            "kind": Kind.SALE,
            "payment_type": "sandbox_card",
            "amount": Decimal("25.00"),
            "entries": 2,
        }
    ]
    assert_journal_matches_sources()


def test_the_first_close_covers_everything_booked_before_it(finance_user):
    month = last_month()
    bought_at(local(month.year, month.month, 3, 9) - timedelta(days=70))
    period = services.close_month(month=month, closed_by=finance_user)
    assert period.first_day < month and period.totals.get().amount == Decimal("20.00")


def test_nothing_may_be_booked_inside_a_closed_month(finance_user):
    month = last_month()
    services.close_month(month=month, closed_by=finance_user)
    purchase = bought_at(timezone.now())
    refund = Refund.objects.create(
        purchase=purchase,
        amount=Decimal("1.00"),
        currency="EUR",
        method="sandbox_card",
        created_at=local(month.year, month.month, 15, 12),  # dated back into the closed month
    )
    with pytest.raises(errors.PeriodClosed, match="closed until"):
        booking.book([booking.refund_entry(refund)])
    assert list(JournalEntry.objects.values_list("kind", flat=True)) == [Kind.SALE]


@pytest.mark.parametrize(
    ("month", "message"),
    [
        (date.today(), "has not ended yet"),
        (date.today() + timedelta(days=40), "has not ended yet"),
    ],
)
def test_a_month_that_has_not_ended_cannot_be_closed(finance_user, month, message):
    with pytest.raises(errors.PeriodNotClosable, match=message):
        services.close_month(month=month, closed_by=finance_user)
    assert ClosedPeriod.objects.count() == 0


def test_months_close_in_order_and_once(finance_user):
    month = last_month()
    earlier = (month - timedelta(days=1)).replace(day=1)
    services.close_month(month=earlier, closed_by=finance_user)
    with pytest.raises(errors.PeriodNotClosable, match="already closed"):
        services.close_month(month=earlier, closed_by=finance_user)
    services.close_month(month=month, closed_by=finance_user)
    two_back = (earlier - timedelta(days=1)).replace(day=1)
    with pytest.raises(errors.PeriodNotClosable, match="already closed"):
        services.close_month(month=two_back, closed_by=finance_user)
    assert ClosedPeriod.objects.count() == 2


def test_a_month_waiting_for_renewal_answers_cannot_be_closed(finance_user):
    from tests.purchases.bulk import due_contracts

    month = last_month()
    due_contracts(1)
    from purchases.models import RecurringContract

    contract = RecurringContract.objects.get()
    ContractTransaction.objects.create(
        contract=contract,
        period=2,
        idempotency_key="contract:x:period:2:attempt:1",
        payment_pref="sandbox_card",
        transaction_date=local(month.year, month.month, 28, 23, 59),
        amount=Decimal("10.00"),
        currency="EUR",
    )
    with pytest.raises(errors.PeriodNotClosable, match="1 renewal charge is dated"):
        services.close_month(month=month, closed_by=finance_user)


def test_a_correction_is_booked_now_naming_the_row_it_corrects(finance_user):
    month = last_month()
    bought_at(local(month.year, month.month, 10, 12))
    services.close_month(month=month, closed_by=finance_user)
    sale = JournalEntry.objects.get(kind=Kind.SALE)
    correction = services.book_correction(
        original=sale, amount="-0.50", reason="Gateway settled 19.50", staff_user=finance_user
    )
    assert correction.kind == Kind.CORRECTION and correction.corrects == sale
    assert correction.amount == Decimal("-0.50") and correction.booked_at > timezone.now() - (
        timedelta(minutes=1)
    )
    assert (correction.purchase, correction.payment_type) == (sale.purchase, "sandbox_card")
    assert ClosedPeriod.objects.get().totals.get().amount == Decimal("20.00")


@pytest.mark.parametrize(
    ("amount", "reason", "message"),
    [
        ("0", "Why", "other than zero"),
        ("abc", "Why", "Enter an amount"),
        ("0.001", "Why", "fewer decimal places"),
        ("1e12", "Why", "too large"),
        ("NaN", "Why", "other than zero"),
        ("1.00", "  ", "Say why"),
    ],
)
def test_a_correction_with_bad_input_is_refused_and_books_nothing(
    finance_user, amount, reason, message
):
    bought_at(timezone.now())
    sale = JournalEntry.objects.get()
    with pytest.raises(errors.CorrectionRefused, match=message):
        services.book_correction(
            original=sale, amount=amount, reason=reason, staff_user=finance_user
        )
    assert JournalEntry.objects.count() == 1


def test_a_wallet_row_is_corrected_by_a_wallet_adjustment_not_a_correction(finance_user):
    from buyers.services import top_up_wallet

    top_up_wallet(buyer=BuyerFactory(), amount="5.00", currency="EUR")
    with pytest.raises(errors.NotCorrectable, match="adjusting the buyer's e-wallet"):
        services.book_correction(
            original=JournalEntry.objects.get(), amount="1", reason="x", staff_user=finance_user
        )


def test_a_chargeback_reverses_at_most_what_is_left_of_the_charge(finance_user):
    purchase = bought_at(timezone.now())
    refund_purchase(purchase=purchase, amount="5.00", reason="Part", staff_user=finance_user)
    chargeback = services.book_chargeback(
        purchase=purchase, amount="15.00", gateway_reference="CB123", reason="Fraud claim"
    )
    assert chargeback.amount == Decimal("-15.00") and chargeback.kind == Kind.CHARGEBACK
    assert chargeback.corrects == JournalEntry.objects.get(kind=Kind.SALE)
    with pytest.raises(errors.CorrectionRefused, match="At most 0.00 EUR"):
        services.book_chargeback(purchase=purchase, amount="0.01", gateway_reference="CB124")
    assert JournalEntry.objects.filter(kind=Kind.CHARGEBACK).count() == 1


def test_the_daily_totals_can_be_checked_and_rebuilt_for_another_time_zone(settings):
    bought_at(local(2026, 3, 28, 23, 30))  # already the 29th in Kiritimati (UTC+14)
    out = io.StringIO()
    call_command("rebuild_journal_days", "--check", stdout=out)
    assert "equal the journal" in out.getvalue()
    settings.TIME_ZONE = "Pacific/Kiritimati"
    with pytest.raises(SystemExit):
        call_command("rebuild_journal_days", "--check", stdout=out, stderr=io.StringIO())
    assert "2026-03-28" in out.getvalue()
    call_command("rebuild_journal_days", stdout=out)
    call_command("rebuild_journal_days", "--check", stdout=out)
    assert_journal_matches_sources()
