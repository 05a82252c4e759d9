"""Every URL of the site, walked: anonymous users go to sign-in, users without permission get 403.

New views are covered as soon as their URL exists; a view that forgets its permission fails here.
"""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, PathConverter, SlugConverter, UUIDConverter

# Pages anyone may open: signing in, the load balancer's health check, and the sandbox payment
# provider's page (a buyer's, not staff's; 404 unless a sandbox gateway is enabled).
# The HTTP API authenticates by API key and answers 401 with a body, not a redirect to sign-in
# (tests/api/test_keys.py checks every api: URL answers 401 without a key).
PUBLIC = {
    "login",
    "healthz",
    "sandbox_checkout",
    "api:ppv",
    "api:purchase_session",
    "api:purchase_create",
    "api:purchase_cancel",
    "api:purchase_reactivate",
    "api:purchase_pause",
    "api:purchase_resume",
    "api:plan_change_preview",
    "api:plan_change",
    "api:buyer_products",
    "api:access_check",
    "api:support_explain",
    # The JSON API's OpenAPI document and its docs page: the contract, no data; and ninja's
    # empty index under /api/ (404), which names the prefix of the document's paths.
    "api:openapi-json",
    "api:openapi-view",
    "api:api-root",
    # The buyer's self-service pages: the signed link in the URL is the key (a bad one shows a
    # page that says so, tests/purchases/test_self_service.py), not a staff sign-in.
    "self_service:home",
    "self_service:card",
    "self_service:stop",
    "self_service:reactivate",
    "self_service:pause",
    "self_service:resume",
    "self_service:fresh_link",
    "self_service:fresh_link_for_link",
}
# Pages every signed-in user may open whatever their role: their own account, the home page, and
# the header's search (it searches only the kinds the user may open: tests/site/test_site_search).
SIGNED_IN_ONLY = {
    "home",
    "password_change",
    "password_change_done",
    "logout",
    "search",
    # Any signed-in user chooses the language of their own pages.
    "choose_language",
}
# The Django admin guards itself (staff status and model permissions), tested separately.
OWN_AUTH_NAMESPACES = {"admin"}

SAMPLE_BY_CONVERTER = {
    IntConverter: "1",
    SlugConverter: "sample",
    UUIDConverter: str(uuid.UUID(int=1)),
    PathConverter: "sample",
}


def walk(patterns, namespace="", prefix_kwargs=None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in OWN_AUTH_NAMESPACES:
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            converters = getattr(entry.pattern, "converters", {})
            kwargs = {
                name: SAMPLE_BY_CONVERTER.get(type(conv), "SAMPLE01")
                for name, conv in converters.items()
            }
            yield f"{namespace}{entry.name}", kwargs


ALL_VIEWS = sorted(walk(get_resolver().url_patterns), key=lambda item: item[0])
PRIVATE_VIEWS = [(name, kwargs) for name, kwargs in ALL_VIEWS if name not in PUBLIC]
GUARDED_VIEWS = [
    (name, kwargs) for name, kwargs in ALL_VIEWS if name not in PUBLIC | SIGNED_IN_ONLY
]


def test_the_exemption_lists_name_only_existing_views():
    names = {name for name, _ in ALL_VIEWS}
    assert names >= PUBLIC | SIGNED_IN_ONLY
    assert GUARDED_VIEWS, "the sweep found no permission-guarded view to check"


@pytest.mark.parametrize(("name", "kwargs"), PRIVATE_VIEWS, ids=[n for n, _ in PRIVATE_VIEWS])
@pytest.mark.django_db
def test_anonymous_user_is_sent_to_sign_in(client, name, kwargs):
    url = reverse(name, kwargs=kwargs)
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 302, f"{method.__name__.upper()} {url}"
        assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize(("name", "kwargs"), GUARDED_VIEWS, ids=[n for n, _ in GUARDED_VIEWS])
@pytest.mark.django_db
def test_signed_in_user_without_the_permission_gets_403(client, user_without_role, name, kwargs):
    client.force_login(user_without_role)
    url = reverse(name, kwargs=kwargs)
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 403, f"{method.__name__.upper()} {url}"


@pytest.mark.django_db
def test_admin_site_refuses_users_without_staff_status(client, user_without_role):
    client.force_login(user_without_role)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
