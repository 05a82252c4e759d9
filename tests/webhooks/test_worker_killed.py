"""At least once on the real stack: a Celery worker killed (SIGKILL) in the middle of delivering
leaves nothing undelivered. Its claimed deliveries come back when their lease passes and another
worker sends them; the receiver may see some twice (the event id lets it de-duplicate)."""

import signal
from collections import Counter

import pytest

from webhooks.models import WebhookDelivery, WebhookEndpoint

from .stack import (
    Receiver,
    hand_over,
    needs_stack,
    start_worker,
    wait_for,
    worker_env,
    write_pending_deliveries,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EVENTS = 400


def test_every_event_reaches_the_receiver_across_a_worker_killed_mid_delivery(
    tmp_path, monkeypatch, capsys
):
    redis_url = needs_stack()
    receiver = Receiver(tmp_path, delay_ms=20)  # slow enough to kill a worker mid-batch
    WebhookEndpoint.objects.create(url=receiver.url, event_types=["*"])
    ids = write_pending_deliveries(EVENTS, monkeypatch)
    env = worker_env(
        tmp_path,
        redis_url,
        receiver,
        WEBHOOK_TIMEOUT_SECONDS="2",
        WEBHOOK_LEASE_MARGIN_SECONDS="1",
        WEBHOOK_BATCH="50",
        WEBHOOK_CONCURRENCY="4",
    )
    first = start_worker(env, "first")
    second = None
    try:
        hand_over(env, ids)
        assert wait_for(lambda: len(receiver.ids()) >= EVENTS // 4, timeout=90)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = len(receiver.ids())
        assert killed_at < EVENTS, "the worker finished before it was killed"
        # Its tasks went with it; the relay job (beat's, here called by a second worker's task)
        # sends what is due, the killed worker's claims once their lease has passed.
        second = start_worker(env, "second")
        pending = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)

        def relay_until_done():
            hand_over(env, list(pending.values_list("pk", flat=True)))
            return wait_for(lambda: not pending.exists(), timeout=10, interval=0.2)

        assert wait_for(relay_until_done, timeout=120, interval=0)
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=20)
        receiver.stop()
    received = receiver.ids()
    counts = Counter(received)
    assert len(counts) == EVENTS  # distinct event ids received = events written
    duplicates = len(received) - len(counts)
    with capsys.disabled():
        print(
            f"\n{EVENTS} events; worker killed after {killed_at} were received; "
            f"{len(received)} requests reached the receiver, {duplicates} of them duplicates"
        )
    assert WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).count() == EVENTS
