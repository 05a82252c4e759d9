"""API keys: creating and revoking them (the staff page and the admin call these), and reading
the key of a request, with its scope and rate limit.

Rate limit: a fixed one-minute window per key, counted in the cache (`cache.add` then `incr`,
both atomic on Redis and memcached). Production must set CACHE_URL to a shared Redis: the default
local-memory cache counts per process, so N gunicorn processes would allow N times the limit.
"""

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.models import KEY_PREFIX_LENGTH, ApiKey, digest_of

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


@transaction.atomic
def create_api_key(*, name: str, scopes, created_by=None) -> NewApiKey:
    """A new key with these scopes; the returned `key` is the only time it is readable."""
    name = (name or "").strip()
    if not name:
        raise ApiKeyNameRequired("Give the key a name.")
    known = set(ApiKey.Scope.values)
    scopes = [scope for scope in dict.fromkeys(scopes or []) if scope in known]
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
                )
            return NewApiKey(api_key, key)
        except IntegrityError:  # a prefix drawn twice (62**8 values): draw again
            continue
    raise RuntimeError("could not draw a unique API key prefix")


@transaction.atomic
def revoke_api_key(*, api_key: ApiKey, revoked_by=None) -> ApiKey:
    """Revoke a key at once; revoking twice keeps the first time and person."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.revoked_by = revoked_by
        api_key.save(update_fields=["revoked_at", "revoked_by"])
    return api_key


def key_from_request(request, params) -> str:
    """The key a request carries: `Authorization: Bearer <key>`, else the `apikey` parameter."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return (params.get("apikey") or "").strip()


def rate_limit_per_minute() -> int:
    return settings.API_RATE_LIMIT_PER_MINUTE


def count_request(api_key: ApiKey) -> None:
    """Count one request of this key in the current minute; ApiKeyError 429 past the limit."""
    limit = rate_limit_per_minute()
    if not limit:
        return
    now = time.time()
    window = int(now // 60)
    bucket = f"api-rate:{api_key.pk}:{window}"
    cache.add(bucket, 0, timeout=70)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=70)
        count = 1
    if count > limit:
        raise ApiKeyError(
            429,
            "rate_limited",
            f"Too many requests: this key may make {limit} requests a minute.",
            retry_after=max(1, int((window + 1) * 60 - now)),
        )


def authenticate(request, params) -> ApiKey:
    """The request's active key, counted against its rate limit.

    ApiKeyError 401 when the key is missing, unknown or revoked; 429 past the rate limit."""
    key = key_from_request(request, params)
    if not key:
        raise ApiKeyError(401, "api_key_required", "Send an API key: apikey=… or a Bearer token.")
    api_key = ApiKey.objects.filter(secret_hash=digest_of(key)).first()
    if api_key is None:
        raise ApiKeyError(401, "api_key_invalid", "This API key is not valid.")
    if api_key.revoked_at is not None:
        raise ApiKeyError(401, "api_key_revoked", "This API key was revoked.")
    count_request(api_key)
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def require_scope(api_key: ApiKey, scope: str) -> None:
    """ApiKeyError 403 unless the key holds `scope`."""
    if not api_key.has_scope(scope):
        raise ApiKeyError(403, "api_key_scope", f"This API key does not have the “{scope}” scope.")
