"""Plan change of a recurring contract (issue 19): a preview shows the credit for the unused time,
the new period's price and what is charged now; confirming charges exactly that through the
stored card (or the e-wallet), books one journal row each, moves the contract to the new pricing
model from the proration time, and tells the buyer; a scheduled change waits for the renewal.
Every refusal is named and changes nothing."""

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.utils import timezone

from buyers.models import WalletBalance
from core.models import Event
from core.outbox import relay_due
from purchases import errors
from purchases.contract_changes import ContractChange
from purchases.gateways import GATEWAYS
from purchases.journal.models import JournalEntry, Kind
from purchases.journal.reconciliation import reconcile
from purchases.models import RecurringContract, SandboxCharge
from purchases.recurrence import period_end
from purchases.renewals import renew_due_contracts
from purchases.services import plan_changes
from purchases.services.checkout import create_purchase
from purchases.services.plan_changes import change_plan, preview_plan_change, prorated_credit
from subscriptions.models import PricingModel
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer
from tests.purchases.journal_checks import assert_journal_matches_sources
from tests.subscriptions.factories import OfferFactory, PricingModelFactory

pytestmark = pytest.mark.django_db


def contract_with_plans(
    *, price="10.00", currency="EUR", other="30.00", unit="months", count=1, card="tok_approve"
):
    """A contract on a monthly plan of `price`, and another plan of `other` every `count`
    `unit` offered by the same subscription."""
    subscription, monthly = offer_for_sale(price=price, currency=currency, recurring=True)
    other_plan = PricingModelFactory(
        price=Decimal(other),
        currency=currency,
        recurring=True,
        recurrence_unit=unit,
        recurrence_count=count,
        title="Other plan",
    )
    OfferFactory(subscription=subscription, pricing_model=other_plan, is_default=False)
    buyer = wallet_buyer(balance="500", currency=currency) if card == "wallet" else BuyerFactory()
    purchase = create_purchase(
        buyer=buyer,
        subscription=subscription,
        pricing_model=monthly,
        payment_type="wallet" if card == "wallet" else "sandbox_card",
        instrument="" if card == "wallet" else card,
    )
    return purchase.contract, other_plan


