"""The audit trail: who wrote what, when, from where and why (core.models.AuditEntry).

Who is the *actor* of the current unit of work, carried in a context variable: the staff
middleware sets the signed-in user (with the request's address and id), the API key
authentication the key, self-service the buyer, and every Celery task the job. A service that
writes calls `record(action, obj, before=...)` inside its own transaction, so a rolled-back
write leaves no entry; a batch (renewals) builds its entries with `entry(...)` and writes them
with `record_many(...)`: one INSERT.

    before = audit.snapshot(access)
    ... change access ...
    audit.record("changed", access, before=before, reason=reason)
"""

import contextlib
import hashlib
import uuid
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from django.db import models
from django.utils import timezone

from .models import AuditEntry

Kind = AuditEntry.ActorKind

# Fields never written into the trail, whatever model they are on: secrets and bookkeeping.
# A change to a secret is shown as changed, without either value.
SECRET_FIELDS = frozenset(
    {"password", "pin_hash", "hash", "key_hash", "digest", "secret", "secret_hash"}
)
SKIPPED_FIELDS = frozenset({"id", "updated_at", "created_at", "search_text"})
HIDDEN = "••••"


@dataclass(frozen=True)
class Actor:
    kind: str
    id: str = ""
    label: str = ""
    address: str | None = None
    request_id: str = ""
    batch: uuid.UUID | None = None


