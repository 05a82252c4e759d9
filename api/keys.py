"""API keys: creating, changing and revoking them (the staff pages and the admin call these),
and reading the key of a request, with its scope and rate limit.

Rate limit: each key's own `rate_limit_per_minute`, a fixed one-minute window counted in the
cache (`incr`, else `add`: atomic on Redis and memcached), so with CACHE_URL on a shared Redis
every process counts together. A process adds its requests to the shared count at most every
RATE_SYNC_SECONDS, and at every request once a key nears its limit: a player's key making
thousands of requests a second costs the cache a few calls a second, and a key at its limit is
counted exactly (a busy key may pass its limit by what the other processes sent in the last
RATE_SYNC_SECONDS). When the cache fails (Redis down) the API keeps answering: each process
counts alone meanwhile (N processes then allow up to N times the limit) and logs it.

A key found by its digest is kept in the process for KEY_CACHE_SECONDS, so a player's access
checks do not read it on every request: a revoked key or a changed limit takes effect at once in
the process that changed it and within that time in the others.
"""

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.models import KEY_PREFIX_LENGTH, ApiKey, digest_of
from core import audit

logger = logging.getLogger(__name__)

KEY_CACHE_SECONDS = 1.0
# A failing cache is logged at most this often per process, not on every request.
CACHE_FAILURE_LOG_SECONDS = 60

# last_used_at is written at most once per key per this interval, not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


class ApiKeyError(Exception):
    """A refused key: the HTTP status, a stable code and a message for the client."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after = retry_after


class ApiKeyNameRequired(ValueError):
    pass


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    key: str  # the full key: shown once, never stored


def _checked(name: str, scopes) -> tuple[str, list[str]]:
    name = (name or "").strip()
    if not name:
        raise ApiKeyNameRequired("Give the key a name.")
    known = set(ApiKey.Scope.values)
    return name, [scope for scope in dict.fromkeys(scopes or []) if scope in known]


@transaction.atomic
def create_api_key(
    *, name: str, scopes, created_by=None, rate_limit_per_minute: int | None = None
) -> NewApiKey:
    """A new key with these scopes and rate limit (default API_RATE_LIMIT_PER_MINUTE); the
    returned `key` is the only time it is readable."""
    name, scopes = _checked(name, scopes)
    extra = {}
    if rate_limit_per_minute is not None:
        extra["rate_limit_per_minute"] = rate_limit_per_minute
    for _ in range(5):
        key = ApiKey.new_key()
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    name=name,
                    prefix=key[:KEY_PREFIX_LENGTH],
                    secret_hash=digest_of(key),
                    scopes=scopes,
                    created_by=created_by,
                    **extra,
                )
            audit.record("created", api_key, object_code=api_key.prefix)
            return NewApiKey(api_key, key)
        except IntegrityError:  # a prefix drawn twice (62**8 values): draw again
            continue
    raise RuntimeError("could not draw a unique API key prefix")


@transaction.atomic
def update_api_key(*, api_key: ApiKey, name: str, scopes, rate_limit_per_minute: int) -> ApiKey:
    """Rename a key, change its scopes or its requests a minute (0: no limit)."""
    name, scopes = _checked(name, scopes)
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    before = audit.snapshot(api_key, ("name", "scopes", "rate_limit_per_minute"))
    api_key.name, api_key.scopes = name, scopes
    api_key.rate_limit_per_minute = rate_limit_per_minute
    api_key.save(update_fields=["name", "scopes", "rate_limit_per_minute"])
    audit.record("changed", api_key, before=before, object_code=api_key.prefix)
    forget_keys()
    transaction.on_commit(forget_keys)  # and not re-read the old one meanwhile
    return api_key


@transaction.atomic
def revoke_api_key(*, api_key: ApiKey, revoked_by=None) -> ApiKey:
    """Revoke a key (within KEY_CACHE_SECONDS everywhere); revoking twice keeps the first time
    and person."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is None:
        before = audit.snapshot(api_key, ("revoked_at", "revoked_by"))
        api_key.revoked_at = timezone.now()
        api_key.revoked_by = revoked_by
        api_key.save(update_fields=["revoked_at", "revoked_by"])
        audit.record("revoked", api_key, before=before, object_code=api_key.prefix)
    forget_keys()
    transaction.on_commit(forget_keys)  # and not re-read the old one meanwhile
    return api_key


# --- Keys kept in this process ------------------------------------------------------------------

_known_keys: dict[str, tuple[float, ApiKey]] = {}


def forget_keys() -> None:
    """Read every key afresh in this process (after a change to one)."""
    _known_keys.clear()