def at_fraction(contract, fraction):
    """The moment `fraction` (a Fraction) of the contract's current period has passed, to the
    microsecond below."""
    start, end = plan_changes.current_period(contract)
    total = (end - start) // timedelta(microseconds=1)
    return start + timedelta(microseconds=total * fraction.numerator // fraction.denominator)


def state(contract):
    contract.refresh_from_db()
    return (
        contract.pricing_model_id,
        contract.amount,
        contract.next_bill_date,
        contract.periods_paid,
        contract.claimed_until,
        JournalEntry.objects.count(),
        ContractChange.objects.filter(status="applied").count(),
        SandboxCharge.objects.count(),
    )


# --- The money -------------------------------------------------------------------------------


def test_halfway_upgrade_credits_half_and_charges_the_new_period_less_the_credit():
    contract, yearly = contract_with_plans(price="10.00", other="100.00", unit="years")
    at = at_fraction(contract, Fraction(1, 2))
    preview = preview_plan_change(contract=contract, pricing_model=yearly, timing="now", at=at)
    assert (preview.credit, preview.charge, preview.charged_now, preview.to_wallet) == (
        Decimal("5.00"),
        Decimal("100.00"),
        Decimal("95.00"),
        Decimal("0"),
    )
    assert preview.next_bill_date == period_end(yearly, at, 1)

    change = change_plan(contract=contract, pricing_model=yearly, token=preview.token)

    contract.refresh_from_db()
    assert contract.pricing_model == yearly and contract.amount == Decimal("100.00")
    assert (contract.recurrence_unit, contract.recurrence_count) == ("years", 1)
    assert contract.next_bill_date == preview.next_bill_date and contract.claimed_until is None
    contract.access.refresh_from_db()
    assert contract.access.access_expire >= contract.next_bill_date
    # The card was charged exactly what the preview said, once.
    charge = SandboxCharge.objects.order_by("-pk").first()
    assert (charge.amount, charge.currency) == (Decimal("95.00"), "EUR")
    rows = JournalEntry.objects.filter(kind__in=[Kind.PLAN_CHARGE, Kind.PLAN_CREDIT])
    assert sorted((r.kind, r.amount) for r in rows) == [
        (Kind.PLAN_CHARGE, Decimal("100.0000")),
        (Kind.PLAN_CREDIT, Decimal("-5.0000")),
    ]
    assert {r.gateway_reference for r in rows} == {change.pnref} and change.pnref
    assert change.status == "applied" and change.charged_now == Decimal("95.00")
    assert_journal_matches_sources()


@pytest.mark.parametrize(
    ("currency", "price", "paid_fraction", "credit"),
    [
        ("EUR", "10.00", Fraction(1, 3), Decimal("6.66")),  # 6.666… rounded down
        ("JPY", "1000", Fraction(1, 3), Decimal("666")),  # 0 decimals
        ("KWD", "1.000", Fraction(1, 3), Decimal("0.666")),  # 3 decimals
        ("JPY", "999", Fraction(1, 2), Decimal("499")),  # 499.5 -> 499, never more
    ],
)
def test_proration_is_exact_in_the_currency_minor_units(currency, price, paid_fraction, credit):
    contract, other = contract_with_plans(price=price, currency=currency, other=price + "0")
    at = at_fraction(contract, paid_fraction)
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now", at=at)
    # The unused share is exact on whole microseconds, then rounded down to the minor unit.
    assert preview.credit == credit
    change = change_plan(contract=contract, pricing_model=other, token=preview.token)
    assert change.charged_now == Decimal(price + "0") - credit
    assert SandboxCharge.objects.order_by("-pk").first().amount == change.charged_now


def test_a_change_on_the_first_instant_credits_everything_paid():
    contract, other = contract_with_plans(price="10.00", other="12.00")
    start, _ = plan_changes.current_period(contract)
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now", at=start)
    assert (preview.credit, preview.charged_now) == (Decimal("10.00"), Decimal("2.00"))


def test_a_change_on_the_last_day_credits_the_little_left_and_starts_a_full_new_period():
    contract, other = contract_with_plans(price="31.00", other="62.00")
    _, end = plan_changes.current_period(contract)
    at = end - timedelta(hours=12)
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now", at=at)
    start, _ = plan_changes.current_period(contract)
    expected = prorated_credit(Decimal("31.00"), start, end, at, "EUR")
    assert Decimal("0.49") <= expected <= Decimal("0.53") and preview.credit == expected
    change_plan(contract=contract, pricing_model=other, token=preview.token)
    contract.refresh_from_db()
    assert contract.next_bill_date == period_end(other, at, 1)
    # The renewal engine bills the new plan at its new date, not at the old period's end.
    assert renew_due_contracts(now=end).renewed == 0
    run = renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    assert run.renewed == 1 and contract.transactions.get().amount == Decimal("62.00")
    assert contract.next_bill_date == period_end(other, at, 2)


def test_a_downgrade_whose_credit_exceeds_the_charge_credits_the_rest_to_the_wallet():
    contract, cheap = contract_with_plans(price="30.00", other="5.00")
    at = at_fraction(contract, Fraction(1, 2))
    preview = preview_plan_change(contract=contract, pricing_model=cheap, timing="now", at=at)
    assert (preview.credit, preview.charge) == (Decimal("15.00"), Decimal("5.00"))
    assert (preview.charged_now, preview.to_wallet) == (Decimal("0"), Decimal("10.00"))
    charges_before = SandboxCharge.objects.count()

    change_plan(contract=contract, pricing_model=cheap, token=preview.token)

    assert SandboxCharge.objects.count() == charges_before  # nothing charged
    balance = WalletBalance.objects.get(buyer=contract.buyer, currency="EUR").balance
    assert balance == Decimal("10.00")
    kinds = dict(
        JournalEntry.objects.filter(contract=contract)
        .exclude(kind=Kind.SALE)
        .values_list("kind", "amount")
    )
    assert kinds == {
        Kind.PLAN_CHARGE: Decimal("5.0000"),
        Kind.PLAN_CREDIT: Decimal("-15.0000"),
        Kind.WALLET_REFUND: Decimal("10.0000"),
    }
    assert_journal_matches_sources()


def test_a_second_change_in_the_same_period_credits_what_the_first_one_charged():
    contract, other = contract_with_plans(price="10.00", other="40.00")
    at = at_fraction(contract, Fraction(1, 2))
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now", at=at)
    change_plan(contract=contract, pricing_model=other, token=preview.token)
    contract.refresh_from_db()
    back = contract.purchase.pricing_model
    at2 = at_fraction(contract, Fraction(1, 4))
    again = preview_plan_change(contract=contract, pricing_model=back, timing="now", at=at2)
    assert again.credit == Decimal("30.00")  # three quarters of the 40.00 paid for this period


def test_a_wallet_contract_pays_the_change_from_the_wallet():
    contract, other = contract_with_plans(price="10.00", other="20.00", card="wallet")
    before = WalletBalance.objects.get(buyer=contract.buyer, currency="EUR").balance
    at = at_fraction(contract, Fraction(1, 2))
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now", at=at)
    change_plan(contract=contract, pricing_model=other, token=preview.token)
    after = WalletBalance.objects.get(buyer=contract.buyer, currency="EUR").balance
    assert before - after == Decimal("15.00")


# --- Decline, outdated previews, retries ---------------------------------------------------------


def test_a_declined_charge_leaves_the_contract_unchanged_and_says_so():
    contract, other = contract_with_plans(card="tok_approve")
    RecurringContract.objects.filter(pk=contract.pk).update(instrument="tok_decline")
    contract.refresh_from_db()
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now")
    before = state(contract)
    with pytest.raises(errors.PlanChangeDeclined, match="declined .*unchanged"):
        change_plan(contract=contract, pricing_model=other, token=preview.token)
    after = state(contract)
    assert after[:7] == before[:7]  # the sandbox recorded its declined attempt, nothing else
    assert ContractChange.objects.get().status == "declined"


def test_confirming_twice_charges_once():
    contract, other = contract_with_plans()
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now")
    first = change_plan(contract=contract, pricing_model=other, token=preview.token)
    charges = SandboxCharge.objects.count()
    again = change_plan(contract=contract, pricing_model=other, token=preview.token)
    assert again.pk == first.pk and SandboxCharge.objects.count() == charges


def test_a_preview_whose_amounts_changed_is_refused():
    contract, other = contract_with_plans()
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now")
    PricingModel.objects.filter(pk=other.pk).update(price=Decimal("31.00"))
    other.refresh_from_db()
    before = state(contract)
    with pytest.raises(errors.PlanChangePreviewOutdated):
        change_plan(contract=contract, pricing_model=other, token=preview.token)
    assert state(contract) == before


def test_a_forged_or_stale_token_is_refused(settings):
    contract, other = contract_with_plans()
    before = state(contract)
    with pytest.raises(errors.PlanChangePreviewOutdated, match="Preview the change first"):
        change_plan(contract=contract, pricing_model=other, token="made-up")
    settings.PLAN_CHANGE_PREVIEW_SECONDS = -1
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now")
    with pytest.raises(errors.PlanChangePreviewOutdated, match="too old"):
        change_plan(contract=contract, pricing_model=other, token=preview.token)
    assert state(contract) == before


# --- Refusals ----------------------------------------------------------------------------------


def test_refusals_are_named_and_change_nothing():
    contract, other = contract_with_plans()
    _, foreign = offer_for_sale(price="10.00", recurring=True)
    one_time = PricingModelFactory(price=Decimal("3.00"))
    OfferFactory(subscription=contract.subscription, pricing_model=one_time, is_default=False)
    dollars = PricingModelFactory(price=Decimal("10.00"), currency="USD", recurring=True)
    OfferFactory(subscription=contract.subscription, pricing_model=dollars, is_default=False)
    before = state(contract)
    for pricing_model, error in (
        (foreign, errors.InvalidPricingModelForThisProduct),
        (one_time, errors.PlanChangeNotRecurring),
        (dollars, errors.PlanChangeCurrency),
        (contract.pricing_model, errors.PlanChangeSamePricingModel),
        (None, errors.InvalidPricingModel),
    ):
        with pytest.raises(error):
            preview_plan_change(contract=contract, pricing_model=pricing_model, timing="now")
    with pytest.raises(errors.PlanChangeTiming):
        preview_plan_change(contract=contract, pricing_model=other, timing="tomorrow")
    assert state(contract) == before


def test_a_change_while_a_renewal_charge_is_in_flight_is_refused():
    contract, other = contract_with_plans()
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now")
    RecurringContract.objects.filter(pk=contract.pk).update(
        claimed_until=timezone.now() + timedelta(minutes=5)
    )
    contract.refresh_from_db()
    before = state(contract)
    with pytest.raises(errors.RenewalInFlight):
        preview_plan_change(contract=contract, pricing_model=other, timing="now")
    with pytest.raises(errors.RenewalInFlight):
        change_plan(contract=contract, pricing_model=other, token=preview.token)
    assert state(contract) == before


def test_ended_stopping_and_past_due_contracts_are_refused():
    contract, other = contract_with_plans()
    for update, error in (
        ({"cancel_at_period_end": True}, errors.ContractStopping),
        ({"status": "past_due"}, errors.ContractPastDue),
        ({"status": "cancelled"}, errors.ContractEnded),
    ):
        RecurringContract.objects.filter(pk=contract.pk).update(**update)
        contract.refresh_from_db()
        with pytest.raises(error):
            preview_plan_change(contract=contract, pricing_model=other, timing="now")
        RecurringContract.objects.filter(pk=contract.pk).update(
            cancel_at_period_end=False, status="active"
        )


# --- At the period's end -----------------------------------------------------------------------


def test_a_scheduled_change_is_billed_by_the_next_renewal_at_the_new_length():
    contract, weekly = contract_with_plans(price="10.00", other="3.00", unit="weeks")
    preview = preview_plan_change(contract=contract, pricing_model=weekly, timing="period_end")
    assert (preview.charged_now, preview.credit) == (Decimal(0), Decimal(0))
    assert preview.next_bill_date == contract.next_bill_date
    change = change_plan(contract=contract, pricing_model=weekly, token=preview.token)
    assert change.status == "scheduled"
    old_bill = contract.next_bill_date
    contract.refresh_from_db()
    assert contract.pricing_model_id != weekly.pk  # nothing changes before the period's end

    renew_due_contracts(now=old_bill)

    contract.refresh_from_db()
    change.refresh_from_db()
    assert change.status == "applied"
    assert contract.pricing_model == weekly and contract.transactions.get().amount == Decimal("3")
    assert contract.next_bill_date == old_bill + timedelta(weeks=1)
    renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    assert contract.next_bill_date == old_bill + timedelta(weeks=2)
    assert Event.objects.filter(type="contract.plan_changed").count() == 1


def test_a_scheduled_change_can_be_cancelled_and_the_renewal_keeps_the_plan():
    contract, other = contract_with_plans()
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="period_end")
    change_plan(contract=contract, pricing_model=other, token=preview.token)
    plan_changes.cancel_scheduled_plan_change(contract=contract)
    with pytest.raises(errors.NoScheduledPlanChange):
        plan_changes.cancel_scheduled_plan_change(contract=contract)
    renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    assert contract.transactions.get().amount == Decimal("10.00")


