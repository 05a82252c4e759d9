"""Events: what happened to an object that the shop's other systems care about.

A service that makes a change calls `publish(type, obj)` in its own transaction: the Event row
(the object rendered as the JSON API shows it) and one outbox message naming the new events are
written with the change, so a rolled-back change leaves no event and a broker that is down only
delays them (core/outbox.py). Who receives them is not this module's business: the app that
delivers events (webhooks/) registers the outbox kind EVENTS_MESSAGE from its AppConfig.ready();
with no such app the events are only recorded.

The services live below the API in the layers, so they cannot render its JSON themselves: the
API registers a renderer per object kind (the part of the type before the dot) from its
AppConfig.ready() (`register_renderer`). A renderer may also give the same rendering as SQL, so that
a batch of many objects of one kind (a renewal batch's contracts) is published by one INSERT ...
SELECT (`publish_in_sql`), with no object loaded in Python.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from . import outbox
from .models import Event

# Every type an event can have, with what it means (the endpoints' pages offer these).
EVENT_TYPES: dict[str, str] = {
    "purchase.completed": "A purchase was paid and its access granted.",
    "purchase.failed": "A purchase was refused by the payment or could not be completed.",
    "purchase.refunded": "A purchase was refunded in full.",
    "purchase.cancelled": "A purchase was cancelled (now, or at its period's end).",
    "access.granted": "A buyer was given access to a subscription.",
    "access.changed": "An access's dates, limits or link changed.",
    "access.revoked": "An access was taken away.",
    "access.expiring": "An access expires soon (sent once per access).",
    "contract.renewed": "A recurring contract was charged for its next period.",
    "contract.renewal_failed": "A renewal charge was declined; it will be retried.",
    "contract.paused": "A recurring contract was paused.",
    "contract.resumed": "A paused recurring contract was resumed.",
    "contract.plan_changed": "A recurring contract moved to another pricing model.",
    "contract.ended": "A recurring contract ended (cancelled, or expired after failed retries).",
    "buyer.created": "A buyer was created.",
    "buyer.updated": "A buyer's contacts or name changed.",
}

# The outbox kind that tells the delivering app about new events: {"event_ids": [...]}.
EVENTS_MESSAGE = "events.published"


@dataclass(frozen=True)
class Renderer:
    render: Callable[[object], dict]
    api_version: str
    # The same rendering done by the database, for `publish_in_sql`: a SELECT answering
    # (id, code, data) for the objects whose ids are in the array parameter %(ids)s.
    sql: str = ""


# object kind ("purchase") -> how the API shows it. Filled from the API's AppConfig.ready().
RENDERERS: dict[str, Renderer] = {}


def register_renderer(
    kind: str, render: Callable[[object], dict], *, api_version: str, sql: str = ""
) -> None:
    """Name the function that shows objects of `kind` as the API does (AppConfig.ready()),
    and optionally the SELECT that renders them alike in the database (see Renderer.sql)."""
    known = RENDERERS.get(kind)
    if known is not None and known.render is not render:
        raise ValueError(f"Objects of kind {kind!r} already have a renderer.")
    RENDERERS[kind] = Renderer(render, api_version, sql)


def object_kind(event_type: str) -> str:
    return event_type.split(".", 1)[0]


def _row(event_type: str, obj, key: str, now) -> Event:
    if event_type not in EVENT_TYPES:
        raise LookupError(f"Unknown event type {event_type!r}.")
    renderer = RENDERERS.get(object_kind(event_type))
    if renderer is None:
        raise LookupError(f"No renderer is registered for {object_kind(event_type)!r} objects.")
    return Event(
        type=event_type,
        created_at=now,
        api_version=renderer.api_version,
        object_code=str(getattr(obj, "code", ""))[:40],
        data=renderer.render(obj),
        key=key,
    )


def publish(event_type: str, obj, *, key: str = "") -> int:
    """Record that `event_type` happened to `obj`, in the caller's transaction; delivered after
    it commits. Answers 1, or 0 when the event named `key` was recorded before."""
    return publish_many([(event_type, obj, key)])


def publish_many(events: Iterable[tuple[str, object, str]]) -> int:
    """Record several events (type, object, key) with two inserts whatever their number: the
    events and one outbox message naming them. Answers how many were recorded now."""
    now = timezone.now()
    rows = [_row(event_type, obj, key, now) for event_type, obj, key in events]
    if not rows:
        return 0
    with transaction.atomic():
        keys = {row.key for row in rows if row.key}
        if keys:
            known = set(Event.objects.filter(key__in=keys).values_list("key", flat=True))
            seen: set[str] = set()
            fresh = []
            for row in rows:
                if row.key and (row.key in known or row.key in seen):
                    continue
                seen.add(row.key)
                fresh.append(row)
            rows = fresh
        # Unkeyed events cannot conflict; a keyed one written meanwhile by a concurrent
        # transaction makes this insert wait for it and then fail: the caller's retry skips it.
        created = Event.objects.bulk_create(rows)
        if created and EVENTS_MESSAGE in outbox.HANDLERS:
            outbox.enqueue(EVENTS_MESSAGE, {"event_ids": [row.pk for row in created]})
    return len(created)


PUBLISH_SQL = """
    INSERT INTO {table} ({uid}, {type}, {created_at}, {api_version}, {object_code}, {data}, {key})
    SELECT gen_random_uuid(), %(type)s, %(now)s, %(version)s, left(o.code, 40), o.data, e.key
    FROM unnest(%(ids)s::bigint[], %(keys)s::text[]) WITH ORDINALITY AS e(id, key, n)
    JOIN ({objects}) AS o(id, code, data) ON o.id = e.id
    ORDER BY e.n
    ON CONFLICT DO NOTHING
    RETURNING {id}
"""


def publish_in_sql(event_type: str, ids: list[int], keys: list[str]) -> int:
    """`publish_many` for many objects of one kind on PostgreSQL, rendered by the database with
    the renderer's SQL (no object loaded in Python): one insert of the events (one per id, named
    by the key beside it; a key recorded before skips its event) and one outbox message naming
    them, in the caller's transaction. Answers how many were recorded now."""
    if event_type not in EVENT_TYPES:
        raise LookupError(f"Unknown event type {event_type!r}.")
    renderer = RENDERERS.get(object_kind(event_type))
    if renderer is None or not renderer.sql:
        raise LookupError(f"No SQL renderer is registered for {object_kind(event_type)!r}.")
    if not ids:
        return 0
    meta = Event._meta
    quote = connection.ops.quote_name
    columns = {
        name: quote(meta.get_field(name).column)
        for name in ("id", "uid", "type", "created_at", "api_version", "object_code", "data", "key")
    }
    # Names from the model's metadata and the renderer's registered SELECT; values are parameters.
    sql = PUBLISH_SQL.format(table=quote(meta.db_table), objects=renderer.sql, **columns)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "type": event_type,
                "now": timezone.now(),
                "version": renderer.api_version,
                "ids": list(ids),
                "keys": list(keys),
            },
        )
        created = sorted(row[0] for row in cursor.fetchall())
        if created and EVENTS_MESSAGE in outbox.HANDLERS:
            outbox.enqueue(EVENTS_MESSAGE, {"event_ids": created})
    return len(created)


def api_version() -> str:
    """The version of the API that renders events now (one API renders every kind)."""
    return next(iter(RENDERERS.values())).api_version if RENDERERS else ""
