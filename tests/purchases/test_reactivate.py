"""A stop at the period's end can be taken back until the period ends (issue 19: reactivate):
the contract renews again, the access gets its renewal grace back, the stop is marked as taken
back; an ended purchase, one that renews already and one whose period is over are refused with
their named errors, nothing changed."""

from datetime import timedelta

import pytest
from django.urls import reverse

from purchases import errors
from purchases.models import Cancellation, Purchase, RecurringContract
from purchases.recurrence import access_end_of_contract
from purchases.renewals import renew_due_contracts
from purchases.services.cancellations import cancel_purchase, reactivate_purchase
from tests.purchases.test_renewals import subscribe

pytestmark = pytest.mark.django_db


def state(contract):
    contract.refresh_from_db()
    contract.purchase.refresh_from_db()
    contract.access.refresh_from_db()
    return (
        contract.purchase.status,
        contract.cancel_at_period_end,
        contract.access.access_expire,
        list(Cancellation.objects.values_list("undone_at", flat=True)),
    )


def test_a_stop_taken_back_renews_again_with_the_grace_given_back(staff_user):
    contract = subscribe()
    grace_end = contract.access.access_expire
    assert grace_end == access_end_of_contract(contract.next_bill_date, stopping=False)
    cancel_purchase(purchase=contract.purchase, mode="period_end", staff_user=staff_user)
    assert state(contract)[2] == contract.next_bill_date  # the grace was taken back

    view = reactivate_purchase(purchase=contract.purchase, staff_user=staff_user)
    status, stopping, expire, _ = state(contract)
    assert (status, stopping, expire) == (Purchase.Status.COMPLETED, False, grace_end)
    assert view.purchase_status == "completed" and view.can_watch
    stop = Cancellation.objects.get()
    assert stop.undone_at is not None and stop.undone_by == staff_user

    # It renews on its next bill date as if it had never been stopped.
    renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    assert contract.status == RecurringContract.Status.ACTIVE and contract.periods_paid == 2


def test_a_purchase_that_renews_already_is_refused():
    contract = subscribe()
    before = state(contract)
    with pytest.raises(errors.PurchaseNotCancelling):
        reactivate_purchase(purchase=contract.purchase)
    assert state(contract) == before


def test_an_ended_purchase_cannot_be_taken_back():
    contract = subscribe()
    cancel_purchase(purchase=contract.purchase, mode="now")
    before = state(contract)
    with pytest.raises(errors.PurchaseAlreadyCancelled, match="buy it again"):
        reactivate_purchase(purchase=contract.purchase)
    assert state(contract) == before


def test_a_stop_whose_period_is_over_cannot_be_taken_back(monkeypatch):
    contract = subscribe()
    cancel_purchase(purchase=contract.purchase, mode="period_end")
    RecurringContract.objects.filter(pk=contract.pk).update(
        next_bill_date=contract.next_bill_date - timedelta(days=40)
    )
    before = state(contract)
    with pytest.raises(errors.PurchasePeriodOver, match="period ended on"):
        reactivate_purchase(purchase=contract.purchase)
    assert state(contract) == before


def test_a_renewal_charge_running_refuses_the_reactivation():
    contract = subscribe()
    cancel_purchase(purchase=contract.purchase, mode="period_end")
    RecurringContract.objects.filter(pk=contract.pk).update(
        claimed_until=contract.next_bill_date + timedelta(days=365)
    )
    before = state(contract)
    with pytest.raises(errors.PurchaseError, match="renewal charge"):
        reactivate_purchase(purchase=contract.purchase)
    assert state(contract) == before


def test_staff_keep_a_stopped_contract_renewing_from_its_page(client, staff_user):
    contract = subscribe()
    client.force_login(staff_user)
    detail = reverse("contracts:detail", kwargs={"code": contract.code})
    assert b"Keep renewing" not in client.get(detail).content
    client.post(reverse("contracts:stop", kwargs={"code": contract.code}))
    assert b"Keep renewing" in client.get(detail).content
    response = client.post(
        reverse("contracts:reactivate", kwargs={"code": contract.code}), follow=True
    )
    assert b"renews on its next bill date" in response.content
    assert state(contract)[:2] == (Purchase.Status.COMPLETED, False)
    purchase_page = client.get(reverse("purchases:detail", args=[contract.purchase.code]))
    assert b"taken back" in purchase_page.content
