"""Webhook endpoints as admins manage them (the pages, the admin and `manage.py
webhook_endpoint` call these): add, enable or disable, resend one event, send a test event,
replay a time range. Delivery itself is webhooks/delivery.py."""

from django.db import transaction
from django.utils import timezone

from core import events
from core.models import Event

from .addresses import resolve
from .delivery import hand_to_broker
from .errors import InvalidRange, UnknownEventType
from .models import ALL_EVENTS, WebhookDelivery, WebhookEndpoint

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