SYSTEM = Actor(kind=Kind.SYSTEM, label="system")
_actor: ContextVar[Actor] = ContextVar("audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _actor.get()


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Every entry written inside the block names `actor`."""
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def set_actor(actor: Actor) -> None:
    """Name the actor for the rest of this request or task (the API key, once authenticated);
    the middleware or the task's end restores the one before."""
    _actor.set(actor)


def staff_actor(user, *, address=None, request_id="") -> Actor:
    return Actor(
        kind=Kind.STAFF,
        id=str(user.pk),
        label=user.get_username(),
        address=address,
        request_id=request_id,
    )


def api_key_actor(api_key) -> Actor:
    """The API key as actor, keeping the request's address and id."""
    here = current_actor()
    return Actor(
        kind=Kind.API_KEY,
        id=str(getattr(api_key, "prefix", "") or api_key.pk),
        label=str(api_key),
        address=here.address,
        request_id=here.request_id,
    )


def buyer_actor(buyer) -> Actor:
    """A buyer acting on their own (self-service), keeping the request's address and id."""
    here = current_actor()
    return Actor(
        kind=Kind.BUYER,
        id=buyer.code,
        label=str(buyer),
        address=here.address,
        request_id=here.request_id,
    )


def job_actor(name: str, *, task_id: str = "") -> Actor:
    return Actor(kind=Kind.JOB, id=name[:150], label=name.rsplit(".", 1)[-1], request_id=task_id)


@contextlib.contextmanager
def in_batch(batch: uuid.UUID | None = None) -> Iterator[uuid.UUID]:
    """Every entry written inside the block carries one batch id (a bulk action, to undo it)."""
    batch = batch or uuid.uuid4()
    with acting_as(replace(current_actor(), batch=batch)):
        yield batch


# --- What changed ---------------------------------------------------------------------------


def _shown(field, value, obj):
    """A field's value as staff read it, JSON-safe: money with its currency ("19.50 EUR")."""
    if value is None:
        return None
    if isinstance(field, models.DecimalField):
        currency = getattr(obj, "currency", None)
        if currency:
            from .money import format_amount

            return format_amount(value, currency)
        return str(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def snapshot(obj, fields: Iterable[str] | None = None) -> dict:
    """The object's fields as staff read them, keyed by the field's name (before a change)."""
    values = {}
    for field in obj._meta.concrete_fields:
        name = field.name
        if name in SKIPPED_FIELDS or (fields is not None and name not in fields):
            continue
        if field.is_relation:
            value = getattr(obj, field.attname)
            values[name] = None if value is None else str(value)
            continue
        value = getattr(obj, field.attname, None)
        if name in SECRET_FIELDS:
            values[name] = _fingerprint(value) if value else None
        else:
            values[name] = _shown(field, value, obj)
    return values


def stored(obj, fields: Iterable[str] | None = None) -> dict:
    """The snapshot of `obj` as its row is stored now (a form may have changed the instance
    already); empty for an unsaved one."""
    if obj.pk is None:
        return {}
    row = type(obj)._base_manager.filter(pk=obj.pk).first()
    return snapshot(row, fields) if row is not None else {}


def changes_between(before: dict, after: dict) -> dict:
    """{field: [before, after]} for the fields whose value differs; a secret shows as changed
    without either value."""
    changes = {}
    for name, value in after.items():
        if before.get(name) == value:
            continue
        if name in SECRET_FIELDS:
            changes[name] = [HIDDEN if before.get(name) else None, HIDDEN if value else None]
        else:
            changes[name] = [before.get(name), value]
    return changes


def _gone(before: dict) -> dict:
    return {
        name: [HIDDEN if name in SECRET_FIELDS else value, None] for name, value in before.items()
    }


def _fingerprint(value) -> str:
    """Tells two secrets apart in a snapshot without keeping either (never written out)."""
    return hashlib.sha256(str(value).encode()).hexdigest()[:16]


def kind_of(obj) -> str:
    return obj._meta.model_name


def code_of(obj) -> str:
    return str(getattr(obj, "code", "") or obj.pk)


# --- Writing --------------------------------------------------------------------------------


def entry(
    action: str,
    obj=None,
    *,
    before: dict | None = None,
    changes: dict | None = None,
    reason: str = "",
    object_kind: str = "",
    object_code: str = "",
    object_label: str = "",
    actor: Actor | None = None,
    when: datetime | None = None,
) -> AuditEntry:
    """An unsaved entry for `obj` (for `record_many`). `before` (a `snapshot`) makes the
    changes the fields that differ now; `changes` names them outright; without either, a
    "created" or "deleted" entry shows every field that has a value."""
    actor = actor or current_actor()
    if changes is None:
        if before is not None and obj is not None:
            changes = changes_between(before, snapshot(obj, before.keys()))
        elif obj is not None and action in ("created", "deleted"):
            made = {k: v for k, v in snapshot(obj).items() if v not in (None, "")}
            changes = changes_between({}, made) if action == "created" else _gone(made)
        else:
            changes = {}
    return AuditEntry(
        created_at=when or timezone.now(),
        actor_kind=actor.kind,
        actor_id=actor.id[:150],
        actor_label=actor.label[:200],
        object_kind=object_kind or kind_of(obj),
        object_code=(object_code or code_of(obj))[:40],
        object_label=(object_label or (str(obj) if obj is not None else ""))[:200],
        action=action[:40],
        changes=changes,
        address=actor.address,
        reason=reason or "",
        request_id=actor.request_id[:64],
        batch=actor.batch,
    )


def record(action: str, obj=None, **kwargs) -> AuditEntry | None:
    """Write one entry now, in the caller's transaction (see `entry` for the arguments), or
    inside `together()` with the block's others. A change (`before` given) that changed nothing
    writes nothing."""
    made = entry(action, obj, **kwargs)
    if kwargs.get("before") is not None and not made.changes:
        return None
    waiting = _together.get()
    if waiting is not None:
        waiting.append(made)
    else:
        made.save(force_insert=True)
    return made


_together: ContextVar[list | None] = ContextVar("audit_together", default=None)


@contextlib.contextmanager
def together() -> Iterator[None]:
    """The entries recorded in the block are written in one INSERT at its end (a checkout's
    purchase, access, contract and wallet entries). Use it inside the block's transaction: an
    exception writes none of them."""
    if _together.get() is not None:  # an outer block writes them
        yield
        return
    waiting: list = []
    token = _together.set(waiting)
    try:
        yield
    finally:
        _together.reset(token)
    if waiting:
        record_many(waiting)


def record_many(entries: list[AuditEntry]) -> int:
    """Write a batch's entries in one INSERT, in the caller's transaction."""
    AuditEntry.objects.bulk_create(entries, batch_size=2000)
    return len(entries)


# --- Who: set by the request and by tasks ----------------------------------------------------


class AuditActorMiddleware:
    """Opens the request's scope (its address and id) before any other middleware can answer,
    so an actor named during the request (the API key, in api/keys.py) ends with it; names the
    signed-in user as the actor just before the view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from .client_ip import client_ip

        request_id = request.headers.get("X-Request-ID", "")[:64]
        if not request_id.isascii() or not request_id.replace("-", "").isalnum():
            request_id = uuid.uuid4().hex
        actor = Actor(
            kind=Kind.SYSTEM, label="anonymous", address=client_ip(request), request_id=request_id
        )
        with acting_as(actor):
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            here = current_actor()
            set_actor(staff_actor(user, address=here.address, request_id=here.request_id))


def task_started(task_id=None, task=None, **kwargs) -> None:
    """Celery's task_prerun: the task is the actor of what it writes."""
    token = _actor.set(job_actor(getattr(task, "name", "task"), task_id=task_id or ""))
    _task_tokens[task_id] = token


def task_ended(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        with contextlib.suppress(ValueError):  # set in another context: nothing to restore
            _actor.reset(token)


_task_tokens: dict = {}


# --- Users and groups: written by Django's admin and auth, not by our services ------------------

# A sign-in updates last_login: not a change anyone makes to the user.
USER_NOISE = frozenset({"last_login"})


def _only_noise(update_fields) -> bool:
    return update_fields is not None and set(update_fields) <= USER_NOISE


def _user_before_save(sender, instance, update_fields=None, **kwargs):
    if _only_noise(update_fields):  # a sign-in: no read of the stored row
        return
    instance._audit_before = stored(instance) if instance.pk else None


def _user_saved(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw or _only_noise(update_fields):  # fixtures; a sign-in
        return
    if created:
        record("created", instance, object_code=str(instance.pk))
        return
    before = getattr(instance, "_audit_before", None) or {}
    after = snapshot(instance, before.keys())
    changes = {
        name: change
        for name, change in changes_between(before, after).items()
        if name not in USER_NOISE
    }
    if changes:
        record("changed", instance, object_code=str(instance.pk), changes=changes)


def _user_deleted(sender, instance, **kwargs):
    record("deleted", instance, object_code=str(instance.pk))


def _members_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """A user's groups or a group's (or user's) permissions, added, removed or cleared."""
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if action == "pre_clear":
        fields = [f for f in instance._meta.many_to_many if f.remote_field.through is sender]
        names = (
            sorted(str(item) for item in getattr(instance, fields[0].name).all()) if fields else []
        )
    else:
        names = sorted(str(item) for item in model._base_manager.filter(pk__in=pk_set or ()))
    if not names:
        return
    field = model._meta.verbose_name_plural
    shown = ", ".join(names)
    changes = {str(field): [None, shown] if action == "post_add" else [shown, None]}
    verb = "added" if action == "post_add" else "removed"
    record(f"{verb} {field}", instance, object_code=str(instance.pk), changes=changes)


def connect_user_signals() -> None:
    """Record changes to users and groups (AppConfig.ready())."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db.models import signals

    User = get_user_model()
    for model in (User, Group):
        uid = f"site.audit.{model._meta.model_name}"
        signals.pre_save.connect(_user_before_save, sender=model, dispatch_uid=f"{uid}.pre")
        signals.post_save.connect(_user_saved, sender=model, dispatch_uid=f"{uid}.saved")
        signals.post_delete.connect(_user_deleted, sender=model, dispatch_uid=f"{uid}.deleted")
    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        signals.m2m_changed.connect(
            _members_changed, sender=through, dispatch_uid=f"site.audit.{through._meta.model_name}"
        )
