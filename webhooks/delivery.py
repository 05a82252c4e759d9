"""Delivering events to endpoints: fan-out, signing, sending, retrying, giving up.

1. `fan_out` (the outbox handler of core.events.EVENTS_MESSAGE, run once per committed batch of
   events) writes one WebhookDelivery per event and enabled endpoint that wants its type, and
   hands them to a worker after that commit; a broker that is down leaves them to the relay job.
2. `deliver` claims due deliveries (SELECT ... FOR UPDATE SKIP LOCKED) and pushes their
   `next_attempt_at` one lease ahead in a short transaction, POSTs them concurrently outside any
   transaction, then records every attempt in one more. A worker killed mid-POST leaves its
   deliveries due again when the lease passes: at least once, never lost, possibly twice.
3. A failed attempt is retried with exponential backoff until WEBHOOK_RETRY_DAYS after the
   delivery was written (or resent); an endpoint failing that long is disabled and the admins
   are told through the outbox.
"""

import hashlib
import hmac
import json
import logging
import math
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core import outbox
from core.bulk import update_rows
from core.models import Event

from .addresses import Target, resolve
from .errors import EndpointRefused
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

EXCERPT_BYTES = 1024
USER_AGENT = "VideoShopBackOffice-Webhooks/1"
_broker_resting_until = 0.0


# --- Fan-out ---------------------------------------------------------------------------------


def fan_out(payload: dict) -> int:
    """New events -> one pending delivery per enabled endpoint that wants each; answers how many.
    Runs in the outbox's transaction, which marks the message sent: written once."""
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True))
    if not endpoints:
        return 0
    now = timezone.now()
    rows = [
        WebhookDelivery(event_id=pk, endpoint=endpoint, next_attempt_at=now, retry_from=now)
        for pk, event_type in Event.objects.filter(pk__in=payload["event_ids"]).values_list(
            "pk", "type"
        )
        for endpoint in endpoints
        if endpoint.wants(event_type)
    ]
    created = WebhookDelivery.objects.bulk_create(rows)
    ids = [row.pk for row in created]
    if ids:
        transaction.on_commit(lambda: hand_to_broker(ids), robust=True)
    return len(ids)


def hand_to_broker(ids: list[int]) -> bool:
    """Ask workers to deliver these now, in batches of WEBHOOK_BATCH (spread over workers). A
    broker that is down is logged, not raised: the relay job sends them when it is back."""
    global _broker_resting_until
    if time.monotonic() < _broker_resting_until:
        return False
    from .tasks import deliver_webhooks

    size = settings.WEBHOOK_BATCH
    try:
        for start in range(0, len(ids), size):
            deliver_webhooks.apply_async((ids[start : start + size],), retry=False)
    except Exception as error:  # any broker error: the rows wait for the relay job
        _broker_resting_until = time.monotonic() + outbox.BROKER_REST_SECONDS
        logger.warning("Broker unavailable (%s): webhook deliveries wait.", type(error).__name__)
        return False
    return True


# --- Signing -------------------------------------------------------------------------------


def body_of(event: Event) -> bytes:
    return json.dumps(event.as_payload(), ensure_ascii=False, separators=(",", ":")).encode()


def signature(secrets: str | list[str], timestamp: int, body: bytes) -> str:
    """The Webhook-Signature header: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">, one v1
    per secret (two during a rotation's overlap: the new one first)."""
    signed = f"{timestamp}.".encode() + body
    macs = [
        hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        for secret in ([secrets] if isinstance(secrets, str) else secrets)
    ]
    return ",".join([f"t={timestamp}", *(f"v1={mac}" for mac in macs)])


def headers_for(endpoint: WebhookEndpoint, event: Event, body: bytes) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Webhook-Id": event.public_id,
        "Webhook-Event": event.type,
        "Webhook-Signature": signature(endpoint.signing_secrets(), int(time.time()), body),
    }


# --- Sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None
    latency_ms: int
    excerpt: str = ""
    error: str = ""


_pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
_pools_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _pool(target: Target) -> urllib3.HTTPConnectionPool:
    """A keep-alive pool per checked address and host name, shared by this process's threads.
    It connects to the address that was checked; TLS still verifies the host name."""
    key = (target.scheme, target.address, target.port, target.host)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            options = {"maxsize": settings.WEBHOOK_CONCURRENCY, "block": False, "retries": False}
            if target.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    target.address,
                    target.port,
                    server_hostname=target.host,
                    assert_hostname=target.host,
                    cert_reqs="CERT_REQUIRED",
                    **options,
                )
            else:
                pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)
            _pools[key] = pool
    return pool


