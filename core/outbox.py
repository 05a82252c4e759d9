"""The transactional outbox: a side effect that must follow a commit (a buyer e-mail, an outbound
event) is an OutboxMessage row written in the transaction of the change, so it exists exactly
when the change does. After the commit it is handed to Celery; a broker that is down then only
delays it: the relay job (beat, every OUTBOX_RELAY_SECONDS) delivers every row that is due.

Delivery claims the row with SELECT ... FOR UPDATE SKIP LOCKED and marks it sent in the same
transaction as the handler's own writes (the SentEmail record of an e-mail), so two workers, or
a worker and the relay job, never deliver one row twice. A failing handler is retried with
exponential backoff; after OUTBOX_MAX_ATTEMPTS the row is dead and stays for staff to see.

Handlers are registered by kind from each app's AppConfig.ready() (`register`): the site
imports no app, and an app adds a kind without touching this module.
"""

import json
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone, translation

from .models import OutboxMessage

logger = logging.getLogger(__name__)

Handler = Callable[[dict], object]

# kind -> handler(payload). Filled from AppConfig.ready() of the apps that own the kinds.
HANDLERS: dict[str, Handler] = {}

# After a failed hand-over to the broker, this process leaves the next ones to the relay job
# for a few seconds instead of paying a connection attempt on every request.
_broker_resting_until = 0.0
BROKER_REST_SECONDS = 10.0


def register(kind: str, handler: Handler) -> None:
    """Name the function that delivers messages of `kind` (called from AppConfig.ready())."""
    if HANDLERS.get(kind, handler) is not handler:
        raise ValueError(f"Outbox kind {kind!r} already has a handler.")
    HANDLERS[kind] = handler


@dataclass(frozen=True)
class Message:
    kind: str
    payload: dict
    key: str = ""
    # The language its handler runs in (a buyer's e-mail in the buyer's language), fixed when
    # the message is written; empty: the site's (settings.LANGUAGE_CODE).
    language: str = ""


LANGUAGE_KEY = "language"


def enqueue(kind: str, payload: dict, *, key: str = "", language: str = "") -> int:
    """Write one message in the current transaction; it is delivered after the commit, in
    `language` when given. Answers 1 when written, 0 when its event (`key`) was written
    before."""
    return enqueue_many([Message(kind, payload, key, language)])


def enqueue_many(messages: Iterable[Message]) -> int:
    """Write messages in the current transaction (one insert); answers how many were written.
    A message whose `key` was written before (in this transaction or long ago) is skipped."""
    messages = list(messages)
    for message in messages:
        if message.kind not in HANDLERS:
            raise LookupError(f"No outbox handler is registered for {message.kind!r}.")
    # The first of two messages with one key in the same call is the one written; a message's
    # language rides in its payload, read back by the handler's run.
    seen: set[str] = set()
    fresh = []
    for message in messages:
        if message.key:
            if message.key in seen:
                continue
            seen.add(message.key)
        if message.language:
            message = replace(message, payload={**message.payload, LANGUAGE_KEY: message.language})
        fresh.append(message)
    if not fresh:
        return 0
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            ids = _insert_in_sql(fresh, now)
        else:
            ids = _insert_with_orm(fresh, now)
    if ids:
        transaction.on_commit(lambda: hand_to_broker(sorted(ids)), robust=True)
    return len(ids)


INSERT_MESSAGES_SQL = """
    INSERT INTO {table} ({kind}, {payload}, {key}, {status}, {attempts}, {available_at},
                         {last_error}, {created_at})
    SELECT m.kind, m.payload::jsonb, m.key, 'pending', 0, %(now)s, '', %(now)s
    FROM unnest(%(kinds)s::text[], %(payloads)s::text[], %(keys)s::text[])
        WITH ORDINALITY AS m(kind, payload, key, n)
    ORDER BY m.n
    ON CONFLICT DO NOTHING
    RETURNING {id}
"""


