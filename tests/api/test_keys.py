"""API keys: stored hashed, shown once, checked on every API URL (401, 403, 429), managed by
admins."""

import json

import pytest
from defusedxml import ElementTree
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from api.keys import create_api_key
from api.models import ApiKey, digest_of


def api_url_names(patterns=None, namespace=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from api_url_names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name and namespace.startswith("api:"):
            kwargs = {name: "list" for name in getattr(entry.pattern, "converters", {})}
            yield f"{namespace}{entry.name}", kwargs


# The OpenAPI document and its docs page describe the API to anyone; they hold no data. The
# index under /api/ is empty (404).
DOCUMENTATION = {"api:openapi-json", "api:openapi-view", "api:api-root"}
API_URLS = sorted(item for item in api_url_names() if item[0] not in DOCUMENTATION)


def test_the_api_has_urls():
    names = {name for name, _ in API_URLS}
    assert {"api:ppv", "api:purchase_create", "api:access_check"} <= names


@pytest.mark.parametrize(("name", "kwargs"), API_URLS, ids=[n for n, _ in API_URLS])
@pytest.mark.django_db
def test_every_api_url_answers_401_without_a_key(client, name, kwargs):
    url = reverse(name, kwargs=kwargs)
    statuses = []
    for method in (client.get, client.post):
        response = method(url)
        statuses.append(response.status_code)
        # 405: a POST-only operation offers no GET at all, key or not.
        assert response.status_code in (401, 405), f"{method.__name__.upper()} {url}"
        if response.status_code == 401:
            assert response.content  # a body the client can read, not a redirect
    assert 401 in statuses


@pytest.mark.django_db
def test_openapi_document_and_docs_are_served(client):
    schema = client.get(reverse("api:openapi-json")).json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/purchases", "/api/purchases/cancel", "/api/access/check"} <= set(schema["paths"])
    docs = client.get(reverse("api:openapi-view"))
    assert docs.status_code == 200
    assert b"swagger-ui-bundle.js" in docs.content
    assert b"cdn" not in docs.content.lower()  # local static files: the strict CSP allows them


@pytest.mark.django_db
def test_key_is_stored_as_its_sha256_digest_only():
    created = create_api_key(name="Player", scopes=["access_check"])
    stored = ApiKey.objects.get()
    assert stored.secret_hash == digest_of(created.key)
    assert created.key not in {stored.name, stored.prefix, stored.secret_hash}
    assert created.key.startswith(stored.prefix + ".")
    assert stored.scopes == ["access_check"]


@pytest.mark.django_db
def test_unknown_scopes_are_dropped():
    created = create_api_key(name="Player", scopes=["access_check", "everything"])
    assert created.api_key.scopes == ["access_check"]


@pytest.mark.django_db
def test_missing_key_answers_401_in_xml(client):
    response = client.get("/api/ppv/list")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Response"
    assert root.findtext("Status") == "Failure"
    assert root.findtext("Code") == "api_key_required"


@pytest.mark.django_db
def test_invalid_key_answers_401_in_json_when_asked(client, api_key):
    response = client.get("/api/ppv/list", {"apikey": api_key + "x", "format": "json"})
    assert response.status_code == 401
    assert response.json()["Status"] == "Failure"
    assert response.json()["Code"] == "api_key_invalid"


@pytest.mark.django_db
def test_bearer_header_authenticates(client, api_key):
    response = client.get("/api/ppv/list", headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 200
    assert ElementTree.fromstring(response.content).findtext("Status") == "Success"


@pytest.mark.django_db
def test_revoked_key_answers_401(client, api_key):
    ApiKey.objects.update(revoked_at="2026-01-01T00:00:00Z")
    response = client.get("/api/ppv/list", {"apikey": api_key, "format": "json"})
    assert response.status_code == 401
    assert response.json()["Code"] == "api_key_revoked"


@pytest.mark.django_db
def test_key_without_the_scope_answers_403(client, make_api_key):
    key = make_api_key("buyers")
    response = client.get("/api/ppv/list", {"apikey": key, "format": "json"})
    assert response.status_code == 403
    assert response.json()["Code"] == "api_key_scope"


@pytest.mark.django_db
def test_use_is_recorded(client, api_key):
    client.get("/api/ppv/list", {"apikey": api_key})
    assert ApiKey.objects.get().last_used_at is not None


@pytest.mark.django_db
def test_rate_limit_per_key_answers_429_with_retry_after(client, make_api_key, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    key, other = make_api_key(name="A"), make_api_key(name="B")
    statuses = [client.get("/api/ppv/list", {"apikey": key}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/ppv/list", {"apikey": key, "format": "json"})
    assert limited.json()["Code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert client.get("/api/ppv/list", {"apikey": other}).status_code == 200


# --- The staff page -----------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(admin)
    return client


@pytest.mark.django_db
def test_admin_creates_a_key_shown_once_and_usable(admin_client, client):
    response = admin_client.post(
        reverse("api_keys:create"), {"name": "Storefront", "scopes": ["catalog", "buyers"]}
    )
    assert response.status_code == 200
    key = response.context["created"].key
    assert key in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    listing = admin_client.get(reverse("api_keys:list"))
    assert "Storefront" in listing.content.decode()
    assert key not in listing.content.decode()
    stored = ApiKey.objects.get()
    assert stored.created_by.username == "admin"
    assert stored.scopes == ["catalog", "buyers"]
    api = client.get("/api/ppv/contacts", {"apikey": key, "format": "json"})
    assert api.status_code == 200


@pytest.mark.django_db
def test_create_form_requires_name_and_scope(admin_client):
    response = admin_client.post(reverse("api_keys:create"), {"name": " "})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"name", "scopes"}
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_admin_revokes_a_key_and_it_stops_working(admin_client, client, api_key):
    prefix = ApiKey.objects.get().prefix
    confirm = admin_client.get(reverse("api_keys:revoke", args=[prefix]))
    assert confirm.status_code == 200
    response = admin_client.post(reverse("api_keys:revoke", args=[prefix]))
    assert response.status_code == 302
    stored = ApiKey.objects.get()
    assert stored.revoked_at is not None
    assert stored.revoked_by.username == "admin"
    assert client.get("/api/ppv/list", {"apikey": api_key}).status_code == 401


@pytest.mark.django_db
def test_shop_staff_cannot_manage_keys(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("api_keys:list")).status_code == 403
    assert client.post(reverse("api_keys:create"), {"name": "x"}).status_code == 403


@pytest.mark.django_db
def test_admin_site_lists_keys_without_an_add_button(admin_client, api_key):
    response = admin_client.get(reverse("admin:api_apikey_changelist"))
    assert response.status_code == 200
    assert admin_client.get(reverse("admin:api_apikey_add")).status_code == 403
    assert json.dumps("Storefront")[1:-1] in response.content.decode()