def target_of(url: str) -> Target | EndpointRefused:
    """Where to send (its addresses checked now), or why not."""
    try:
        return resolve(url)
    except EndpointRefused as refusal:
        return refusal


def post(target: Target | EndpointRefused, body: bytes, headers: dict) -> Outcome:
    """POST once, never following a redirect; 2xx is success. Answers what happened."""
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    if isinstance(target, EndpointRefused):
        return Outcome(False, None, elapsed(), error=target.message[:300])
    host = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    try:
        response = _pool(target).urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host},
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
            timeout=urllib3.Timeout(total=settings.WEBHOOK_TIMEOUT_SECONDS),
        )
        try:
            excerpt = response.read(EXCERPT_BYTES, decode_content=False)
        finally:
            if response.length_remaining == 0:
                response.release_conn()  # read to its end: the connection is reused
            else:
                response.close()
    except Exception as error:  # timeouts, refused connections, TLS and protocol errors
        return Outcome(False, None, elapsed(), error=f"{type(error).__name__}: {error}"[:300])
    status = response.status
    return Outcome(
        200 <= status < 300, status, elapsed(), excerpt.decode("utf-8", errors="replace")
    )


def _send_all(jobs: list[tuple[Target | EndpointRefused, bytes, dict]]) -> list[Outcome]:
    global _executor
    if len(jobs) == 1:
        return [post(*jobs[0])]
    if _executor is None:  # created in the worker process, after any fork
        _executor = ThreadPoolExecutor(settings.WEBHOOK_CONCURRENCY, "webhook-post")
    return list(_executor.map(lambda job: post(*job), jobs))


# --- Claiming, recording, retrying ------------------------------------------------------------


