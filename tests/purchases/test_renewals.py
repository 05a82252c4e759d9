"""The renewal engine: each billing period charged once, dunning, trials, month ends."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from buyers.models import WalletBalance
from purchases import renewals
from purchases.models import ContractTransaction, Purchase, RecurringContract, SandboxCharge
from purchases.recurrence import period_end
from purchases.renewals import renew_due_contracts
from purchases.services.cancellations import cancel_purchase
from purchases.services.checkout import create_purchase
from purchases.services.contracts import apply_new_price_to_contracts
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer

pytestmark = pytest.mark.django_db

GRACE = timedelta(hours=24)


@pytest.fixture(autouse=True)
def renewal_grace(settings):
    settings.RENEWAL_GRACE_HOURS = 24


def subscribe(
    card="tok_approve", payment_type="sandbox_card", price="10.00", trial_days=0, buyer=None
):
    subscription, pricing_model = offer_for_sale(price=price, recurring=True)
    if trial_days:
        pricing_model.trial_days = trial_days
        pricing_model.save()
    purchase = create_purchase(
        buyer=buyer or BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type=payment_type,
        instrument=card if payment_type != "wallet" else "",
    )
    return purchase.contract


def set_card(contract, token):
    RecurringContract.objects.filter(pk=contract.pk).update(instrument=token)


def test_a_recurring_purchase_starts_a_contract_billed_again_after_one_period():
    contract = subscribe()
    assert contract.status == "active" and contract.periods_paid == 1
    assert contract.amount == Decimal("10.00") and contract.instrument == "tok_approve"
    assert contract.next_bill_date == period_end(contract.pricing_model, contract.anchor, 1)
    # The access outlasts the bill date by the grace, until the renewal job has charged it.
    assert contract.access.access_expire == contract.next_bill_date + GRACE


def test_a_due_contract_is_charged_once_and_moves_to_its_next_period():
    contract = subscribe()
    due = contract.next_bill_date
    run = renew_due_contracts(now=due)
    assert (run.renewed, run.declined) == (1, 0)
    contract.refresh_from_db()
    assert contract.periods_paid == 2
    assert contract.next_bill_date == period_end(contract.pricing_model, contract.anchor, 2)
    contract.access.refresh_from_db()
    assert contract.access.access_expire == contract.next_bill_date + GRACE
    charge = contract.transactions.get()
    assert (charge.period, charge.status, charge.result_code) == (2, "approved", "0")
    assert charge.pnref.startswith("SB") and charge.auth_code
    # Running again at the same moment charges nothing more.
    assert renew_due_contracts(now=due).claimed == 0
    assert SandboxCharge.objects.filter(idempotency_key__startswith="contract:").count() == 1


def test_nothing_is_charged_before_the_bill_date():
    contract = subscribe()
    assert renew_due_contracts(now=contract.next_bill_date - timedelta(seconds=1)).claimed == 0


def test_month_ends_come_back_when_the_anchor_day_exists():
    contract = subscribe()
    anchor = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
    ends = [period_end(contract.pricing_model, anchor, n) for n in (1, 2, 3)]
    assert [(e.month, e.day) for e in ends] == [(2, 28), (3, 31), (4, 30)]
    leap = datetime(2028, 1, 31, tzinfo=UTC)
    assert period_end(contract.pricing_model, leap, 1).day == 29


def test_the_engine_follows_month_ends_period_after_period():
    contract = subscribe()
    anchor = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
    RecurringContract.objects.filter(pk=contract.pk).update(
        anchor=anchor, next_bill_date=period_end(contract.pricing_model, anchor, 1)
    )
    dates = []
    for _ in range(2):
        contract.refresh_from_db()
        renew_due_contracts(now=contract.next_bill_date)
        contract.refresh_from_db()
        dates.append((contract.next_bill_date.month, contract.next_bill_date.day))
    assert dates == [(3, 31), (4, 30)]


def test_a_decline_puts_the_contract_past_due_and_retries_on_the_dunning_schedule(settings):
    settings.RENEWAL_RETRY_DAYS = [1, 3, 7]
    contract = subscribe()
    set_card(contract, "tok_decline")
    moment = contract.next_bill_date
    retries = []
    for _ in range(3):
        renew_due_contracts(now=moment)
        contract.refresh_from_db()
        assert contract.status == "past_due"
        retries.append(contract.next_retry_at - moment)
        contract.access.refresh_from_db()
        assert contract.access.access_expire >= contract.next_retry_at  # still watching
        moment = contract.next_retry_at
    assert retries == [timedelta(days=1), timedelta(days=3), timedelta(days=7)]
    renew_due_contracts(now=moment)  # the last failure ends it
    contract.refresh_from_db()
    contract.access.refresh_from_db()
    assert contract.status == "expired" and contract.access.status_at(moment) == "expired"
    assert list(contract.transactions.values_list("attempt", "status").order_by("attempt")) == [
        (1, "declined"),
        (2, "declined"),
        (3, "declined"),
        (4, "declined"),
    ]


def test_a_retry_that_succeeds_recovers_the_contract():
    contract = subscribe()
    set_card(contract, "tok_insufficient_funds")
    renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    set_card(contract, "tok_approve")
    renew_due_contracts(now=contract.next_retry_at)
    contract.refresh_from_db()
    assert (contract.status, contract.failed_attempts, contract.periods_paid) == ("active", 0, 2)


def test_a_contract_cancelled_at_period_end_expires_instead_of_charging():
    contract = subscribe()
    cancel_purchase(purchase=contract.purchase, mode="period_end")
    run = renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    assert (run.expired, contract.status) == (1, "expired")
    assert contract.transactions.count() == 0
    assert Purchase.objects.get(pk=contract.purchase_id).status == "cancelled"


def test_a_contract_ended_now_is_never_charged_again():
    contract = subscribe()
    cancel_purchase(purchase=contract.purchase, mode="now")
    contract.refresh_from_db()
    assert contract.status == "cancelled"
    assert renew_due_contracts(now=contract.next_bill_date).claimed == 0


def test_a_timeout_is_resolved_by_asking_the_gateway_with_the_same_key():
    contract = subscribe()
    set_card(contract, "tok_timeout")
    run = renew_due_contracts(now=contract.next_bill_date)
    assert run.renewed == 1
    assert SandboxCharge.objects.filter(idempotency_key__startswith="contract:").count() == 1
    assert contract.transactions.get().status == "approved"


def test_a_worker_dying_after_charging_loses_nothing_and_charges_nothing_twice(
    monkeypatch, settings
):
    settings.RENEWAL_CLAIM_SECONDS = 60
    contracts = [subscribe() for _ in range(3)]
    due = max(c.next_bill_date for c in contracts)

    def die(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(renewals, "record_batch", die)
    with pytest.raises(SystemExit):
        renew_due_contracts(now=due)
    monkeypatch.undo()
    assert SandboxCharge.objects.filter(idempotency_key__startswith="contract:").count() == 3
    assert renew_due_contracts(now=due).claimed == 0  # still claimed: the lease has not lapsed
    run = renew_due_contracts(now=due + timedelta(seconds=61))
    assert run.renewed == 3
    assert SandboxCharge.objects.filter(idempotency_key__startswith="contract:").count() == 3
    assert ContractTransaction.objects.filter(status="approved").count() == 3


def test_a_period_can_be_paid_only_once_even_if_code_forgets():
    contract = subscribe()
    renew_due_contracts(now=contract.next_bill_date)
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractTransaction.objects.create(
            contract=contract,
            period=2,
            attempt=9,
            idempotency_key="other",
            payment_pref="x",
            amount=1,
            currency="EUR",
            status="approved",
        )


def test_a_free_trial_delays_the_first_charge_to_its_end():
    contract = subscribe(trial_days=7)
    purchase = contract.purchase
    assert purchase.amount == 0 and purchase.trial_ends_at is not None
    assert contract.next_bill_date == purchase.trial_ends_at and contract.periods_paid == 0
    assert contract.amount == Decimal("10.00")
    assert SandboxCharge.objects.count() == 0
    renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    assert contract.periods_paid == 1
    assert contract.next_bill_date == period_end(contract.pricing_model, purchase.trial_ends_at, 1)


def test_wallet_contracts_renew_from_the_wallet_and_decline_when_it_is_empty():
    buyer = wallet_buyer("25.00")
    contract = subscribe(payment_type="wallet", buyer=buyer)
    renew_due_contracts(now=contract.next_bill_date)
    assert WalletBalance.objects.get(buyer=buyer).balance == Decimal("5.00")
    contract.refresh_from_db()
    renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    assert contract.status == "past_due"
    assert WalletBalance.objects.get(buyer=buyer).balance == Decimal("5.00")


def test_a_new_price_applies_from_the_next_period_only_when_the_shop_says_so():
    contract = subscribe(price="10.00")
    pricing_model = contract.pricing_model
    pricing_model.price = Decimal("12.00")
    pricing_model.save()
    renew_due_contracts(now=contract.next_bill_date)
    assert contract.transactions.get().amount == Decimal("10.00")
    assert apply_new_price_to_contracts(pricing_model=pricing_model) == 1
    contract.refresh_from_db()
    renew_due_contracts(now=contract.next_bill_date)
    assert contract.transactions.order_by("period").last().amount == Decimal("12.00")


def test_paypal_contracts_renew_under_the_billing_agreement(client):
    subscription, pricing_model = offer_for_sale(recurring=True)
    purchase = create_purchase(
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="sandbox_paypal",
        return_url="https://s.example/r",
        cancel_url="https://s.example/c",
    )
    client.post(purchase.redirect_url, {"pay": "1"})
    from purchases.services.checkout import confirm_purchase

    contract = confirm_purchase(purchase=purchase).contract
    assert contract.instrument == purchase.gateway_reference
    assert renew_due_contracts(now=contract.next_bill_date).renewed == 1


def test_many_contracts_in_small_batches_are_each_charged_once():
    contracts = [subscribe() for _ in range(12)]
    due = max(c.next_bill_date for c in contracts)
    run = renew_due_contracts(now=due, batch_size=5)
    assert (run.renewed, run.batches) == (12, 3)


def test_editing_the_pricing_models_recurrence_never_reschedules_a_running_contract():
    contract = subscribe()
    pricing_model = contract.pricing_model
    pricing_model.recurrence_unit, pricing_model.recurrence_count = "weeks", 1
    pricing_model.save()
    run = renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    assert run.renewed == 1 and contract.transactions.count() == 1
    assert contract.next_bill_date == period_end(contract, contract.anchor, 2)
    assert (contract.next_bill_date - contract.anchor).days >= 59  # two months, not weeks


def test_a_decline_recorded_once_even_if_a_batch_is_recorded_twice(settings):
    from purchases.renewals import charge_batch, claim_batch, record_batch

    contract = subscribe()
    set_card(contract, "tok_decline")
    attempts = claim_batch(now=contract.next_bill_date, batch_size=10)
    answers = charge_batch(attempts)
    record_batch(attempts, answers, now=contract.next_bill_date, run=renewals.RenewalRun())
    record_batch(attempts, answers, now=contract.next_bill_date, run=renewals.RenewalRun())
    contract.refresh_from_db()
    assert contract.failed_attempts == 1


def test_a_sold_pricing_models_recurrence_and_currency_are_fixed():
    from subscriptions import errors as catalog_errors
    from subscriptions.services import update_pricing_model

    contract = subscribe()
    pricing_model = contract.pricing_model
    for change in ({"recurrence_unit": "weeks"}, {"currency": "USD"}, {"is_recurring": False}):
        with pytest.raises(catalog_errors.PricingModelTermsFixed):
            update_pricing_model(pricing_model=pricing_model, **change)
    update_pricing_model(pricing_model=pricing_model, price=Decimal("12.00"))
    pricing_model.refresh_from_db()
    assert pricing_model.price == Decimal("12.00") and pricing_model.recurrence_unit == "months"


def test_admins_apply_a_new_price_to_running_contracts_from_the_admin(admin_client):
    contract = subscribe(price="10.00")
    pricing_model = contract.pricing_model
    pricing_model.price = Decimal("12.00")
    pricing_model.save()
    admin_client.post(
        "/admin/subscriptions/pricingmodel/",
        {
            "action": "charge_running_contracts_the_current_price",
            "_selected_action": [pricing_model.pk],
        },
    )
    contract.refresh_from_db()
    assert contract.amount == Decimal("12.00")
