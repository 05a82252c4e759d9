import os
import sys
import time

import pytest
from django.db import OperationalError, connection
from django.test import TransactionTestCase

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
    flush = TransactionTestCase._fixture_teardown
    TransactionTestCase._fixture_teardown = flush_despite_deadlocks(flush)
    try:
        running.start()
        yield running
    finally:
        TransactionTestCase._fixture_teardown = flush
        running.stop()


def flush_despite_deadlocks(flush, tries=5):
    """Between tests the database is emptied with TRUNCATE while the stack's worker and beat keep
    running their jobs: PostgreSQL may pick the TRUNCATE as a deadlock's victim (it rolls back
    whole). Try again, so the next test starts on an empty database, not on the last one's rows."""

    def retrying(test_case):
        for attempt in range(tries):
            try:
                return flush(test_case)
            except Exception as error:
                if attempt == tries - 1 or not isinstance(error.__cause__, OperationalError):
                    raise
                print(f"CHAOS flush between tests retried: {error.__cause__}", file=sys.stderr)
                connection.close()
                time.sleep(0.5)

    return retrying