def retry_window() -> timedelta:
    return timedelta(days=settings.WEBHOOK_RETRY_DAYS)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: base, 2×base, 4×base, … capped, ±20 %."""
    base = settings.WEBHOOK_RETRY_SECONDS * 2 ** max(0, attempts - 1)
    seconds = min(base, settings.WEBHOOK_RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def claim(*, ids=None, limit: int, now) -> list[WebhookDelivery]:
    """Take up to `limit` due deliveries to enabled endpoints, oldest first, for one lease: long
    enough for all of them to time out, WEBHOOK_CONCURRENCY at a time, plus a margin."""
    rounds = math.ceil(limit / settings.WEBHOOK_CONCURRENCY)
    lease = timedelta(
        seconds=rounds * settings.WEBHOOK_TIMEOUT_SECONDS + settings.WEBHOOK_LEASE_MARGIN_SECONDS
    )
    with transaction.atomic():
        due = WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=now,
            endpoint__enabled=True,
        )
        if ids is not None:
            due = due.filter(pk__in=list(ids))
        claimed = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .order_by("next_attempt_at", "pk")[:limit]
        )
        if claimed:
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                attempts=F("attempts") + 1, next_attempt_at=now + lease
            )
    for delivery in claimed:
        delivery.attempts += 1
    return claimed


def deliver(*, ids=None, limit: int | None = None, now=None) -> int:
    """Send one batch of due deliveries (of `ids` when given); answers how many succeeded."""
    return _deliver_batch(ids=ids, limit=limit, now=now)[1]


def deliver_due(*, now=None, max_batches: int = 50) -> int:
    """The relay job: send due deliveries batch after batch until none is left (or
    `max_batches`); several workers may run it at once. Answers how many succeeded."""
    delivered = 0
    for _ in range(max_batches):
        claimed, succeeded = _deliver_batch(now=now)
        delivered += succeeded
        if claimed < settings.WEBHOOK_BATCH:
            break
    return delivered


def _deliver_batch(*, ids=None, limit=None, now=None) -> tuple[int, int]:
    limit = settings.WEBHOOK_BATCH if limit is None else limit
    claimed = claim(ids=ids, limit=limit, now=now or timezone.now())
    if not claimed:
        return 0, 0
    bodies: dict[int, bytes] = {}
    # Each URL's host is resolved and checked once a batch (and so at every send, not only
    # when the endpoint was added).
    targets: dict[str, Target | EndpointRefused] = {}
    jobs = []
    for delivery in claimed:
        event, endpoint = delivery.event, delivery.endpoint
        body = bodies.get(event.pk)
        if body is None:
            body = bodies[event.pk] = body_of(event)
        if endpoint.url not in targets:
            targets[endpoint.url] = target_of(endpoint.url)
        jobs.append((targets[endpoint.url], body, headers_for(endpoint, event, body)))
    outcomes = _send_all(jobs)
    record(claimed, outcomes, now=now or timezone.now())
    return len(claimed), sum(outcome.succeeded for outcome in outcomes)


def record(claimed: list[WebhookDelivery], outcomes: list[Outcome], *, now) -> None:
    """Write the attempts and what follows from them, in one transaction: delivered, retried
    later, or failed for good; endpoints that recover or have failed for the whole window."""
    window = retry_window()
    succeeded, failing = set(), set()
    with transaction.atomic():
        WebhookAttempt.objects.bulk_create(
            WebhookAttempt(
                delivery=delivery,
                endpoint_id=delivery.endpoint_id,
                attempted_at=now,
                succeeded=outcome.succeeded,
                status_code=outcome.status_code,
                latency_ms=outcome.latency_ms,
                response_excerpt=outcome.excerpt,
                error=outcome.error,
            )
            for delivery, outcome in zip(claimed, outcomes, strict=True)
        )
        # A delivery whose lease passed while this POST ran may have been claimed again since
        # (or resent): its newer claim decides what happens to it.
        mine = {
            (pk, attempts)
            for pk, attempts in WebhookDelivery.objects.select_for_update()
            .filter(pk__in=[d.pk for d in claimed], status=WebhookDelivery.Status.PENDING)
            .values_list("pk", "attempts")
        }
        still_claimed = []
        for delivery, outcome in zip(claimed, outcomes, strict=True):
            if outcome.succeeded:
                succeeded.add(delivery.endpoint_id)
            else:
                failing.add(delivery.endpoint_id)
            if (delivery.pk, delivery.attempts) not in mine:
                continue
            still_claimed.append(delivery)
            delivery.last_status_code = outcome.status_code
            if outcome.succeeded:
                delivery.status, delivery.delivered_at = WebhookDelivery.Status.DELIVERED, now
                continue
            give_up_at = delivery.retry_from + window
            if now >= give_up_at:
                delivery.status = WebhookDelivery.Status.FAILED
            else:
                # The last retry falls at the window's end, not beyond it.
                delivery.next_attempt_at = min(now + retry_delay(delivery.attempts), give_up_at)
        update_rows(
            WebhookDelivery,
            still_claimed,
            ["status", "delivered_at", "last_status_code", "next_attempt_at"],
        )
        failing -= succeeded
        if succeeded:
            WebhookEndpoint.objects.filter(pk__in=succeeded, failing_since__isnull=False).update(
                failing_since=None
            )
        if failing:
            WebhookEndpoint.objects.filter(pk__in=failing, failing_since__isnull=True).update(
                failing_since=now
            )
            for endpoint in WebhookEndpoint.objects.select_for_update().filter(
                pk__in=failing, enabled=True, failing_since__lte=now - window
            ):
                disable_failing_endpoint(endpoint, now=now)


def disable_failing_endpoint(endpoint: WebhookEndpoint, *, now) -> None:
    """Stop sending to an endpoint that has failed for the whole retry window; tell the admins
    (an outbox e-mail, sent after this commits). Its pending deliveries wait for re-enabling."""
    from .notifications import queue_endpoint_disabled_email

    since = timezone.localtime(endpoint.failing_since).strftime("%Y-%m-%d %H:%M")
    endpoint.enabled, endpoint.disabled_at, endpoint.disabled_by_failures = False, now, True
    endpoint.disabled_reason = (
        f"Every delivery failed since {since} ({settings.WEBHOOK_RETRY_DAYS} days)."
    )
    endpoint.save(
        update_fields=["enabled", "disabled_at", "disabled_reason", "disabled_by_failures"]
    )
    queue_endpoint_disabled_email(endpoint)
    logger.error("Webhook endpoint %s disabled: %s", endpoint.code, endpoint.disabled_reason)
