"""The players' access check (reference 004's password check for a device): the rules in
ACCESS_RULES, which the support explainer reads too, and `check_access`, one locked read and at
most one write per check. Moved out of buyers/services.py, which re-exports it, to keep that
module within the size bar."""

import functools
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from subscriptions.models import Subscription

from .models import Access, AccessActivation


class AccessRefusal:
    """Why an access check refused; the values are stable codes for the API."""

    UNKNOWN = "unknown"
    REVOKED = "revoked"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    ACTIVATION_LIMIT_REACHED = "activation_limit_reached"


@dataclass
class AccessCheck:
    granted: bool
    reason: str = ""
    access: Access | None = field(default=None, repr=False)
    new_activation: bool = False


@dataclass(frozen=True)
class AccessRule:
    """One rule of the access check: `passes(access, known_device, now)`; `refusal` is the
    reason the check answers when it does not. The support explainer runs the same list."""

    refusal: str
    title: str
    passes: Callable[[Access, bool, datetime], bool]


def _activation_free(access: Access, known_device: bool, now) -> bool:
    # A device that was activated before plays again without counting another activation.
    return (
        known_device
        or access.activation_limit is None
        or access.activations_used < access.activation_limit
    )


ACCESS_RULES: tuple[AccessRule, ...] = (
    AccessRule(
        AccessRefusal.REVOKED, "The access is not revoked", lambda a, d, now: a.revoked_at is None
    ),
    AccessRule(
        AccessRefusal.NOT_STARTED,
        "The access has started",
        lambda a, d, now: not (a.access_start and now < a.access_start),
    ),
    AccessRule(
        AccessRefusal.EXPIRED,
        "The access has not expired",
        lambda a, d, now: not (a.access_expire and now >= a.access_expire),
    ),
    AccessRule(
        AccessRefusal.ACTIVATION_LIMIT_REACHED,
        "An activation is free for this device",
        _activation_free,
    ),
)


def _refusal(access: Access | None, now: datetime, *, known_device: bool = True) -> str:
    """The first of ACCESS_RULES the access breaks, or "" (a known device needs no free
    activation)."""
    if access is None:
        return AccessRefusal.UNKNOWN
    for rule in ACCESS_RULES:
        if not rule.passes(access, known_device, now):
            return rule.refusal
    return ""


# What the access check reads of an access (and answers to a player).
CHECKED_FIELDS = (
    "pk",
    "revoked_at",
    "access_start",
    "access_expire",
    "activation_limit",
    "activations_used",
)


@functools.cache
def _checked_model_fields() -> list:
    """CHECKED_FIELDS as the model's fields, in the model's order (how `from_db` reads them)."""
    wanted = {Access._meta.pk.name if name == "pk" else name for name in CHECKED_FIELDS}
    return [field for field in Access._meta.concrete_fields if field.name in wanted]


@functools.cache
def _checked_access_sql() -> str:
    """The access check's one read: the access with this subscription code and password, and
    whether it knows the device. Written once as SQL: building it through the ORM on every
    check cost more than running it (the check runs on every play; tests/bench)."""
    access, activation = Access._meta, AccessActivation._meta
    subscription = Subscription._meta
    columns = ", ".join(f"a.{field.column}" for field in _checked_model_fields())
    activation_of = f"v.{activation.get_field('access').column} = a.{access.pk.column}"
    subscription_of = f"s.{subscription.pk.column} = a.{access.get_field('subscription').column}"
    # Only names from the models' own metadata go into the text; every value is a parameter.
    return (
        f"SELECT {columns}, EXISTS (SELECT 1 FROM {activation.db_table} v "  # noqa: S608
        f"WHERE {activation_of} AND v.device_id = %s) AS device_known "
        f"FROM {access.db_table} a JOIN {subscription.db_table} s ON {subscription_of} "
        "WHERE s.code = %s AND a.hash = %s"
    )


def _checked_access(subscription_code: str, password: str, device: str) -> Access | None:
    """The access this check is about, with `device_known`, or None: `_checked_access_sql`.

    On PostgreSQL the statement is prepared once per connection (planning it cost the server
    more than running it, on every play); elsewhere it runs as raw SQL through the ORM."""
    params = [device, subscription_code, password]
    if connection.vendor != "postgresql":
        return next(iter(Access.objects.raw(_checked_access_sql(), params)), None)
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_checked_access_sql(), params, prepare=True)
        row = cursor.fetchone()
    if row is None:
        return None
    attnames = [field.attname for field in _checked_model_fields()]
    access = Access.from_db(connection.alias, attnames, row[:-1])
    access.device_known = bool(row[-1])
    return access


def check_access(
    *,
    subscription_code: str,
    access_password: str,
    device_id: str = "",
    ip_address: str | None = None,
    now: datetime | None = None,
) -> AccessCheck:
    """Whether this access password opens this subscription now, or why not. The first use
    from a device counts one activation; concurrent checks never exceed the activation limit
    (the access row is locked while its activations are counted). A device without an id is
    known by its IP address.

    Players ask on every play, so a device already counted costs one read (the access and
    whether it knows the device, in one query) and writes nothing; the database is read on
    every check, so a revoked or expired access is refused at the very next one."""
    now = now or timezone.now()
    try:
        ip_address = str(ipaddress.ip_address((ip_address or "").strip()))
    except ValueError:
        ip_address = None  # an unreadable address is not stored (and never fails the check)
    device = (device_id or "").strip()[:200] or f"ip:{ip_address or 'unknown'}"
    password = (access_password or "").strip()
    if not subscription_code or not password:
        return AccessCheck(False, AccessRefusal.UNKNOWN)
    access = _checked_access(subscription_code, password, device)
    refusal = _refusal(access, now)
    if refusal:
        return AccessCheck(False, refusal, access)
    if access.device_known:
        return AccessCheck(True, "", access)
    # A device's first use: counted under the row's lock, everything checked again.
    with transaction.atomic():
        access = Access.objects.select_for_update().only(*CHECKED_FIELDS).get(pk=access.pk)
        refusal = _refusal(access, now)
        if refusal:
            return AccessCheck(False, refusal, access)
        if access.activations.filter(device_id=device).exists():
            return AccessCheck(True, "", access)
        refusal = _refusal(access, now, known_device=False)
        if refusal:
            return AccessCheck(False, refusal, access)
        AccessActivation.objects.create(
            access=access, device_id=device, ip_address=ip_address or None, first_seen_at=now
        )
        access.activations_used += 1
        access.save(update_fields=["activations_used"])
        return AccessCheck(True, "", access, new_activation=True)