# --- Side effects ------------------------------------------------------------------------------


def test_the_buyer_is_mailed_and_an_event_is_published_once(
    mailoutbox, django_capture_on_commit_callbacks
):
    contract, other = contract_with_plans()
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        change_plan(contract=contract, pricing_model=other, token=preview.token)
    relay_due()
    sent = [m for m in mailoutbox if "plan is changed" in m.subject]
    assert len(sent) == 1 and "Other plan" in sent[0].body and "Charged now" in sent[0].body
    assert Event.objects.filter(type="contract.plan_changed").count() == 1


def test_the_journal_reconciles_with_the_gateway_after_plan_changes():
    upgraded, bigger = contract_with_plans(price="10.00", other="40.00")
    preview = preview_plan_change(contract=upgraded, pricing_model=bigger, timing="now")
    change_plan(contract=upgraded, pricing_model=bigger, token=preview.token)
    downgraded, smaller = contract_with_plans(price="40.00", other="1.00")
    preview = preview_plan_change(contract=downgraded, pricing_model=smaller, timing="now")
    change_plan(contract=downgraded, pricing_model=smaller, token=preview.token)
    day = timezone.localdate()
    (card,) = [
        r for r in reconcile(day, day, gateways=GATEWAYS) if r.payment_type == "sandbox_card"
    ]
    assert card.agrees, card.differences