def _insert_in_sql(messages: list[Message], now) -> list[int]:
    """PostgreSQL: one statement with three array parameters, whatever the number of messages
    (no model objects, no parameter per cell); a key written before, or meanwhile by a
    concurrent transaction, skips its row (the unique key's conflict)."""
    meta = OutboxMessage._meta
    quote = connection.ops.quote_name
    columns = {
        name: quote(meta.get_field(name).column)
        for name in (
            "id",
            "kind",
            "payload",
            "key",
            "status",
            "attempts",
            "available_at",
            "last_error",
            "created_at",
        )
    }
    encoder = meta.get_field("payload").encoder
    # Only names from the model's own metadata, quoted, go into the text; values are parameters.
    sql = INSERT_MESSAGES_SQL.format(table=quote(meta.db_table), **columns)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "now": now,
                "kinds": [message.kind for message in messages],
                "payloads": [json.dumps(message.payload, cls=encoder) for message in messages],
                "keys": [message.key for message in messages],
            },
        )
        return [row[0] for row in cursor.fetchall()]


def _insert_with_orm(messages: list[Message], now) -> list[int]:
    """Other databases (SQLite in development): the ORM's inserts, then the keyed rows' ids."""
    rows = [
        OutboxMessage(
            kind=message.kind,
            payload=message.payload,
            key=message.key,
            created_at=now,
            available_at=now,
        )
        for message in messages
    ]
    keys = {row.key for row in rows if row.key}
    known = set(
        OutboxMessage.objects.filter(key__in=keys).values_list("key", flat=True) if keys else ()
    )
    new = [row for row in rows if not row.key or row.key not in known]
    # ignore_conflicts: a concurrent transaction may write the same event meanwhile.
    OutboxMessage.objects.bulk_create([r for r in new if r.key], ignore_conflicts=True)
    ids = [r.pk for r in OutboxMessage.objects.bulk_create([r for r in new if not r.key])]
    new_keys = [row.key for row in new if row.key]
    if new_keys:
        # ignore_conflicts gives no ids back: read them.
        ids += OutboxMessage.objects.filter(
            key__in=new_keys, status=OutboxMessage.Status.PENDING
        ).values_list("pk", flat=True)
    return ids


def hand_to_broker(ids: list[int]) -> bool:
    """Ask a worker to deliver these messages now. A broker that is down is logged, never
    raised: the relay job delivers them when it is back. True when handed over."""
    global _broker_resting_until
    if time.monotonic() < _broker_resting_until:
        return False
    from .tasks import deliver_outbox_messages

    try:
        deliver_outbox_messages.apply_async((ids,), retry=False)
    except Exception as error:  # any broker or connection error: the rows wait for the relay
        _broker_resting_until = time.monotonic() + BROKER_REST_SECONDS
        logger.warning(
            "Broker unavailable (%s): %d outbox message(s) wait for the relay job.",
            type(error).__name__,
            len(ids),
        )
        return False
    return True


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: base, 2×base, 4×base, … capped, ±20 %."""
    base = settings.OUTBOX_RETRY_SECONDS * 2 ** max(0, attempts - 1)
    seconds = min(base, settings.OUTBOX_RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def _attempt(message: OutboxMessage) -> bool:
    """Run the handler of a claimed (locked) row and record the outcome on it."""
    now = timezone.now()
    handler = HANDLERS.get(message.kind)
    message.attempts += 1
    try:
        if handler is None:
            raise LookupError(f"No outbox handler is registered for {message.kind!r}.")
        # A failing handler's own writes are undone. It runs in the message's language, not in
        # whatever language this worker or request last used.
        language = message.payload.get(LANGUAGE_KEY) or settings.LANGUAGE_CODE
        with transaction.atomic(), translation.override(language):
            handler(message.payload)
    except Exception as error:
        message.last_error = f"{type(error).__name__}: {error}"[:2000]
        if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            message.status = OutboxMessage.Status.DEAD
            logger.error(
                "Outbox message %s (%s) failed for good: %s", message.pk, message.kind, error
            )
        else:
            message.available_at = now + retry_delay(message.attempts)
            logger.warning(
                "Outbox message %s (%s) failed (attempt %d), retried at %s: %s",
                message.pk,
                message.kind,
                message.attempts,
                message.available_at.isoformat(timespec="seconds"),
                error,
            )
        message.save(update_fields=["attempts", "last_error", "status", "available_at"])
        return False
    message.status, message.sent_at = OutboxMessage.Status.SENT, now
    message.save(update_fields=["attempts", "status", "sent_at"])
    return True


def _due(now):
    return OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, available_at__lte=now)


def deliver(ids: Iterable[int]) -> int:
    """Deliver these messages if they are still due and no one else holds them; answers how
    many were delivered now. Each one is claimed and marked in its own transaction."""
    delivered = 0
    for message_id in ids:
        with transaction.atomic():
            message = (
                _due(timezone.now()).select_for_update(skip_locked=True).filter(pk=message_id)
            ).first()
            if message is not None:
                delivered += _attempt(message)
    return delivered


def relay_due(*, limit: int | None = None) -> int:
    """Deliver every message that is due, oldest first, each claimed with SKIP LOCKED (the
    relay job: several workers may run it at once). Answers how many were delivered."""
    limit = settings.OUTBOX_RELAY_BATCH if limit is None else limit
    delivered = 0
    for _ in range(limit):
        with transaction.atomic():
            message = (
                _due(timezone.now())
                .select_for_update(skip_locked=True)
                .order_by("available_at", "pk")
                .first()
            )
            if message is None:
                break
            delivered += _attempt(message)
    return delivered


def purge_sent(*, now=None) -> int:
    """Forget sent messages older than OUTBOX_KEEP_DAYS (what was mailed stays in SentEmail);
    pending and dead ones stay. Answers how many were forgotten."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.OUTBOX_KEEP_DAYS)
    old = OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT, sent_at__lt=before)
    deleted, _ = old.delete()
    return deleted


