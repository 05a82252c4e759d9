"""Webhook endpoints as admins manage them (the pages, the admin and `manage.py
webhook_endpoint` call these): add, enable or disable, resend one event, send a test event,
replay a time range. Delivery itself is webhooks/delivery.py."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import events
from core.models import Event

from .addresses import resolve
from .delivery import hand_to_broker
from .errors import InvalidOverlap, InvalidRange, UnknownEventType
from .models import ALL_EVENTS, WebhookAttempt, WebhookDelivery, WebhookEndpoint, new_signing_secret

TEST_EVENT = "webhook.test"
REPLAY_CHUNK = 1000


def check_event_types(event_types) -> list[str]:
    chosen = list(dict.fromkeys(t.strip() for t in event_types if t and t.strip()))
    if not chosen:
        raise UnknownEventType("Choose at least one event type.")
    if ALL_EVENTS in chosen:
        return [ALL_EVENTS]
    unknown = [t for t in chosen if t not in events.EVENT_TYPES]
    if unknown:
        raise UnknownEventType(f"Unknown event type: {', '.join(unknown)}.")
    return chosen


def create_endpoint(*, url: str, event_types, description: str = "", created_by=None):
    """A new enabled endpoint with a fresh signing secret (show it to the admin now: pages never
    show it again). Refused for a URL that is not HTTPS (unless DEBUG) or not public."""
    url = (url or "").strip()
    resolve(url)
    return WebhookEndpoint.objects.create(
        url=url,
        event_types=check_event_types(event_types),
        description=(description or "").strip()[:200],
        created_by=created_by,
    )


@transaction.atomic
def set_endpoint_enabled(*, endpoint: WebhookEndpoint, enabled: bool) -> WebhookEndpoint:
    """Disable an endpoint (nothing more is sent; its pending deliveries wait) or enable it
    again (they resume, with a fresh failure count)."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if enabled and not endpoint.enabled:
        resolve(endpoint.url)  # a URL that became private since is not enabled again
        endpoint.enabled, endpoint.failing_since = True, None
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
        endpoint.disabled_by_failures = False
        pending = list(
            endpoint.deliveries.filter(status=WebhookDelivery.Status.PENDING).values_list(
                "pk", flat=True
            )
        )
        endpoint.deliveries.filter(pk__in=pending).update(next_attempt_at=timezone.now())
        transaction.on_commit(lambda: hand_to_broker(pending), robust=True)
    elif not enabled and endpoint.enabled:
        endpoint.enabled, endpoint.disabled_at = False, timezone.now()
        endpoint.disabled_reason = "Disabled by an admin."
    endpoint.save()
    return endpoint


@transaction.atomic
def rotate_secret(*, endpoint: WebhookEndpoint, keep_previous_hours: int) -> WebhookEndpoint:
    """A new signing secret (show it to the admin now: pages never show it again). For
    `keep_previous_hours` the old one signs too (a second v1 in Webhook-Signature), so a
    receiver can switch without refusing a delivery; 0 drops it at once."""
    limit = settings.WEBHOOK_SECRET_OVERLAP_MAX_HOURS
    if keep_previous_hours is None or not 0 <= keep_previous_hours <= limit:
        raise InvalidOverlap(f"Keep the old secret for 0 to {limit} hours.")
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if keep_previous_hours:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_until = timezone.now() + timedelta(hours=keep_previous_hours)
    else:
        endpoint.previous_secret, endpoint.previous_secret_until = "", None
    endpoint.secret = new_signing_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return endpoint


def purge_history(*, now=None, chunk: int = 5000) -> dict:
    """Forget deliveries settled (delivered or failed) more than WEBHOOK_RETENTION_DAYS ago and
    attempts older than that, in chunks (the log must not grow without bound). Pending
    deliveries and their attempts are kept whatever their age; the events themselves stay
    (they are the site's record, core.models.Event). Answers how many of each went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOK_RETENTION_DAYS)
    settled = WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(
        status=WebhookDelivery.Status.PENDING
    )
    old_attempts = WebhookAttempt.objects.filter(attempted_at__lt=cutoff).exclude(
        delivery__status=WebhookDelivery.Status.PENDING
    )
    gone = {"attempts": 0, "deliveries": 0}
    for name, rows in (("attempts", old_attempts), ("deliveries", settled)):
        while True:
            ids = list(rows.values_list("pk", flat=True)[:chunk])
            if not ids:
                break
            with transaction.atomic():
                if name == "deliveries":
                    WebhookAttempt.objects.filter(delivery_id__in=ids).delete()
                rows.model.objects.filter(pk__in=ids).delete()
            gone[name] += len(ids)
    return gone


def _due_again(deliveries, now) -> list[int]:
    ids = list(deliveries.values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=now, retry_from=now
    )
    return ids


@transaction.atomic
def resend_delivery(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send this event to its endpoint again now (delivered or not), with a fresh retry window."""
    ids = _due_again(WebhookDelivery.objects.filter(pk=delivery.pk), timezone.now())
    transaction.on_commit(lambda: hand_to_broker(ids), robust=True)
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def send_test_event(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` event sent to this endpoint only, to check the receiver and its
    signature check."""
    now = timezone.now()
    event = Event.objects.create(
        type=TEST_EVENT,
        created_at=now,
        api_version=events.api_version(),
        object_code=endpoint.code,
        data={"Endpoint": endpoint.code, "Message": "A test event from the back office."},
    )
    delivery = WebhookDelivery.objects.create(
        event=event, endpoint=endpoint, next_attempt_at=now, retry_from=now
    )
    transaction.on_commit(lambda: hand_to_broker([delivery.pk]), robust=True)
    return delivery


def replay_events(*, endpoint: WebhookEndpoint, start, end) -> int:
    """Send every event of [start, end) that the endpoint wants to it again (or for the first
    time), oldest first; answers how many. Test events are not replayed."""
    if start is None or end is None or start >= end:
        raise InvalidRange()
    now = timezone.now()
    wanted = Event.objects.filter(created_at__gte=start, created_at__lt=end).exclude(
        type=TEST_EVENT
    )
    if ALL_EVENTS not in endpoint.event_types:
        wanted = wanted.filter(type__in=endpoint.event_types)
    total = 0
    event_ids = list(wanted.order_by("created_at", "pk").values_list("pk", flat=True))
    for first in range(0, len(event_ids), REPLAY_CHUNK):
        chunk = event_ids[first : first + REPLAY_CHUNK]
        with transaction.atomic():
            existing = endpoint.deliveries.filter(event_id__in=chunk)
            known = set(existing.values_list("event_id", flat=True))
            ids = _due_again(existing, now)
            created = WebhookDelivery.objects.bulk_create(
                WebhookDelivery(event_id=pk, endpoint=endpoint, next_attempt_at=now, retry_from=now)
                for pk in chunk
                if pk not in known
            )
            ids += [row.pk for row in created]
            transaction.on_commit(lambda ids=ids: hand_to_broker(ids), robust=True)
        total += len(chunk)
    return total
