"""Schemathesis against the JSON API's OpenAPI document (/api/schema/): generated requests, with a
valid API key, never answer 500, and every answer matches the documented status codes, content
type and schema."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

# Not "positive data acceptance": a schema-valid request naming a buyer or product that does not
# exist is rightly refused (400 with the named error), and the document says so.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def unlimited_key(make_api_key, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    return make_api_key()


@pytest.fixture
def test_transaction_kept_open():
    """Schemathesis calls the WSGI application itself, whose request signals would close the
    test's database connection (inside its transaction, so on PostgreSQL every query after the
    first request fails); Django's test client disconnects them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.django_db
def test_the_api_answers_as_its_openapi_document_says(
    case, unlimited_key, test_transaction_kept_open
):
    case.call_and_validate(headers={"Authorization": f"Bearer {unlimited_key}"}, checks=CHECKS)