def test_the_buyer_timeline_shows_the_change(finance_user):
    from purchases.support import timeline

    contract, other = contract_with_plans(price="10.00", other="30.00")
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now")
    change_plan(contract=contract, pricing_model=other, token=preview.token)
    page = timeline.timeline_page(buyer=contract.buyer, user=finance_user)
    (event,) = [e for e in page.events if e.kind == "plan_change"]
    assert "changed from" in event.title and "Other plan" in event.title
    assert f"charged now {preview.charged_now} EUR" in event.detail


def test_ending_with_a_refund_in_a_period_started_by_a_change_is_refused_not_miscounted():
    from purchases.services.cancellations import cancel_purchase

    contract, other = contract_with_plans(price="10.00", other="30.00")
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now")
    change_plan(contract=contract, pricing_model=other, token=preview.token)
    before = state(contract)
    with pytest.raises(errors.RefundRefused, match="started by a plan change"):
        cancel_purchase(purchase=contract.purchase, mode="now", refund="prorated")
    assert state(contract) == before and contract.status == "active"
    cancel_purchase(purchase=contract.purchase, mode="now", refund="none")
    contract.refresh_from_db()
    assert contract.status == "cancelled"


def test_the_revenue_report_counts_the_charge_with_renewals_and_the_credit_as_given_back():
    from purchases.journal import selectors

    contract, other = contract_with_plans(price="10.00", other="30.00")
    at = at_fraction(contract, Fraction(1, 2))
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now", at=at)
    change_plan(contract=contract, pricing_model=other, token=preview.token)
    day = timezone.localdate()
    (row,) = selectors.money(day, day, grouping="period", period="day")
    assert (row.sales, row.renewals, row.refunds) == (
        Decimal("10.00"),
        Decimal("30.00"),
        Decimal("5.00"),
    )
    assert row.net == Decimal("35.00")  # 10 bought + 25 charged for the change


