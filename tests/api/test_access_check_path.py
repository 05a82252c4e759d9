"""The players' access check takes the short way through the middleware: the security headers
and the host check stay, the staff pages' middleware (sessions, CSRF, CSP, …) is skipped; every
other URL keeps the whole stack."""

import pytest
from django.db import connection, connections
from django.urls import reverse

from buyers import services as buyer_services
from tests.purchases.factories import offer_for_sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def check(make_api_key):
    key = make_api_key("access_check")
    subscription, _ = offer_for_sale()
    access = buyer_services.grant_access(subscription=subscription, email="a@example.com")
    params = {"productId": subscription.code, "hash": access.hash}
    return params, {"Authorization": f"Bearer {key}"}


def test_the_check_skips_the_staff_pages_middleware_but_keeps_security_headers(client, check):
    params, headers = check
    response = client.get(reverse("api:access_check"), params, headers=headers)
    assert response.json()["Content"]["Granted"] is True
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware, above it
    assert "Content-Security-Policy" not in response  # CSPMiddleware, below it
    assert "Cookie" not in response.get("Vary", "")  # no session looked at
    other = client.get("/api/buyers/products", headers=headers)
    assert "Content-Security-Policy" in other  # every other URL: the whole stack


def test_the_check_still_refuses_a_host_not_allowed(client, check, settings):
    settings.ALLOWED_HOSTS = ["shop.example"]
    params, headers = check
    response = client.get(
        reverse("api:access_check"), params, headers={**headers, "Host": "evil.example"}
    )
    assert response.status_code == 400


def test_the_check_by_post_takes_the_short_way_too(client, check):
    params, headers = check
    response = client.post(
        reverse("api:access_check"), params, content_type="application/json", headers=headers
    )
    assert response.json()["Content"]["Granted"] is True
    assert "Content-Security-Policy" not in response


@pytest.mark.django_db(transaction=True)
def test_the_check_answers_on_a_new_connection_after_the_database_dropped_its_own(client, check):
    """The check skips Django's per-request connection test (its own query is the test): a
    connection the server dropped, as on a restart, is replaced, not answered with a 500."""
    if connection.vendor != "postgresql":
        pytest.skip("a server dropping a connection is shown on PostgreSQL (make test)")
    params, headers = check
    assert client.get(reverse("api:access_check"), params, headers=headers).status_code == 200
    dropped = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [dropped])
    finally:
        other.close()
    response = client.get(reverse("api:access_check"), params, headers=headers)
    assert response.status_code == 200
    assert response.json()["Content"]["Granted"] is True
    assert connection.connection.info.backend_pid != dropped
