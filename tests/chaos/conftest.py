import os

import pytest
from django.db import connection

from .stack import Stack


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    """The whole stack, started once for the module, on the test database."""
    with django_db_blocker.unblock():
        vendor = connection.vendor
        database = dict(connection.settings_dict)
    if vendor != "postgresql" or not os.environ.get("TEST_PG_CTL"):
        if os.environ.get("CI"):
            pytest.fail("the chaos tests need `make test` (PostgreSQL, redis-server, gunicorn)")
        pytest.skip("the chaos tests need PostgreSQL and Redis: run them with `make test`")
    running = Stack(tmp_path_factory.mktemp("chaos"), database)
    try:
        running.start()
        yield running
    finally:
        running.stop()
