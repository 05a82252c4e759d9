"""Each API key's own rate limit: set on its page or in the admin, counted in the shared cache
across processes, and counted per process (logged) while the cache is down, never a 500."""

import logging
import time
from unittest.mock import patch

import pytest
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.urls import reverse

from api import keys
from api.keys import create_api_key, forget_counts
from api.models import ApiKey

pytestmark = pytest.mark.django_db


class UnreachableCache(BaseCache):
    """A cache whose server is down: every call fails, as Django's Redis cache does then."""

    def __init__(self, location, params):
        super().__init__(params)

    def _down(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    add = get = set = touch = delete = incr = decr = has_key = _down
    get_many = set_many = delete_many = _down

    def clear(self):
        pass  # the tests' own clean-up between tests, not the API's


def statuses(client, key, count, **params):
    return [
        client.get("/api/ppv/list", {"apikey": key, **params}).status_code for _ in range(count)
    ]


def test_each_key_has_its_own_limit(client):
    tight = create_api_key(name="Storefront", scopes=["catalog"], rate_limit_per_minute=2).key
    player = create_api_key(name="Player", scopes=["catalog"], rate_limit_per_minute=0).key
    assert statuses(client, tight, 3) == [200, 200, 429]
    assert set(statuses(client, player, 50)) == {200}


def test_a_new_key_takes_the_shops_default_limit(settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 1200
    assert create_api_key(name="Default", scopes=[]).api_key.rate_limit_per_minute == 1200


def test_every_process_adds_to_one_shared_count(client, monkeypatch):
    """Each web process adds its requests to one count per key and minute in the cache (Redis
    in production); a process starting afresh goes by what the others counted. (Here every
    request is added at once; a busy process adds its requests a few times a second.)"""
    monkeypatch.setattr("api.keys.RATE_SYNC_SECONDS", 0)
    created = create_api_key(name="Storefront", scopes=["catalog"], rate_limit_per_minute=3)
    assert statuses(client, created.key, 2) == [200, 200]
    forget_counts()  # another process, which has not seen those two requests
    assert statuses(client, created.key, 2) == [200, 429]
    minute = int(time.time() // 60)
    counted = [cache.get(f"api-rate:{created.api_key.pk}:{m}") for m in (minute - 1, minute)]
    assert sum(count or 0 for count in counted) == 4


def test_a_busy_key_far_from_its_limit_visits_the_cache_a_few_times_a_second(client):
    created = create_api_key(name="Player", scopes=["catalog"], rate_limit_per_minute=10**6)
    # The clock stands still (mid-minute): how often the cache is visited must not depend on how
    # fast this machine answers 30 requests.
    clock = [1_800_000_010.0]
    with (
        patch("api.keys.cache", wraps=cache) as watched,
        patch("api.keys.time.time", side_effect=lambda: clock[0]),
    ):
        assert set(statuses(client, created.key, 30)) == {200}
        assert watched.incr.call_count == 1  # one visit (its first also adds the bucket)
        clock[0] += keys.RATE_SYNC_SECONDS  # a sync interval later: one more visit
        assert set(statuses(client, created.key, 5)) == {200}
        assert watched.incr.call_count == 2


def test_with_the_cache_down_the_api_answers_and_counts_per_process(client, settings, caplog):
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.UnreachableCache"}}
    key = create_api_key(name="Storefront", scopes=["catalog"], rate_limit_per_minute=3).key
    with caplog.at_level(logging.WARNING, logger="api.keys"):
        answers = statuses(client, key, 4, format="json")
    assert answers == [200, 200, 200, 429]
    warnings = [record for record in caplog.records if record.name == "api.keys"]
    assert len(warnings) == 1  # once, not on every request
    assert "cache is unreachable" in warnings[0].getMessage()
    unlimited = create_api_key(name="Player", scopes=["catalog"], rate_limit_per_minute=0).key
    assert set(statuses(client, unlimited, 10)) == {200}


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(admin)
    return client


def test_the_limit_is_set_when_creating_a_key_and_changed_on_its_page(admin_client, client):
    response = admin_client.post(
        reverse("api_keys:create"),
        {"name": "Player", "scopes": ["catalog"], "rate_limit_per_minute": "2"},
    )
    key = response.context["created"].key
    stored = ApiKey.objects.get()
    assert stored.rate_limit_per_minute == 2
    assert statuses(client, key, 3) == [200, 200, 429]
    edit = reverse("api_keys:edit", args=[stored.prefix])
    assert admin_client.get(edit).status_code == 200
    response = admin_client.post(
        edit, {"name": "Player TV", "scopes": ["catalog"], "rate_limit_per_minute": "0"}
    )
    assert response.status_code == 302
    stored.refresh_from_db()
    assert (stored.name, stored.rate_limit_per_minute) == ("Player TV", 0)
    assert set(statuses(client, key, 5)) == {200}
    assert "no limit" in admin_client.get(reverse("api_keys:list")).content.decode()


def test_a_bad_limit_on_the_key_page_is_refused_beside_it(admin_client):
    stored = create_api_key(name="Player", scopes=["catalog"], rate_limit_per_minute=7).api_key
    edit = reverse("api_keys:edit", args=[stored.prefix])
    for bad in ("-1", "lots", str(2**31)):
        response = admin_client.post(
            edit, {"name": "Player", "scopes": ["catalog"], "rate_limit_per_minute": bad}
        )
        assert response.status_code == 200
        assert "rate_limit_per_minute" in response.context["form"].errors
    stored.refresh_from_db()
    assert stored.rate_limit_per_minute == 7


def test_the_limit_is_changed_in_the_admin_too(admin_client, client):
    created = create_api_key(name="Player", scopes=["catalog"], rate_limit_per_minute=1)
    assert statuses(client, created.key, 2) == [200, 429]
    response = admin_client.post(
        reverse("admin:api_apikey_change", args=[created.api_key.pk]),
        {"name": "Player", "scopes": '["catalog"]', "rate_limit_per_minute": "100"},
    )
    assert response.status_code == 302
    assert ApiKey.objects.get().rate_limit_per_minute == 100
    assert statuses(client, created.key, 1) == [200]


def test_a_revoked_key_is_refused_at_once_in_the_process_that_revoked_it(admin_client, client):
    created = create_api_key(name="Player", scopes=["catalog"])
    assert statuses(client, created.key, 1) == [200]  # now kept in this process
    admin_client.post(reverse("api_keys:revoke", args=[created.api_key.prefix]))
    assert statuses(client, created.key, 1) == [401]
