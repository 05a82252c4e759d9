"""Events are written by the services in the transaction of the change: each with a unique id,
its type, time, API version and the object as the API shows it; none for a change that is
rolled back or refused; none lost while the broker is down."""

import pytest
from django.db import transaction

from api.events import access_object, buyer_object, contract_object, purchase_object
from buyers import services as buyer_services
from buyers.notifications import queue_access_expiring_emails
from core import outbox
from core.models import Event, OutboxMessage
from purchases.errors import InsufficientBalance
from purchases.models import Purchase, RecurringContract
from purchases.renewals import renew_due_contracts
from purchases.services.cancellations import cancel_purchase, refund_purchase
from purchases.services.checkout import create_purchase
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer
from webhooks import delivery
from webhooks.models import WebhookDelivery, WebhookEndpoint


class Boom(Exception):
    pass


def types():
    return list(Event.objects.order_by("pk").values_list("type", flat=True))


def buy(buyer, product, **kwargs):
    subscription, pricing_model = product
    return create_purchase(
        buyer=buyer,
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type=kwargs.pop("payment_type", "wallet"),
        **kwargs,
    )


def test_a_completed_purchase_records_its_events_with_the_api_objects(db):
    purchase = buy(wallet_buyer("50.00"), offer_for_sale(price="9.99"))
    assert types() == ["access.granted", "purchase.completed"]
    granted, completed = Event.objects.order_by("pk")
    purchase = Purchase.objects.get(pk=purchase.pk)
    assert completed.data == purchase_object(purchase)
    assert completed.object_code == purchase.code and completed.api_version == "1"
    assert granted.data["Code"] == purchase.access.code
    assert granted.uid != completed.uid


def test_a_rolled_back_purchase_records_no_event_and_delivers_nothing(
    db, django_capture_on_commit_callbacks
):
    WebhookEndpoint.objects.create(url="https://hooks.example.com/", event_types=["*"])
    buyer, product = wallet_buyer("50.00"), offer_for_sale(price="9.99")
    events_before = Event.objects.count()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        purchase = buy(buyer, product)
        assert purchase.status == "completed"
        raise Boom  # the request fails after the purchase, before its commit
    assert callbacks == []
    assert Event.objects.count() == events_before
    assert not Purchase.objects.exists()
    assert not OutboxMessage.objects.filter(kind="events.published").exists()
    assert not WebhookDelivery.objects.exists()


def test_a_refused_purchase_records_no_event(db):
    buyer, product = wallet_buyer("1.00"), offer_for_sale(price="9.99")
    before = types()
    with pytest.raises(InsufficientBalance):
        buy(buyer, product)
    assert types() == before


def test_a_declined_card_records_purchase_failed(db):
    buy(BuyerFactory(), offer_for_sale(), payment_type="sandbox_card", instrument="tok_decline")
    assert types() == ["purchase.failed"]
    assert Event.objects.get().data["Status"] == "failed"


def test_buyer_and_access_changes_record_their_events(db):
    buyer = buyer_services.create_buyer(email="ann@example.com")
    buyer_services.update_buyer(buyer=buyer, email="ann@example.com", name="Ann")
    subscription, _ = offer_for_sale()
    access = buyer_services.grant_access(subscription=subscription, buyer=buyer)
    buyer_services.update_access(access=access, activation_limit=5)
    buyer_services.revoke_access(access=access)
    assert types() == [
        "buyer.created",
        "buyer.updated",
        "access.granted",
        "access.changed",
        "access.revoked",
    ]
    last = Event.objects.latest("pk")
    access.refresh_from_db()
    assert last.data == access_object(access) and last.data["Status"] == "revoked"
    assert Event.objects.get(type="buyer.updated").data == buyer_object(buyer) | {"Name": "Ann"}


def test_access_expiring_is_recorded_once_per_access(db):
    from datetime import timedelta

    from django.utils import timezone

    subscription, _ = offer_for_sale()
    access = buyer_services.grant_access(
        subscription=subscription,
        email="ann@example.com",
        access_expire=timezone.now() + timedelta(days=1),
    )
    queue_access_expiring_emails([access.pk])
    queue_access_expiring_emails([access.pk])
    assert Event.objects.filter(type="access.expiring").count() == 1


def subscribe(card="tok_approve"):
    subscription, pricing_model = offer_for_sale(price="10.00", recurring=True)
    purchase = create_purchase(
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="sandbox_card",
        instrument=card,
    )
    return purchase.contract


def test_renewals_record_contract_events_once_per_period(db, settings):
    settings.RENEWAL_RETRY_DAYS = [1]
    renewed = subscribe()
    declined = subscribe()
    RecurringContract.objects.filter(pk=declined.pk).update(instrument="tok_decline")
    renew_due_contracts(now=max(renewed.next_bill_date, declined.next_bill_date))
    renew_due_contracts(now=max(renewed.next_bill_date, declined.next_bill_date))
    event = Event.objects.get(type="contract.renewed")
    renewed.refresh_from_db()
    assert event.data == contract_object(renewed) and event.data["PeriodsPaid"] == 2
    assert Event.objects.get(type="contract.renewal_failed").object_code == declined.code
    declined.refresh_from_db()
    renew_due_contracts(now=declined.next_retry_at)
    ended = Event.objects.get(type="contract.ended")
    assert ended.object_code == declined.code and ended.data["Status"] == "expired"


def test_cancel_and_refund_record_their_events(db, staff_user, finance_user):
    contract = subscribe()
    cancel_purchase(purchase=contract.purchase, mode="now", staff_user=staff_user)
    assert {"purchase.cancelled", "contract.ended", "access.revoked"} <= set(types())
    one_off = buy(wallet_buyer("50.00"), offer_for_sale(price="5.00"))
    with transaction.atomic():
        refund_purchase(purchase=one_off, amount="5.00", reason="Asked", staff_user=finance_user)
    refunded = Event.objects.get(type="purchase.refunded")
    assert refunded.object_code == one_off.code and refunded.data["Status"] == "refunded"


def test_events_written_while_the_broker_is_down_are_delivered_by_the_relay(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    from core import tasks as core_tasks

    WebhookEndpoint.objects.create(url="https://hooks.example.com/", event_types=["*"])

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(core_tasks.deliver_outbox_messages, "apply_async", broker_down)
    monkeypatch.setattr(outbox, "_broker_resting_until", 0.0)
    with django_capture_on_commit_callbacks(execute=True):
        buyer_services.create_buyer(email="ann@example.com")
    assert Event.objects.filter(type="buyer.created").exists()
    assert not WebhookDelivery.objects.exists()  # waiting in the outbox
    monkeypatch.undo()
    sent = []
    monkeypatch.setattr(delivery, "hand_to_broker", lambda ids: sent.extend(ids))
    with django_capture_on_commit_callbacks(execute=True):
        outbox.relay_due()
    assert WebhookDelivery.objects.count() == 1 and len(sent) == 1
