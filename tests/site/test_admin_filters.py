"""Every list filter of every Django admin changelist, given hostile values (a NUL character, a
year past 9999, numbers past any column), answers a page (or Django's "invalid filter" redirect,
or a 400), never a 500."""

import pytest
from django.contrib import admin as django_admin
from django.test import RequestFactory

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HOSTILE = [
    "a\x00b",
    "99999-01-01",
    "10000-12-31 23:59:59",
    "99999999999999999999999",
    "-99999999999999999999999",
    "1e400",
    "2024-02-30",
]
DATE_HIERARCHY = ["__year=99999", "__year=10000&{f}__month=1", "__year=2024&{f}__month=99"]


def filter_parameters(model_admin, superuser):
    """The query parameters each list filter of a changelist reads."""
    request = RequestFactory().get("/")
    request.user = superuser
    changelist = model_admin.get_changelist_instance(request)
    parameters = []
    for spec in changelist.filter_specs:
        parameters.extend(spec.expected_parameters())
    return parameters


def admin_urls():
    for model, model_admin in django_admin.site._registry.items():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        yield pytest.param(model, model_admin, url, id=url)


@pytest.mark.parametrize(("model", "model_admin", "url"), list(admin_urls()))
def test_hostile_filter_values_never_answer_a_server_error(client, model, model_admin, url):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(superuser)
    client.raise_request_exception = False
    failures = []
    queries = [
        f"{parameter}={value}"
        for parameter in filter_parameters(model_admin, superuser)
        for value in HOSTILE
    ]
    if model_admin.date_hierarchy:
        field = model_admin.date_hierarchy
        queries += [field + part.format(f=field) for part in DATE_HIERARCHY]
    for query in queries:
        response = client.get(url, QUERY_STRING=query.replace("\x00", "%00"))
        if response.status_code >= 500:
            failures.append(query.replace("\x00", "\\x00"))
    assert not failures, failures


def test_a_nul_character_in_a_filter_is_refused_with_a_page_that_says_so(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    response = client.get("/admin/purchases/purchase/", QUERY_STRING="status__exact=a%00b")
    assert response.status_code == 400
    assert "could not be read" in response.content.decode()
    assert client.get("/admin/purchases/purchase/?status__exact=pending").status_code == 200
