import pytest

from purchases import tasks
from purchases.renewals import renew_due_contracts
from purchases.services.cancellations import cancel_purchase
from tests.purchases.test_renewals import set_card, subscribe

pytestmark = pytest.mark.django_db


def subjects(mailoutbox):
    return [message.subject for message in mailoutbox]


def test_a_renewal_mails_a_receipt_once(mailoutbox, django_capture_on_commit_callbacks):
    contract = subscribe()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        renew_due_contracts(now=contract.next_bill_date)
    assert subjects(mailoutbox) == [f"Your {contract.subscription.name} subscription is renewed"]
    charge = contract.transactions.get()
    assert charge.pnref in mailoutbox[0].body
    tasks.send_renewal_emails(
        [("renewal_receipt", contract.pk, f"renewal-receipt:{contract.code}:2")]
    )
    assert len(mailoutbox) == 1  # a repeated task sends nothing twice


def test_a_declined_renewal_says_when_it_is_retried(
    mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.RENEWAL_RETRY_DAYS = [2]
    contract = subscribe()
    set_card(contract, "tok_insufficient_funds")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    assert subjects(mailoutbox) == [f"We could not renew {contract.subscription.name}"]
    body = mailoutbox[0].body
    assert "Insufficient funds" in body
    assert f"try again on {contract.next_retry_at:%Y-%m-%d}" in body
    assert "update your card on your subscription page" in body
    with django_capture_on_commit_callbacks(execute=True):
        renew_due_contracts(now=contract.next_retry_at)
    assert subjects(mailoutbox)[-1] == f"Your {contract.subscription.name} subscription has ended"


def test_ending_a_contract_now_mails_the_buyer(mailoutbox, django_capture_on_commit_callbacks):
    contract = subscribe()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        cancel_purchase(purchase=contract.purchase, mode="now")
    assert subjects(mailoutbox) == [f"Your {contract.subscription.name} subscription has ended"]
    # The access was revoked with it: the e-mail says so instead of promising "until …".
    message = mailoutbox[0]
    assert "Your access has ended." in message.body and "lasts until" not in message.body
    html = message.alternatives[0][0] if message.alternatives else ""
    assert "Your access has ended." in html and "lasts until" not in html


def test_the_page_of_an_ended_contract_says_its_access_ended(client, staff_user):
    from django.urls import reverse

    contract = subscribe()
    client.force_login(staff_user)
    page = client.get(reverse("contracts:detail", kwargs={"code": contract.code})).content
    assert b"Access until" in page
    cancel_purchase(purchase=contract.purchase, mode="now")
    page = client.get(reverse("contracts:detail", kwargs={"code": contract.code})).content.decode()
    assert "Access until" not in page
    assert 'data-testid="contract-access">revoked ' in page


def test_buyers_are_reminded_once_before_a_charge(
    mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.RENEWAL_REMINDER_DAYS = 40  # the demo contract bills in about a month
    contract = subscribe()
    cancelled = subscribe()
    cancel_purchase(purchase=cancelled.purchase, mode="period_end")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.queue_renewal_reminders() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.queue_renewal_reminders() == 0  # reminded: not queued again
    assert subjects(mailoutbox) == [
        f"{contract.subscription.name} renews on {contract.next_bill_date:%Y-%m-%d}"
    ]
    assert "10 EUR" in mailoutbox[0].body or "10.00 EUR" in mailoutbox[0].body


def test_no_reminder_for_a_bill_beyond_the_notice(mailoutbox, settings):
    settings.RENEWAL_REMINDER_DAYS = 1
    subscribe()
    assert tasks.queue_renewal_reminders() == 0


def test_subscribers_get_no_access_expiring_notice_for_an_access_that_renews(settings):
    from buyers.notifications import accesses_expiring_soon

    settings.ACCESS_EXPIRING_NOTICE_DAYS = 40
    renewing = subscribe()
    stopping = subscribe()
    cancel_purchase(purchase=stopping.purchase, mode="period_end")
    assert list(accesses_expiring_soon()) == [stopping.access_id]
    assert renewing.access_id not in accesses_expiring_soon()