@dataclass(frozen=True)
class OutboxState:
    """What staff and the health check need: how late the oldest due message is, how many are
    waiting past OUTBOX_STUCK_MINUTES (or failing), how many failed for good."""

    oldest_due_seconds: float
    stuck: int
    dead: int

    @property
    def late(self) -> bool:
        return self.oldest_due_seconds > settings.OUTBOX_STUCK_MINUTES * 60


def outbox_state(*, now=None) -> OutboxState:
    """Two indexed queries: the oldest due row, and the stuck and dead counts."""
    now = now or timezone.now()
    oldest = _due(now).aggregate(oldest=Min("available_at"))["oldest"]
    stuck_before = now - timedelta(minutes=settings.OUTBOX_STUCK_MINUTES)
    counts = OutboxMessage.objects.filter(
        Q(status=OutboxMessage.Status.DEAD)
        | Q(status=OutboxMessage.Status.PENDING, created_at__lt=stuck_before)
        | Q(status=OutboxMessage.Status.PENDING, attempts__gt=0)
    ).aggregate(
        dead=Count("pk", filter=Q(status=OutboxMessage.Status.DEAD)),
        stuck=Count("pk", filter=Q(status=OutboxMessage.Status.PENDING)),
    )
    return OutboxState(
        oldest_due_seconds=(now - oldest).total_seconds() if oldest else 0.0,
        stuck=counts["stuck"],
        dead=counts["dead"],
    )


def send_again(ids: Iterable[int]) -> int:
    """Staff's "send again" on dead or waiting messages: due now, with a fresh count of
    attempts (OUTBOX_MAX_ATTEMPTS more before it is dead again). Sent ones are left alone."""
    with transaction.atomic():
        changed = list(
            OutboxMessage.objects.filter(pk__in=list(ids))
            .exclude(status=OutboxMessage.Status.SENT)
            .values_list("pk", flat=True)
        )
        OutboxMessage.objects.filter(pk__in=changed).update(
            status=OutboxMessage.Status.PENDING,
            available_at=timezone.now(),
            attempts=0,
        )
        if changed:
            transaction.on_commit(lambda: hand_to_broker(changed), robust=True)
    return len(changed)