def test_a_confirm_that_died_after_its_claim_is_finished_by_the_same_confirm_once():
    contract, other = contract_with_plans(price="10.00", other="30.00")
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now")
    shown = plan_changes.read_token(preview.token)
    at = preview.prorated_at
    # The first attempt wrote its claim and charged the card, then its worker died.
    claimed = plan_changes._claim_now(contract, other, shown, at, None, False)
    plan_changes._charge(claimed)
    charges = SandboxCharge.objects.count()
    contract.refresh_from_db()
    assert contract.claimed_until is not None and contract.pricing_model != other

    change = change_plan(contract=contract, pricing_model=other, token=preview.token)

    assert change.pk == claimed.pk and change.status == "applied"
    assert SandboxCharge.objects.count() == charges  # the same key: charged once
    assert JournalEntry.objects.filter(kind=Kind.PLAN_CHARGE).count() == 1


def test_a_change_now_during_a_trial_credits_nothing_and_ends_the_trial():
    subscription, monthly = offer_for_sale(price="10.00", recurring=True)
    monthly.trial_days = 14
    monthly.save()
    other = PricingModelFactory(price=Decimal("25.00"), recurring=True, title="Other plan")
    OfferFactory(subscription=subscription, pricing_model=other, is_default=False)
    purchase = create_purchase(
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=monthly,
        payment_type="sandbox_card",
        instrument="tok_approve",
    )
    contract = purchase.contract
    assert contract.periods_paid == 0
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now")
    assert (preview.credit, preview.charged_now) == (Decimal(0), Decimal("25.00"))
    change_plan(contract=contract, pricing_model=other, token=preview.token)
    contract.refresh_from_db()
    assert contract.periods_paid == 1 and contract.next_bill_date == preview.next_bill_date


def test_the_renewal_reminder_names_the_scheduled_plan_and_its_price(
    mailoutbox, django_capture_on_commit_callbacks
):
    from purchases import notifications

    contract, other = contract_with_plans(price="10.00", other="30.00")
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="period_end")
    change_plan(contract=contract, pricing_model=other, token=preview.token)
    notifications.send_renewal_email(
        notifications.RENEWAL_REMINDER, contract.pk, notifications.reminder_key(contract)
    )
    (reminder,) = mailoutbox
    assert "30.00 EUR (your new plan, Other plan)" in reminder.body


def test_a_change_that_died_before_its_charge_is_closed_once_its_preview_expired(settings):
    contract, other = contract_with_plans(price="10.00", other="30.00")
    preview = preview_plan_change(contract=contract, pricing_model=other, timing="now")
    shown = plan_changes.read_token(preview.token)
    stale = plan_changes._claim_now(contract, other, shown, preview.prorated_at, None, False)
    RecurringContract.objects.filter(pk=contract.pk).update(claimed_until=None)  # lease lapsed
    contract.refresh_from_db()
    with pytest.raises(errors.RenewalInFlight, match="stopped while it was being charged"):
        preview_plan_change(contract=contract, pricing_model=other, timing="now")
    ContractChange.objects.filter(pk=stale.pk).update(
        requested_at=timezone.now() - timedelta(seconds=settings.PLAN_CHANGE_PREVIEW_SECONDS + 1)
    )
    again = preview_plan_change(contract=contract, pricing_model=other, timing="now")
    stale.refresh_from_db()
    assert stale.status == "declined" and "nothing was charged" in stale.response_message
    change = change_plan(contract=contract, pricing_model=other, token=again.token)
    assert change.status == "applied"


def test_a_paused_contract_is_refused():
    from purchases.services.pauses import pause_contract

    contract, other = contract_with_plans()
    pause_contract(contract=contract, start="now", periods=1)
    contract.refresh_from_db()
    with pytest.raises(errors.ContractPaused, match="resume it before changing plan"):
        preview_plan_change(contract=contract, pricing_model=other, timing="now")
