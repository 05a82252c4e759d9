"""/healthz/ tells each part apart (database, cache, broker, outbox), answers 503 only when the
database is down, and answers load balancers over plain HTTP by address; a request that meets
the database down answers 503 (retry), not a 500."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone

from core import health
from core.models import OutboxMessage

pytestmark = pytest.mark.django_db


def healthz(client, **extra):
    return client.get("/healthz/", **extra)


def test_every_part_is_listed_and_all_is_ok(client):
    response = healthz(client)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["degraded"] == []
    assert set(body["checks"]) == {"database", "cache", "broker", "outbox"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert body["checks"]["outbox"]["oldest_due_seconds"] == 0
    assert "no-cache" in response["Cache-Control"]


def test_a_cache_that_is_down_degrades_but_does_not_fail_the_check(client):
    with mock.patch.object(health.cache, "set", side_effect=ConnectionError("refused")):
        response = healthz(client)
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["degraded"] == ["cache"]


def test_a_broker_that_is_down_is_named(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = healthz(client)
    assert response.status_code == 200
    assert response.json()["degraded"] == ["broker"]
    assert response.json()["checks"]["broker"] == {"status": "unavailable"}


def test_an_outbox_late_past_the_stuck_minutes_is_named_with_its_age(client, settings):
    settings.OUTBOX_STUCK_MINUTES = 10
    OutboxMessage.objects.create(
        kind="buyers.access_granted",
        payload={"access_id": 1},
        available_at=timezone.now() - timedelta(minutes=25),
    )
    body = healthz(client).json()
    assert body["degraded"] == ["outbox"]
    assert body["checks"]["outbox"]["status"] == "late"
    assert 24 * 60 < body["checks"]["outbox"]["oldest_due_seconds"] < 26 * 60


def test_a_database_that_is_down_answers_503(client):
    with mock.patch.object(health, "check_database", return_value={"status": "unavailable"}):
        response = healthz(client)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "database" in body["degraded"]


def test_load_balancers_probe_it_over_plain_http_by_address(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["shop.example"]
    response = healthz(client, HTTP_HOST="10.1.2.3")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    # Every other page is still redirected to HTTPS.
    assert client.get("/", HTTP_HOST="shop.example").status_code == 301


def test_the_api_answers_json_503_when_the_database_is_down(client):
    from api.keys import create_api_key
    from api.models import ApiKey

    key = create_api_key(name="Storefront", scopes=ApiKey.Scope.values).key
    client.raise_request_exception = False
    with mock.patch("api.purchases.buyer_of", side_effect=OperationalError("server closed")):
        response = client.post(
            "/api/purchases",
            {"buyer": "x"},
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["Error"]["Code"] == "service_unavailable"


def test_a_page_answers_503_with_a_page_that_says_to_retry(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    client.raise_request_exception = False
    with mock.patch(
        "core.views.TeamListView.get_queryset", side_effect=OperationalError("server closed")
    ):
        response = client.get("/team/")
    assert response.status_code == 503
    assert "Unavailable for a moment" in response.content.decode()
