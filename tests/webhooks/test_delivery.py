"""Deliveries to a real local HTTP receiver (pytest-httpserver): signed, retried on errors and
timeouts, given up after the window, logged per endpoint."""

import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone
from werkzeug import Response

from api.events import purchase_object
from core.models import Event, OutboxMessage
from purchases.models import Purchase
from purchases.services.checkout import create_purchase
from tests.purchases.factories import offer_for_sale, wallet_buyer
from webhooks import delivery, services
from webhooks.models import WebhookAttempt, WebhookDelivery

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verifier():
    """The README's Python snippet, run as a receiver would."""
    text = README.read_text()
    code = re.search(r"<!-- verify-python -->\n```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    return namespace["verify_webhook"]


def buy(product, buyer=None):
    subscription, pricing_model = product
    return create_purchase(
        buyer=buyer or wallet_buyer("50.00"),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="wallet",
    )


def received(httpserver):
    return [request for request, _ in httpserver.log]


def test_a_completed_purchase_reaches_the_receiver_signed_with_the_object_as_the_api_shows_it(
    endpoint_at, httpserver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_at("purchase.completed")
    httpserver.expect_request("/hooks", method="POST").respond_with_data("thanks")
    with django_capture_on_commit_callbacks(execute=True):
        purchase = buy(offer_for_sale(price="9.99"))

    [request] = received(httpserver)
    body = request.get_data()
    verify = readme_verifier()
    assert verify(endpoint.secret, body, request.headers["Webhook-Signature"])
    assert not verify("whsec_other", body, request.headers["Webhook-Signature"])
    assert not verify(endpoint.secret, body + b" ", request.headers["Webhook-Signature"])
    payload = json.loads(body)
    event = Event.objects.get(type="purchase.completed")
    assert payload["id"] == request.headers["Webhook-Id"] == event.public_id
    assert payload["type"] == request.headers["Webhook-Event"] == "purchase.completed"
    assert payload["api_version"] == "1"
    assert payload["created"] == event.created_at.isoformat(timespec="microseconds")
    purchase = Purchase.objects.get(pk=purchase.pk)
    assert payload["data"]["object"] == json.loads(json.dumps(purchase_object(purchase)))
    assert payload["data"]["object"]["Status"] == "completed"
    # The log shows the attempt as the receiver answered it.
    [attempt] = WebhookAttempt.objects.filter(endpoint=endpoint)
    assert (attempt.succeeded, attempt.status_code, attempt.response_excerpt) == (
        True,
        200,
        "thanks",
    )
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.DELIVERED


def test_a_stale_signature_is_refused_by_the_readme_check(endpoint_at):
    body = b'{"id":"evt_1"}'
    old = int(time.time()) - 600
    assert not readme_verifier()("whsec_x", body, delivery.signature("whsec_x", old, body))
    assert readme_verifier()("whsec_x", body, delivery.signature("whsec_x", int(time.time()), body))


def test_only_endpoints_that_want_the_type_get_it(
    endpoint_at, httpserver, django_capture_on_commit_callbacks
):
    endpoint_at("access.granted", path="/accesses")
    httpserver.expect_request("/accesses").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        purchase = buy(offer_for_sale())
    # The access's event only, not the purchase's.
    [request] = received(httpserver)
    payload = json.loads(request.get_data())
    assert payload["type"] == "access.granted"
    assert payload["data"]["object"]["Code"] == purchase.access.code


def publish_and_fan_out(endpoint):
    """One buyer.created event, fanned out to its endpoint, not yet sent."""
    from tests.buyers.factories import BuyerFactory

    with transaction.atomic():
        BuyerFactory()  # the factory goes around the service: publish as the service does
        from buyers.models import Buyer
        from core import events

        events.publish("buyer.created", Buyer.objects.latest("pk"))
    [message] = OutboxMessage.objects.filter(kind="events.published", status="pending")
    delivery.fan_out(message.payload)
    return WebhookDelivery.objects.get(endpoint=endpoint)


def test_a_500_is_retried_later_and_then_delivered(endpoint_at, httpserver):
    endpoint = endpoint_at()
    pending = publish_and_fan_out(endpoint)
    httpserver.expect_ordered_request("/hooks").respond_with_data("down", status=500)
    httpserver.expect_ordered_request("/hooks").respond_with_data("ok", status=200)

    assert delivery.deliver() == 0
    pending.refresh_from_db()
    assert pending.status == WebhookDelivery.Status.PENDING
    wait = pending.next_attempt_at - timezone.now()
    assert timedelta(seconds=20) < wait < timedelta(seconds=40)  # backoff's first step, ±20 %
    assert delivery.deliver() == 0, "not due yet: nothing is sent"
    assert len(received(httpserver)) == 1

    assert delivery.deliver(now=pending.next_attempt_at + timedelta(seconds=1)) == 1
    pending.refresh_from_db()
    assert pending.status == WebhookDelivery.Status.DELIVERED
    log = list(WebhookAttempt.objects.filter(endpoint=endpoint).order_by("pk"))
    assert [(a.status_code, a.response_excerpt) for a in log] == [(500, "down"), (200, "ok")]
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_a_receiver_that_does_not_answer_in_time_is_retried(endpoint_at, httpserver):
    endpoint = endpoint_at()
    pending = publish_and_fan_out(endpoint)

    def slow(request):
        time.sleep(1.5)
        return Response("late")

    httpserver.expect_request("/hooks").respond_with_handler(slow)
    assert delivery.deliver() == 0
    [attempt] = WebhookAttempt.objects.filter(endpoint=endpoint)
    assert attempt.status_code is None and "Timeout" in attempt.error
    assert attempt.latency_ms < 1400
    pending.refresh_from_db()
    assert pending.status == WebhookDelivery.Status.PENDING and pending.attempts == 1
    assert pending.next_attempt_at > timezone.now()
    # The shared receiver answers one request at a time: let the slow answer finish.
    deadline = time.monotonic() + 5
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_redirect_is_not_followed(endpoint_at, httpserver):
    endpoint = endpoint_at()
    publish_and_fan_out(endpoint)
    httpserver.expect_request("/hooks").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_data("ok")
    assert delivery.deliver() == 0
    assert [r.path for r in received(httpserver)] == ["/hooks"]
    assert WebhookAttempt.objects.get().status_code == 302


def test_an_endpoint_failing_for_three_days_is_disabled_and_the_admins_are_told(
    endpoint_at, httpserver, mailoutbox, django_capture_on_commit_callbacks
):
    from tests.factories import UserFactory

    UserFactory(is_superuser=True, email="admin@shop.example")
    endpoint = endpoint_at()
    pending = publish_and_fan_out(endpoint)
    httpserver.expect_request("/hooks").respond_with_data("broken", status=503)
    start = timezone.now()
    delivery.deliver(now=start)
    endpoint.refresh_from_db()
    assert endpoint.failing_since == start and endpoint.enabled

    # Two days on it still fails, and is still retried.
    delivery.deliver(now=start + timedelta(days=2))
    endpoint.refresh_from_db()
    pending.refresh_from_db()
    assert endpoint.enabled and pending.status == WebhookDelivery.Status.PENDING
    assert pending.next_attempt_at <= pending.retry_from + timedelta(days=3)

    # Three days on: the delivery has failed for good, the endpoint is disabled, admins told.
    with django_capture_on_commit_callbacks(execute=True):
        delivery.deliver(now=start + timedelta(days=3, minutes=1))
    endpoint.refresh_from_db()
    pending.refresh_from_db()
    assert pending.status == WebhookDelivery.Status.FAILED
    assert not endpoint.enabled and "3 days" in endpoint.disabled_reason
    [mail] = mailoutbox
    assert mail.to == ["admin@shop.example"] and endpoint.url in mail.subject

    # A new event for it waits; nothing more is sent while it is disabled.
    sent = len(received(httpserver))
    publish = Event.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        from buyers import services as buyer_services

        buyer_services.create_buyer(email="new@example.com")
    assert Event.objects.count() == publish + 1
    assert delivery.deliver(now=start + timedelta(days=4)) == 0
    assert len(received(httpserver)) == sent


def test_resend_sends_a_delivered_event_again(endpoint_at, httpserver):
    endpoint = endpoint_at()
    pending = publish_and_fan_out(endpoint)
    httpserver.expect_request("/hooks").respond_with_data("ok")
    delivery.deliver()
    services.resend_delivery(delivery=pending)
    delivery.deliver()
    ids = [r.headers["Webhook-Id"] for r in received(httpserver)]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert WebhookAttempt.objects.filter(delivery=pending).count() == 2


def test_a_test_event_goes_to_that_endpoint_only(
    endpoint_at, httpserver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_at(path="/one")
    endpoint_at(path="/two")
    httpserver.expect_request("/one").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        services.send_test_event(endpoint=endpoint)
    [request] = received(httpserver)
    assert request.path == "/one" and request.headers["Webhook-Event"] == "webhook.test"
    assert readme_verifier()(
        endpoint.secret, request.get_data(), request.headers["Webhook-Signature"]
    )


def test_replay_sends_the_events_of_a_time_range_the_endpoint_wants(
    endpoint_at, httpserver, django_capture_on_commit_callbacks
):
    from buyers import services as buyer_services

    with django_capture_on_commit_callbacks(execute=True):  # before the endpoint existed
        first = buyer_services.create_buyer(email="a@example.com")
        buyer_services.update_buyer(buyer=first, email="a@example.com", name="Ann")
    between = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        buyer_services.create_buyer(email="b@example.com")
    endpoint = endpoint_at("buyer.created")
    httpserver.expect_request("/hooks").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        replayed = services.replay_events(
            endpoint=endpoint, start=between - timedelta(hours=1), end=between
        )
    assert replayed == 1
    [request] = received(httpserver)
    payload = json.loads(request.get_data())
    assert (payload["type"], payload["data"]["object"]["Email"]) == (
        "buyer.created",
        "a@example.com",
    )


def test_a_replay_with_its_ends_reversed_is_refused(endpoint_at):
    from webhooks.errors import InvalidRange

    now = timezone.now()
    with pytest.raises(InvalidRange):
        services.replay_events(endpoint=endpoint_at(), start=now, end=now - timedelta(hours=1))
    assert not WebhookDelivery.objects.exists()


def test_a_late_answer_from_a_lapsed_claim_does_not_undo_a_newer_delivery(endpoint_at):
    """Worker A's POST outlives its lease; worker B claims, delivers and records; A's failure,
    recorded last, is logged but leaves the delivery delivered."""
    endpoint = endpoint_at()
    pending = publish_and_fan_out(endpoint)
    now = timezone.now()
    [first] = delivery.claim(limit=10, now=now)
    later = now + timedelta(minutes=5)
    [second] = delivery.claim(limit=10, now=later)
    delivery.record([second], [delivery.Outcome(True, 200, 5, "ok")], now=later)
    delivery.record([first], [delivery.Outcome(False, None, 9000, error="ReadTimeout")], now=later)
    pending.refresh_from_db()
    assert pending.status == WebhookDelivery.Status.DELIVERED
    assert WebhookAttempt.objects.filter(delivery=pending).count() == 2
