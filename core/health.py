"""Health: what a load balancer and staff need to know about the parts the site depends on.

`/healthz/` answers each part separately: the database (503 when it is down: no page can work),
the cache, the broker and the outbox (how late the oldest due message is). A cache or broker
that is down degrades the site without stopping it (pages work, e-mails wait in the outbox), so
the answer stays 200 and names the degraded parts. It is answered by a middleware placed first,
before the HTTPS redirect, the host check and the sign-in requirement: a load balancer probes
it over plain HTTP by the machine's address.

A request that meets the database down answers 503 (try again) instead of a 500 (`server_error`).
"""

import logging
import sys
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz/"
OK, UNAVAILABLE, LATE = "ok", "unavailable", "late"


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        # A broken connection is dropped, so the next request opens a fresh one.
        connection.close_if_unusable_or_obsolete()
        return {"status": UNAVAILABLE}
    return {"status": OK}


def check_cache() -> dict:
    token = uuid.uuid4().hex
    try:
        cache.set("healthz", token, timeout=10)
        if cache.get("healthz") != token:
            return {"status": UNAVAILABLE}
    except Exception:
        return {"status": UNAVAILABLE}
    return {"status": OK}


def check_broker() -> dict:
    """Connect to the Celery broker once, with a short timeout (kombu, as the workers do)."""
    from kombu import Connection

    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=options,
            connect_timeout=settings.HEALTH_BROKER_TIMEOUT_SECONDS,
        ) as broker:
            broker.ensure_connection(
                max_retries=1,
                interval_start=0,
                interval_step=0,
                timeout=settings.HEALTH_BROKER_TIMEOUT_SECONDS,
            )
    except Exception:
        return {"status": UNAVAILABLE}
    return {"status": OK}


def check_outbox() -> dict:
    from .outbox import outbox_state

    try:
        state = outbox_state()
    except DatabaseError:
        return {"status": UNAVAILABLE}
    return {
        "status": LATE if state.late else OK,
        "oldest_due_seconds": round(state.oldest_due_seconds),
        "stuck": state.stuck,
        "dead": state.dead,
    }


def health() -> tuple[int, dict]:
    """The status code and the answer of /healthz/."""
    checks = {"database": check_database()}
    checks["cache"] = check_cache()
    checks["broker"] = check_broker()
    if checks["database"]["status"] == OK:
        checks["outbox"] = check_outbox()
    else:
        checks["outbox"] = {"status": UNAVAILABLE}
    degraded = [name for name, result in checks.items() if result["status"] != OK]
    if checks["database"]["status"] != OK:
        return 503, {"status": "unavailable", "degraded": degraded, "checks": checks}
    return 200, {"status": "degraded" if degraded else "ok", "degraded": degraded, "checks": checks}


def healthz_response() -> JsonResponse:
    status, body = health()
    response = JsonResponse(body, status=status)
    add_never_cache_headers(response)
    return response


class HealthCheckMiddleware:
    """Answers /healthz/ before any other middleware (first in MIDDLEWARE): no HTTPS redirect,
    no ALLOWED_HOSTS check (a load balancer probes by address), no session, no sign-in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return healthz_response()
        return self.get_response(request)


DATABASE_DOWN = (OperationalError, InterfaceError)


def server_error(request, *args, **kwargs):
    """The 500 handler (config/urls.py): a database that went away for a moment (a restart, a
    failover) answers 503 with Retry-After, so clients retry instead of reporting a failure;
    the API answers JSON, pages the usual HTML."""
    error = sys.exc_info()[1]
    api = request.path_info.startswith("/api/")
    if isinstance(error, DATABASE_DOWN):
        status, code = 503, "service_unavailable"
        message = _("The service is unavailable for a moment: retry shortly.")
        template = "503.html"
    else:
        status, code = 500, "server_error"
        message = _("Something went wrong; the error was logged. Retry, or tell the shop.")
        template = "500.html"
    if api:
        response = JsonResponse(
            {
                "StatusCode": 1,
                "Severity": 2,
                "StatusMessage": message,
                "Error": {"Code": code, "Name": "", "Parameter": None},
            },
            status=status,
        )
    else:
        response = HttpResponse(loader.get_template(template).render(), status=status)
    if status == 503:
        response["Retry-After"] = "5"
    return response
