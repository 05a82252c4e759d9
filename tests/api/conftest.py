import pytest
from django.core.cache import cache

from api.keys import create_api_key, forget_counts, forget_keys
from api.models import ApiKey


@pytest.fixture(autouse=True)
def fresh_rate_limit_counts():
    """Rate counts and the keys each process keeps start empty in every test."""
    cache.clear()
    forget_keys()
    forget_counts()
    yield
    cache.clear()
    forget_keys()
    forget_counts()


@pytest.fixture
def make_api_key(db):
    """Make an API key with the given scopes (all by default); returns the full key."""

    def make(*scopes, name="Storefront"):
        return create_api_key(name=name, scopes=scopes or ApiKey.Scope.values).key

    return make


@pytest.fixture
def api_key(make_api_key):
    return make_api_key()
