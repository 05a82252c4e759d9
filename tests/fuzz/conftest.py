"""Hypothesis profiles of the fuzz tests, and the shop they post to.

`HYPOTHESIS_PROFILE=thorough pytest tests/fuzz` runs many more examples locally; CI runs the
default `fuzz-ci`: derandomized (the same examples every run), no deadline (PostgreSQL on a
loaded machine), sized so the package adds about a minute to `make test`.

The profiles are applied per test (`FUZZ_SETTINGS`), never loaded globally, so the API's
schemathesis tests keep their own settings.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.factories import UserFactory

from .shop import build_shop

# Function-scoped fixtures (the client, the shop) are built once per test, not per example:
# each example runs in a savepoint that is rolled back (tests/fuzz/shop.py), so none leaks state.
_COMMON = dict(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
    print_blob=True,
)
settings.register_profile("fuzz-ci", derandomize=True, max_examples=20, **_COMMON)
settings.register_profile("thorough", max_examples=300, **_COMMON)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "fuzz-ci")
if PROFILE not in ("fuzz-ci", "thorough"):
    PROFILE = "fuzz-ci"
FUZZ_SETTINGS = settings(settings.get_profile(PROFILE))


@pytest.fixture
def superuser(db):
    return UserFactory(username="fuzz-admin", is_superuser=True, is_staff=True)


@pytest.fixture
def shop(db, superuser):
    return build_shop(superuser)
