"""`Idempotency-Key` on the API's writes that move money (create purchase, cancel product) and
on the PPV API's creations (`addbuyer`, `create`): a retried request with the same key gets the
first answer again (in its content type, XML or JSON), and the service runs once.

The key is claimed with a row before the service runs (a unique constraint per API key). The
claim is a lease, not a lock: it holds for API_IDEMPOTENCY_LEASE_SECONDS, longer than a request
may run. A copy of the request sent while the first one runs is told to retry (409, with
Retry-After). A claim whose request died (a killed worker, a timeout, a lost database) is taken
over once its lease ends: the endpoint's `recover` looks up what the first attempt wrote (the
purchase made with this key) and answers its outcome, finishing it if it was cut off; only when
the first attempt wrote nothing does the request run again. A 5xx answer releases the lease at
once, so the retry does not wait. Answers below 500 are kept for API_IDEMPOTENCY_HOURS.
"""

import contextlib
import hashlib
import json
import math
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone

from api.models import ApiKey, IdempotentRequest

MAX_KEY_LENGTH = 255


def keep_hours() -> int:
    return settings.API_IDEMPOTENCY_HOURS


def lease() -> timedelta:
    return timedelta(seconds=settings.API_IDEMPOTENCY_LEASE_SECONDS)


def purge_idempotent_requests(*, now=None) -> int:
    """Forget answers older than API_IDEMPOTENCY_HOURS (a key is reusable after that), and with
    them claims never finished; answers how many were forgotten."""
    now = now or timezone.now()
    old = IdempotentRequest.objects.filter(created_at__lt=now - timedelta(hours=keep_hours()))
    deleted, _ = old.delete()
    return deleted


def request_digest(request, params) -> str:
    """What makes two requests the same: method, path and parameters (the API key aside)."""
    significant = sorted((k, v) for k, v in params.items() if k != "apikey")
    material = json.dumps([request.method, request.path, significant], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def request_key_of(record: IdempotentRequest) -> str:
    """What a service stores with the row it writes for this request (Purchase.request_key), so
    a retry after a crash finds it."""
    return f"idempotency:{record.pk}"


def _replay(record: IdempotentRequest) -> HttpResponse:
    response = HttpResponse(
        record.body,
        status=record.status_code,
        content_type=record.content_type or "application/json",
    )
    response["Idempotent-Replayed"] = "true"
    response["Cache-Control"] = "no-store"
    return response


def _claim(api_key: ApiKey, key: str, digest: str):
    """(record, taken over) for a claim this request now holds, or (record, None) when another
    request holds it or has answered; (None, None) when a first attempt vanished meanwhile."""
    now = timezone.now()
    try:
        with transaction.atomic():
            record = IdempotentRequest.objects.create(
                api_key=api_key, key=key, request_digest=digest, locked_until=now + lease()
            )
        return record, False
    except IntegrityError:
        pass
    record = IdempotentRequest.objects.filter(api_key=api_key, key=key).first()
    if record is None or record.request_digest != digest or record.status_code is not None:
        return record, None
    # The first attempt's lease ran out without an answer: it died. Take the claim over (one
    # retry wins: the update is conditional on the lease being over).
    taken = (
        IdempotentRequest.objects.filter(pk=record.pk, status_code__isnull=True)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
        .update(locked_until=now + lease(), attempts=record.attempts + 1)
    )
    if not taken:
        return record, None
    record.refresh_from_db()
    return record, True


def _release(record: IdempotentRequest) -> None:
    """Let a retry take the claim over at once (the answer was a failure, not an outcome)."""
    # When the database is gone, the lease ends by itself.
    with contextlib.suppress(DatabaseError):
        IdempotentRequest.objects.filter(pk=record.pk, status_code__isnull=True).update(
            locked_until=timezone.now()
        )


def run_once(request, params, api_key: ApiKey, run, refuse, recover=None) -> HttpResponse:
    """`run()` the first time this Idempotency-Key is seen, else replay the stored answer.

    `refuse(status, code, message)` builds the answer to a misused key.
    `recover(record)`, given by an endpoint that can tell what a crashed first attempt wrote,
    answers that attempt's outcome, or None when it wrote nothing (then `run()` runs). The
    claim is on `request.idempotency_record` while `run()` runs, for `request_key_of`."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return run()
    if len(key) > MAX_KEY_LENGTH:
        return refuse(
            400, "idempotency_key_too_long", "An Idempotency-Key has 255 characters at most."
        )
    digest = request_digest(request, params)
    record, taken_over = _claim(api_key, key, digest)
    if taken_over is None:
        if record is None:  # purged between our insert and our read: rare, and safe to retry
            return refuse(409, "idempotency_key_in_use", "Retry this request in a moment.")
        if record.request_digest != digest:
            return refuse(
                422,
                "idempotency_key_reused",
                "This Idempotency-Key was used for another request: use a new key.",
            )
        if record.status_code is not None:
            return _replay(record)
        wait = (record.locked_until - timezone.now()).total_seconds() if record.locked_until else 0
        response = refuse(
            409, "idempotency_key_in_use", "This request is still running: retry in a moment."
        )
        response["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    request.idempotency_record = record
    try:
        response = recover(record) if taken_over and recover is not None else None
        if response is None:
            response = run()
    except BaseException:
        _release(record)
        raise
    if response.status_code >= 500:
        _release(record)
        return response
    # The first answer stored wins (a slower attempt whose lease was taken over answers alike).
    IdempotentRequest.objects.filter(pk=record.pk, status_code__isnull=True).update(
        status_code=response.status_code,
        body=response.content.decode(),
        content_type=response.get("Content-Type", "application/json"),
        locked_until=None,
    )
    return response
