"""What one renewal batch writes besides the charges: a journal row, a receipt e-mail in the
outbox and a contract.renewed event per renewed contract, all in the batch's transaction (none
when it rolls back, none twice), and the events' objects exactly as the API shows them, also
when PostgreSQL renders them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from api.events import contract_object
from core import events
from core.models import Event, OutboxMessage
from purchases import renewals
from purchases.journal import booking
from purchases.journal.models import JournalEntry
from purchases.models import ContractTransaction, RecurringContract
from purchases.notifications import RENEWAL_MESSAGE
from purchases.renewals import renew_due_contracts
from tests.purchases.bulk import due_contracts

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def renewal_rows():
    return (
        JournalEntry.objects.filter(kind="renewal").count(),
        OutboxMessage.objects.filter(kind=RENEWAL_MESSAGE).count(),
        Event.objects.filter(type="contract.renewed").count(),
    )


def test_a_batch_of_renewals_writes_one_journal_row_e_mail_and_event_each():
    due_contracts(30)
    run = renew_due_contracts(batch_size=30)
    assert run.renewed == 30 and run.batches == 1
    assert renewal_rows() == (30, 30, 30)
    for contract in RecurringContract.objects.all():
        key = f"renewal-receipt:{contract.code}:2"
        assert OutboxMessage.objects.get(key=key).payload == {
            "kind": "renewal_receipt",
            "contract_id": contract.pk,
            "key": key,
            "language": contract.buyer.language,  # the receipt is written in the buyer's
        }
        event = Event.objects.get(key=f"contract.renewed:{key}")
        assert event.object_code == contract.code and event.api_version == "1"
        assert event.data == contract_object(contract)
    assert Event.objects.values("uid").distinct().count() == 30
    # The deliveries of the batch's events are one outbox message naming all of them.
    (message,) = OutboxMessage.objects.filter(kind=events.EVENTS_MESSAGE)
    assert sorted(message.payload["event_ids"]) == sorted(
        Event.objects.values_list("pk", flat=True)
    )


def test_a_batch_that_rolls_back_writes_no_journal_row_e_mail_or_event(monkeypatch):
    due_contracts(12)

    def fail(*args, **kwargs):
        raise Boom

    # The last write of the batch's transaction fails: everything before it is undone.
    monkeypatch.setattr(booking, "book_renewals_in_sql", fail)
    monkeypatch.setattr(booking, "book", fail)
    with pytest.raises(Boom):
        renew_due_contracts(batch_size=12)
    assert renewal_rows() == (0, 0, 0)
    assert set(ContractTransaction.objects.values_list("status", flat=True)) == {"pending"}
    assert set(RecurringContract.objects.values_list("periods_paid", flat=True)) == {1}
    monkeypatch.undo()
    # Once the claims' lease lapses, the next run records the same charges, once each.
    later = timezone.now() + renewals.claim_lease() + timedelta(seconds=1)
    assert renew_due_contracts(now=later, batch_size=12).renewed == 12
    assert renewal_rows() == (12, 12, 12)
    assert renew_due_contracts(now=later, batch_size=12).renewed == 0
    assert renewal_rows() == (12, 12, 12)


def test_renewal_events_already_written_are_not_written_again():
    due_contracts(5)
    renew_due_contracts(batch_size=5)
    emails = [
        (renewals.RENEWAL_RECEIPT, c.pk, f"renewal-receipt:{c.code}:2")
        for c in RecurringContract.objects.all()
    ]
    assert renewals.publish_contract_events(emails) == 0
    assert renewals.queue_renewal_emails(emails) == 0
    assert renewal_rows() == (5, 5, 5)


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("events are rendered by the database on PostgreSQL only")


def test_the_database_renders_contracts_exactly_as_the_api_does(on_postgresql):
    due_contracts(5)
    now = timezone.now().replace(microsecond=999_999)
    active, past_due, ended, stopping, paused = RecurringContract.objects.order_by("pk")
    RecurringContract.objects.filter(pk=paused.pk).update(
        status="paused", paused_from=now, resume_at=now + timedelta(days=14, seconds=1)
    )
    RecurringContract.objects.filter(pk=past_due.pk).update(
        status="past_due", failed_attempts=2, next_retry_at=now + timedelta(days=3)
    )
    RecurringContract.objects.filter(pk=ended.pk).update(
        status="expired", ended_at=now, amount=Decimal("0.00")
    )
    RecurringContract.objects.filter(pk=stopping.pk).update(
        cancel_at_period_end=True, amount=Decimal("1234.50"), periods_paid=17
    )
    contracts = list(RecurringContract.objects.order_by("pk"))
    keys = [f"contract.renewed:test:{c.code}" for c in contracts]
    assert events.publish_in_sql("contract.renewed", [c.pk for c in contracts], keys) == 5
    for contract, key in zip(contracts, keys, strict=True):
        event = Event.objects.get(key=key)
        assert event.data == contract_object(contract)
        assert event.object_code == contract.code


def test_publishing_in_sql_refuses_an_unknown_type_or_a_kind_without_sql(on_postgresql):
    with pytest.raises(LookupError):
        events.publish_in_sql("contract.exploded", [1], ["k"])
    with pytest.raises(LookupError):
        events.publish_in_sql("buyer.created", [1], ["k"])
    assert Event.objects.count() == 0
