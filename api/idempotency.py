"""`Idempotency-Key` on the API's writes that move money (create purchase, cancel product): a
retried request with the same key gets the first answer again, and the service runs once.

The key is claimed with a row before the service runs (a unique constraint per API key), so two
copies of one request sent at once run the service once: the second is told to retry (409) while
the first is still running. A 5xx answer or a crash releases the key, so a retry runs again.
"""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from api.models import ApiKey, IdempotentRequest

MAX_KEY_LENGTH = 255


def keep_hours() -> int:
    return settings.API_IDEMPOTENCY_HOURS


def purge_idempotent_requests(*, now=None) -> int:
    """Forget answers older than API_IDEMPOTENCY_HOURS (a key is reusable after that), and with
    them keys left claimed by a process that died; answers how many were forgotten."""
    now = now or timezone.now()
    old = IdempotentRequest.objects.filter(created_at__lt=now - timedelta(hours=keep_hours()))
    deleted, _ = old.delete()
    return deleted


def request_digest(request, params) -> str:
    """What makes two requests the same: method, path and parameters (the API key aside)."""
    significant = sorted((k, v) for k, v in params.items() if k != "apikey")
    material = json.dumps([request.method, request.path, significant], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def run_once(request, params, api_key: ApiKey, run, refuse) -> HttpResponse:
    """`run()` the first time this Idempotency-Key is seen, else replay the stored answer.

    `refuse(status, code, message)` builds the answer to a misused key."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return run()
    if len(key) > MAX_KEY_LENGTH:
        return refuse(
            400, "idempotency_key_too_long", "An Idempotency-Key has 255 characters at most."
        )
    digest = request_digest(request, params)
    try:
        with transaction.atomic():
            record = IdempotentRequest.objects.create(
                api_key=api_key, key=key, request_digest=digest
            )
    except IntegrityError:
        record = IdempotentRequest.objects.filter(api_key=api_key, key=key).first()
        if record is None:  # released by a failed first attempt a moment ago
            return refuse(409, "idempotency_key_in_use", "Retry this request in a moment.")
        if record.request_digest != digest:
            return refuse(
                422,
                "idempotency_key_reused",
                "This Idempotency-Key was used for another request: use a new key.",
            )
        if record.status_code is None:
            return refuse(
                409, "idempotency_key_in_use", "This request is still running: retry in a moment."
            )
        response = HttpResponse(
            record.body, status=record.status_code, content_type="application/json"
        )
        response["Idempotent-Replayed"] = "true"
        response["Cache-Control"] = "no-store"
        return response
    try:
        response = run()
    except BaseException:
        record.delete()
        raise
    if response.status_code >= 500:
        record.delete()
    else:
        record.status_code, record.body = response.status_code, response.content.decode()
        record.save(update_fields=["status_code", "body"])
    return response
