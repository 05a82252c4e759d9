"""Idempotency-Key claims are leases: a retry after a crashed first attempt answers that attempt's
outcome (finishing what it left pending), never a 409 past the lease, never a refusal for a
purchase that was made; a broker that is down never fails a purchase; purchases left pending by
a crash are settled by the next run of the beat job."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from api.idempotency import request_key_of
from api.models import ApiKey, IdempotentRequest
from core.models import OutboxMessage
from purchases import tasks as purchase_tasks
from purchases.gateways.base import GatewayError
from purchases.gateways.sandbox import SandboxCardGateway
from purchases.models import Purchase, SandboxCharge
from purchases.services import cancellations, checkout
from tests.api.test_purchases_api import post, purchase_params
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer

pytestmark = pytest.mark.django_db

CARD = {"instrument": "tok_approve"}


def crashed_claim(api_key: str, key: str, params: dict, *, lease_left: float) -> IdempotentRequest:
    """What a worker killed mid-request leaves: the key claimed, no answer, a lease."""
    from api.idempotency import request_digest

    class Request:
        method, path = "POST", "/api/purchases"

    return IdempotentRequest.objects.create(
        api_key=ApiKey.objects.get(prefix=api_key.split(".")[0]),
        key=key,
        request_digest=request_digest(Request, params),
        locked_until=timezone.now() + timedelta(seconds=lease_left),
    )


def reserve(params, record, **extra) -> Purchase:
    """The first step of a purchase (reserved, pending), as the crashed attempt wrote it."""
    subscription, pricing_model = extra.pop("offer")
    return checkout._check_and_reserve(
        checkout.PurchaseRequest(
            buyer=extra.pop("buyer"),
            subscription=subscription,
            pricing_model=pricing_model,
            payment_type=params["paymentType"],
            instrument=params.get("instrument", ""),
            request_key=request_key_of(record),
        )
    )


def test_a_retry_within_the_lease_is_told_when_to_retry(client, api_key):
    offer = offer_for_sale(price="9.99")
    params = purchase_params(wallet_buyer("50.00"), *offer)
    crashed_claim(api_key, "k", params, lease_left=20)
    response = post(client, api_key, "create", headers={"Idempotency-Key": "k"}, **params)
    assert response.status_code == 409
    assert response.json()["Error"]["Code"] == "idempotency_key_in_use"
    assert 1 <= int(response["Retry-After"]) <= 20
    assert not Purchase.objects.exists()


def test_a_retry_after_the_lease_runs_a_request_that_wrote_nothing(client, api_key):
    offer = offer_for_sale(price="9.99")
    params = purchase_params(wallet_buyer("50.00"), *offer)
    crashed_claim(api_key, "k", params, lease_left=-1)
    response = post(client, api_key, "create", headers={"Idempotency-Key": "k"}, **params)
    assert response.status_code == 201
    assert Purchase.objects.get().status == Purchase.Status.COMPLETED
    replay = post(client, api_key, "create", headers={"Idempotency-Key": "k"}, **params)
    assert replay.json() == response.json()
    assert replay["Idempotent-Replayed"] == "true"


def test_a_retry_after_a_crash_between_charge_and_completion_answers_the_charged_purchase(
    client, api_key
):
    offer = offer_for_sale(price="9.99")
    buyer = BuyerFactory()
    params = purchase_params(buyer, *offer, payment_type="sandbox_card", **CARD)
    record = crashed_claim(api_key, "k", params, lease_left=-1)
    purchase = reserve(params, record, offer=offer, buyer=buyer)
    # The card was charged, then the worker died before completing the purchase.
    SandboxCardGateway().charge(
        idempotency_key=f"purchase:{purchase.code}",
        amount=purchase.amount,
        currency=purchase.currency,
        instrument="tok_approve",
    )
    response = post(client, api_key, "create", headers={"Idempotency-Key": "k"}, **params)
    assert response.status_code == 201
    content = response.json()["Content"]
    assert (content["Code"], content["Status"]) == (purchase.code, "completed")
    assert content["AccessPassword"]
    assert SandboxCharge.objects.count() == 1  # charged once
    assert Purchase.objects.count() == 1


def test_a_retry_after_a_crash_before_the_charge_charges_once_with_the_same_key(client, api_key):
    offer = offer_for_sale(price="9.99")
    buyer = BuyerFactory()
    params = purchase_params(buyer, *offer, payment_type="sandbox_card", **CARD)
    record = crashed_claim(api_key, "k", params, lease_left=-1)
    purchase = reserve(params, record, offer=offer, buyer=buyer)
    response = post(client, api_key, "create", headers={"Idempotency-Key": "k"}, **params)
    assert response.status_code == 201
    assert response.json()["Content"]["Code"] == purchase.code
    charge = SandboxCharge.objects.get()
    assert charge.idempotency_key == f"purchase:{purchase.code}"


def test_a_retry_of_a_crashed_wallet_purchase_completes_it_and_debits_once(client, api_key):
    offer = offer_for_sale(price="9.99")
    buyer = wallet_buyer("50.00")
    params = purchase_params(buyer, *offer)
    record = crashed_claim(api_key, "k", params, lease_left=-1)
    purchase = reserve(params, record, offer=offer, buyer=buyer)
    first = post(client, api_key, "create", headers={"Idempotency-Key": "k"}, **params)
    again = post(client, api_key, "create", headers={"Idempotency-Key": "k"}, **params)
    assert first.status_code == again.status_code == 201
    assert first.json()["Content"]["Code"] == purchase.code
    assert buyer.wallet_entries.filter(kind="purchase").count() == 1


def test_a_request_that_fails_with_an_error_releases_its_key_at_once(client, api_key):
    offer = offer_for_sale(price="9.99")
    params = purchase_params(wallet_buyer("50.00"), *offer)
    client.raise_request_exception = False
    with mock.patch.object(checkout, "_complete", side_effect=RuntimeError("boom")):
        failed = post(client, api_key, "create", headers={"Idempotency-Key": "k"}, **params)
    assert failed.status_code == 500
    assert failed.json()["Error"]["Code"] == "server_error"
    # The retry does not wait for the lease: it finds the pending purchase and finishes it.
    retry = post(client, api_key, "create", headers={"Idempotency-Key": "k"}, **params)
    assert retry.status_code == 201
    assert retry.json()["Content"]["Status"] == "completed"
    assert Purchase.objects.count() == 1


def test_a_purchase_is_answered_while_the_broker_is_down_and_its_receipt_waits(
    client, api_key, django_capture_on_commit_callbacks, mailoutbox
):
    offer = offer_for_sale(price="9.99")
    params = purchase_params(wallet_buyer("50.00"), *offer)
    from core import outbox, tasks

    outbox._broker_resting_until = 0.0
    with (
        mock.patch.object(
            tasks.deliver_outbox_messages, "apply_async", side_effect=BrokerDown("down")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        first = post(client, api_key, "create", headers={"Idempotency-Key": "k"}, **params)
    outbox._broker_resting_until = 0.0
    assert first.status_code == 201
    assert first.json()["Content"]["Status"] == "completed"
    again = post(client, api_key, "create", headers={"Idempotency-Key": "k"}, **params)
    assert again.json() == first.json()  # the purchase, not "user_already_has_product"
    assert mailoutbox == []
    # The receipt waits (beside the purchase's events, core/events.py), and is mailed once.
    receipt = OutboxMessage.objects.get(kind="purchases.receipt")
    assert receipt.status == OutboxMessage.Status.PENDING
    assert outbox.relay_due() >= 1
    receipt.refresh_from_db()
    assert receipt.status == OutboxMessage.Status.SENT
    assert outbox.relay_due() == 0
    assert [m.subject for m in mailoutbox] == [
        f"Your receipt from Video shop back office: {offer[0].name}"
    ]


def test_a_crashed_cancellation_is_answered_on_retry_not_refused(client, api_key):
    offer = offer_for_sale(price="9.99", recurring=True)
    buyer = wallet_buyer("50.00")
    post(client, api_key, "create", **purchase_params(buyer, *offer))
    params = {"userId": buyer.code, "productId": offer[0].code, "mode": "now"}

    class Request:
        method, path = "POST", "/api/purchases/cancel"

    from api.idempotency import request_digest

    record = IdempotentRequest.objects.create(
        api_key=ApiKey.objects.get(prefix=api_key.split(".")[0]),
        key="c",
        request_digest=request_digest(Request, params),
        locked_until=timezone.now() - timedelta(seconds=1),
    )
    # The first attempt committed the cancellation, then its worker died before answering.
    cancellations.cancel_purchase(
        purchase=Purchase.objects.get(), mode="now", by_buyer=True, pin=""
    )
    assert record.status_code is None
    response = post(client, api_key, "cancel", headers={"Idempotency-Key": "c"}, **params)
    assert response.status_code == 200
    assert response.json()["Content"]["CanWatch"]["PurchaseStatus"] == "cancelled"


# --- The beat job -----------------------------------------------------------------------------


def old_pending(payment_type="sandbox_card", instrument="tok_approve", seconds=600):
    subscription, pricing_model = offer_for_sale(price="9.99")
    urls = {"return_url": "https://shop.example/r", "cancel_url": "https://shop.example/c"}
    purchase = checkout._check_and_reserve(
        checkout.PurchaseRequest(
            buyer=wallet_buyer("50.00") if payment_type == "wallet" else BuyerFactory(),
            subscription=subscription,
            pricing_model=pricing_model,
            payment_type=payment_type,
            instrument=instrument,
            **(urls if payment_type == "sandbox_paypal" else {}),
        )
    )
    Purchase.objects.filter(pk=purchase.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )
    return purchase


def test_the_beat_job_settles_purchases_a_crash_left_pending(settings):
    settings.PURCHASE_RESOLVE_SECONDS = 120
    charged = old_pending()
    SandboxCardGateway().charge(
        idempotency_key=f"purchase:{charged.code}",
        amount=charged.amount,
        currency=charged.currency,
        instrument="tok_approve",
    )
    never_charged = old_pending()
    wallet = old_pending("wallet", "")
    running = old_pending(seconds=5)  # its request may still be running
    redirect = old_pending("sandbox_paypal", "")

    assert purchase_tasks.resolve_pending_purchases.delay().get() == 3

    def status(purchase):
        return Purchase.objects.get(pk=purchase.pk).status

    assert status(charged) == Purchase.Status.COMPLETED
    assert Purchase.objects.get(pk=charged.pk).access is not None
    assert status(never_charged) == Purchase.Status.FAILED
    assert "nothing was taken" in Purchase.objects.get(pk=never_charged.pk).response_message
    assert status(wallet) == Purchase.Status.FAILED
    assert not wallet.buyer.wallet_entries.filter(kind="purchase").exists()
    assert status(running) == Purchase.Status.PENDING
    assert status(redirect) == Purchase.Status.PENDING  # the buyer may still be paying
    assert SandboxCharge.objects.count() == 1


def test_a_lost_gateway_answer_is_settled_by_the_beat_job_not_after_30_minutes(
    client, api_key, settings
):
    settings.PURCHASE_RESOLVE_SECONDS = 0
    offer = offer_for_sale(price="9.99")
    params = purchase_params(BuyerFactory(), *offer, "sandbox_card", instrument="tok_timeout")
    # The charge lands, its answer is lost, and the gateway cannot be asked either just then.
    with mock.patch.object(SandboxCardGateway, "lookup", side_effect=GatewayError("no answer")):
        response = post(client, api_key, "create", **params)
    assert response.json()["Content"]["Status"] == "pending"
    checkout.resolve_pending_purchases()
    assert Purchase.objects.get().status == Purchase.Status.COMPLETED


def test_beat_schedule_runs_the_pending_purchase_job_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["purchases-resolve-pending"]
    assert entry["task"] == "purchases.tasks.resolve_pending_purchases"
    assert entry["schedule"] <= timedelta(minutes=1)