def _key_by_digest(digest: str) -> ApiKey | None:
    now = time.monotonic()
    known = _known_keys.get(digest)
    if known is not None and now - known[0] < KEY_CACHE_SECONDS:
        return known[1]
    api_key = ApiKey.objects.filter(secret_hash=digest).first()
    if api_key is not None:  # unknown keys are not kept: guessing cannot fill the memory
        _known_keys[digest] = (now, api_key)
    return api_key


def key_from_request(request, params) -> str:
    """The key a request carries: `Authorization: Bearer <key>`, else the `apikey` parameter."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return (params.get("apikey") or "").strip()


# --- Rate limit ---------------------------------------------------------------------------------

RATE_SYNC_SECONDS = 0.25
# Past this share of its limit, a key's requests are added to the shared count one by one.
RATE_EXACT_FROM = 0.8


@dataclass
class _Minute:
    """One key's count in one minute, as this process knows it."""

    minute: int
    shared: int = 0  # the count of every process, when this one last added to it
    pending: int = 0  # this process's requests since then
    synced_at: float = float("-inf")


_minutes: dict[int, _Minute] = {}
_minutes_lock = threading.Lock()
_cache_failure_logged_at = [float("-inf")]


def _add_to_cache(bucket: str, count: int) -> int:
    """Add `count` requests to the shared count in `bucket`; answers the new total."""
    try:
        return cache.incr(bucket, count)
    except ValueError:  # the first request of this key in this minute
        if cache.add(bucket, count, timeout=70):
            return count
        return cache.incr(bucket, count)


def _log_cache_failure(error: Exception) -> None:
    now = time.monotonic()
    if now - _cache_failure_logged_at[0] >= CACHE_FAILURE_LOG_SECONDS:
        _cache_failure_logged_at[0] = now
        logger.warning(
            "API rate limit: the cache is unreachable (%s: %s); each web process counts its "
            "own requests until it answers again.",
            type(error).__name__,
            error,
        )


def forget_counts() -> None:
    """Drop what this process knows of the counts (as a newly started process would)."""
    with _minutes_lock:
        _minutes.clear()
    _cache_failure_logged_at[0] = float("-inf")


def count_request(api_key: ApiKey) -> None:
    """Count one request of this key in the current minute; ApiKeyError 429 past its limit."""
    limit = api_key.rate_limit_per_minute
    if not limit:
        return
    now = time.time()
    minute = int(now // 60)
    with _minutes_lock:
        known = _minutes.get(api_key.pk)
        if known is None or known.minute != minute:
            known = _minutes[api_key.pk] = _Minute(minute)
        known.pending += 1
        count = known.shared + known.pending
        sync = now - known.synced_at >= RATE_SYNC_SECONDS or count > limit * RATE_EXACT_FROM
        if sync:
            adding, known.pending, known.synced_at = known.pending, 0, now
    if sync:
        try:
            shared = _add_to_cache(f"api-rate:{api_key.pk}:{minute}", adding)
        except Exception as error:  # any cache failure: Redis down, a timeout, a full memory ...
            _log_cache_failure(error)
            shared = None
        with _minutes_lock:
            # The cache down: this process's own requests are the count it goes by.
            known.shared = shared if shared is not None else known.shared + adding
            count = known.shared + known.pending
    if count > limit:
        raise ApiKeyError(
            429,
            "rate_limited",
            f"Too many requests: this key may make {limit} requests a minute.",
            retry_after=max(1, int((minute + 1) * 60 - now)),
        )


def authenticate(request, params) -> ApiKey:
    """The request's active key, counted against its rate limit.

    ApiKeyError 401 when the key is missing, unknown or revoked; 429 past the rate limit."""
    key = key_from_request(request, params)
    if not key:
        raise ApiKeyError(401, "api_key_required", "Send an API key: apikey=… or a Bearer token.")
    api_key = _key_by_digest(digest_of(key))
    if api_key is None:
        raise ApiKeyError(401, "api_key_invalid", "This API key is not valid.")
    if api_key.revoked_at is not None:
        raise ApiKeyError(401, "api_key_revoked", "This API key was revoked.")
    count_request(api_key)
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    audit.set_actor(audit.api_key_actor(api_key))
    return api_key


def require_scope(api_key: ApiKey, *scopes: str) -> None:
    """ApiKeyError 403 unless the key holds one of `scopes`."""
    if not any(api_key.has_scope(scope) for scope in scopes):
        named = " or ".join(f"“{scope}”" for scope in scopes)
        raise ApiKeyError(403, "api_key_scope", f"This API key does not have the {named} scope.")
