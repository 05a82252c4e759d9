"""The renewal grace: a renewing contract's access outlasts its bill date by RENEWAL_GRACE_HOURS,
so the buyer keeps watching until the renewal job has charged it; a contract that stops (at its
period's end, now, or out of retries) gives no grace away. Runs on SQLite (the engine's Python
path) and on PostgreSQL (its set-based SQL path): both must agree."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from buyers import services as buyer_services
from buyers.models import Access
from purchases import renewals
from purchases.models import RecurringContract
from purchases.recurrence import period_end
from purchases.renewals import renew_due_contracts, retry_contract_now
from purchases.services.cancellations import cancel_purchase
from purchases.services.checkout import confirm_purchase, create_purchase
from tests.purchases.factories import BuyerFactory, offer_for_sale

pytestmark = pytest.mark.django_db

GRACE = timedelta(hours=24)
MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def renewal_grace(settings):
    settings.RENEWAL_GRACE_HOURS = 24
    settings.RENEWAL_RETRY_DAYS = [1, 3, 7]


def subscribe(card="tok_approve", trial_days=0):
    subscription, pricing_model = offer_for_sale(price="10.00", recurring=True)
    if trial_days:
        pricing_model.trial_days = trial_days
        pricing_model.save()
    purchase = create_purchase(
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="sandbox_card",
        instrument="tok_approve",
    )
    set_card(purchase.contract, card)  # the card the renewals are charged to
    return purchase.contract


def set_card(contract, token):
    RecurringContract.objects.filter(pk=contract.pk).update(instrument=token)


def expire_of(contract):
    return Access.objects.get(pk=contract.access_id).access_expire


def can_watch(contract, when) -> bool:
    access = Access.objects.select_related("subscription").get(pk=contract.access_id)
    return buyer_services.check_access(
        subscription_code=access.subscription.code,
        access_password=access.hash,
        device_id="tv-1",
        now=when,
    ).granted


def test_the_first_purchase_grants_access_until_the_bill_date_plus_the_grace():
    contract = subscribe()
    assert expire_of(contract) == contract.next_bill_date + GRACE


def test_the_buyer_still_watches_a_minute_after_the_bill_date_before_the_engine_runs():
    contract = subscribe()
    assert can_watch(contract, contract.next_bill_date + MINUTE)
    assert can_watch(contract, contract.next_bill_date + GRACE - MINUTE)
    # The grace is a bound, not a gift: unrenewed past it, the access is over.
    assert not can_watch(contract, contract.next_bill_date + GRACE)


def test_a_late_renewal_runs_the_access_to_the_new_bill_date_plus_the_grace():
    contract = subscribe()
    first_bill = contract.next_bill_date
    # The engine runs two hours late (workers down): nothing was lost meanwhile.
    assert can_watch(contract, first_bill + timedelta(hours=2))
    run = renew_due_contracts(now=first_bill + timedelta(hours=2))
    assert run.renewed == 1
    contract.refresh_from_db()
    new_bill = period_end(contract, contract.anchor, 2)
    assert contract.next_bill_date == new_bill
    assert expire_of(contract) == new_bill + GRACE
    assert can_watch(contract, new_bill + MINUTE)


def test_the_grace_follows_the_setting(settings):
    settings.RENEWAL_GRACE_HOURS = 6
    contract = subscribe()
    assert expire_of(contract) == contract.next_bill_date + timedelta(hours=6)
    renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    assert expire_of(contract) == contract.next_bill_date + timedelta(hours=6)
    settings.RENEWAL_GRACE_HOURS = 0
    renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    assert expire_of(contract) == contract.next_bill_date


def test_a_free_trial_lasts_until_its_end_plus_the_grace_and_its_first_charge_extends_it():
    contract = subscribe(trial_days=7)
    assert contract.next_bill_date == contract.purchase.trial_ends_at
    assert expire_of(contract) == contract.purchase.trial_ends_at + GRACE
    renew_due_contracts(now=contract.next_bill_date + MINUTE)
    contract.refresh_from_db()
    assert contract.periods_paid == 1
    assert expire_of(contract) == contract.next_bill_date + GRACE


def test_stopping_at_period_end_ends_the_access_exactly_at_the_period_end():
    contract = subscribe()
    period_end_at = contract.next_bill_date
    cancel_purchase(purchase=contract.purchase, mode="period_end")
    assert expire_of(contract) == period_end_at
    assert can_watch(contract, period_end_at - MINUTE)
    assert not can_watch(contract, period_end_at + MINUTE)  # no grace given away
    run = renew_due_contracts(now=period_end_at + timedelta(hours=2))
    contract.refresh_from_db()
    assert (run.expired, contract.status) == (1, "expired")
    assert expire_of(contract) == period_end_at


def test_stopping_after_a_renewal_takes_back_the_grace_of_the_new_period():
    contract = subscribe()
    renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    assert expire_of(contract) == contract.next_bill_date + GRACE
    cancel_purchase(purchase=contract.purchase, mode="period_end")
    assert expire_of(contract) == contract.next_bill_date


def test_ending_now_ends_the_access_now():
    contract = subscribe()
    before = timezone.now()
    view = cancel_purchase(purchase=contract.purchase, mode="now")
    assert not view.can_watch
    access = Access.objects.get(pk=contract.access_id)
    assert access.revoked_at is not None and access.revoked_at >= before
    assert not can_watch(contract, timezone.now())
    assert renew_due_contracts(now=contract.next_bill_date).claimed == 0


def test_a_decline_keeps_the_access_until_the_next_retry_and_the_last_one_ends_it_then():
    contract = subscribe(card="tok_decline")
    moment = contract.next_bill_date + MINUTE
    for _ in range(3):
        renew_due_contracts(now=moment)
        contract.refresh_from_db()
        assert contract.status == "past_due"
        assert expire_of(contract) >= contract.next_retry_at  # watching while retries run
        moment = contract.next_retry_at
    renew_due_contracts(now=moment)
    contract.refresh_from_db()
    assert contract.status == "expired" and expire_of(contract) == moment  # no grace after it


def test_a_retry_now_that_succeeds_runs_the_access_to_the_new_bill_date_plus_the_grace():
    contract = subscribe(card="tok_decline")
    renew_due_contracts(now=contract.next_bill_date)
    set_card(contract, "tok_approve")
    contract.refresh_from_db()
    contract = retry_contract_now(
        contract=contract, now=contract.next_bill_date + timedelta(hours=3)
    )
    assert contract.status == "active" and contract.periods_paid == 2
    assert expire_of(contract) == contract.next_bill_date + GRACE


def test_a_past_due_contract_stopped_at_period_end_ends_at_its_retry():
    contract = subscribe(card="tok_decline")
    renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    retry = contract.next_retry_at
    cancel_purchase(purchase=contract.purchase, mode="period_end")
    renew_due_contracts(now=retry)
    contract.refresh_from_db()
    assert contract.status == "expired"
    assert not can_watch(contract, retry + MINUTE)


def test_a_period_paid_while_the_contract_was_being_stopped_gets_no_grace():
    # Safety net for a stop that lands between the charge and its record (the lease lapsed).
    contract = subscribe()
    due = contract.next_bill_date
    attempts = renewals.claim_batch(now=due, batch_size=10)
    answers = renewals.charge_batch(attempts)
    RecurringContract.objects.filter(pk=contract.pk).update(cancel_at_period_end=True)
    renewals.record_batch(attempts, answers, now=due, run=renewals.RenewalRun())
    contract.refresh_from_db()
    assert contract.periods_paid == 2
    assert expire_of(contract) == contract.next_bill_date


def test_the_engine_ends_a_stopping_contracts_access_at_the_period_end_whatever_it_held():
    contract = subscribe()
    # Stopped by a path that did not trim the access (the flag alone).
    RecurringContract.objects.filter(pk=contract.pk).update(cancel_at_period_end=True)
    assert expire_of(contract) == contract.next_bill_date + GRACE
    renew_due_contracts(now=contract.next_bill_date + MINUTE)
    contract.refresh_from_db()
    assert contract.status == "expired"
    assert expire_of(contract) == contract.next_bill_date


def test_a_redirect_purchase_confirmed_later_gets_the_grace_too(client):
    subscription, pricing_model = offer_for_sale(price="10.00", recurring=True)
    purchase = create_purchase(
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="sandbox_paypal",
        return_url="https://shop.example/r",
        cancel_url="https://shop.example/c",
    )
    client.post(purchase.redirect_url, {"pay": "1"})
    purchase = confirm_purchase(purchase=purchase)
    assert purchase.status == "completed"
    assert expire_of(purchase.contract) == purchase.contract.next_bill_date + GRACE


def test_both_engine_paths_are_exercised():
    """The suite runs on SQLite and on PostgreSQL; this names which path this run covered."""
    contract = subscribe()
    renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    assert expire_of(contract) == contract.next_bill_date + GRACE, connection.vendor
