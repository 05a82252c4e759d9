import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def needs_postgresql(django_db_setup, django_db_blocker):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("benchmarks run on PostgreSQL: use `make bench`")
    os.environ.setdefault("BENCH", "1")
