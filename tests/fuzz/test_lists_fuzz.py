"""Every list page, its CSV export and the finance reports, asked hostile query strings: never a
500, nothing written, and a refused filter says why beside its field.

List pages are found from the resolver (every `core.listing.ListPageView`), so a new list is
fuzzed as soon as it has a URL.
"""

import base64
import json

import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.listing import ListPageView

from .conftest import FUZZ_SETTINGS
from .shop import (
    ROUTES,
    accepts_get,
    changed_counts,
    describe,
    echoes_markup,
    row_counts,
    shows_an_error,
)
from .strategies import POISON, field_kind, query_value, time_zones, typed_values

LIST_ROUTES = [
    route
    for route in ROUTES
    if route.view_class is not None and issubclass(route.view_class, ListPageView)
]
# Pages that read a filter form from the query string without being list pages: the finance
# reports (and their CSV, `format=csv`) and the home page's dashboard (`days`).
REPORT_PAGES = [
    "purchases:reports:revenue",
    "purchases:reports:renewals",
    "purchases:reports:reconciliation",
    "home",
]
REPORT_ROUTES = [route for route in ROUTES if route.name in REPORT_PAGES]
# Every other page read paging, search or initial values too (media_page, email, buyer...).
# Not: the JSON API (schemathesis), sign-in and sign-out (their own tests), the health check.
OTHER_PAGES_SKIPPED = {"login", "logout", "healthz", *REPORT_PAGES}
DETAIL_ROUTES = [
    route
    for route in ROUTES
    if accepts_get(route)
    and not issubclass(route.view_class, ListPageView)
    and not route.name.startswith("api:")
    and route.name not in OTHER_PAGES_SKIPPED
]
DETAIL_KEYS = ["page", "media_page", "media_q", "email", "buyer", "subscription", "next"]


def test_every_list_page_and_report_is_found():
    assert len(LIST_ROUTES) >= 12, [route.name for route in LIST_ROUTES]
    assert {route.name for route in REPORT_ROUTES} == set(REPORT_PAGES)


def query_keys(response) -> tuple[dict, list, list]:
    """({query key: real values}, sortable columns, cursor signature) the page reads."""
    context = response.context
    filterset = context.get("filter")
    form = filterset.form if filterset is not None else context.get("form")
    keys = {}
    for name, field in form.fields.items() if form is not None else ():
        choices = [str(value) for value, _ in getattr(field, "choices", ()) if value != ""][:20]
        names = {widget.data["name"] for widget in form[name].subwidgets} or {name}
        for key in names:
            keys[key] = (choices, field_kind(field))
    table = context.get("table")
    columns, signature = [], []
    if table is not None:
        columns = [column.name for column in table.columns if column.orderable]
        keyset = getattr(table.paginator, "keyset", None)
        signature = keyset.signature() if keyset is not None else []
    return keys, columns, signature


json_junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(["9999-12-31T23:59:59+00:00", "0001-01-01", "\x00", "NaN", "2026-02-30"]),
        st.text(max_size=20),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)


def cursor(signature):
    """A cursor token for this ordering whose values are junk, or junk that is not a cursor."""
    forged = st.builds(
        lambda values, sig: base64.urlsafe_b64encode(json.dumps([sig, values]).encode()).decode(),
        st.lists(json_junk, min_size=len(signature), max_size=len(signature)),
        st.sampled_from([signature, signature[:1], ["-pk"], []]),
    )
    return st.one_of(forged, query_value())


@st.composite
def query_string(draw, keys, columns, signature, export_keys):
    query = {}
    for key, (choices, kind) in keys.items():
        if draw(st.booleans()):
            values = query_value() if kind == "text" else typed_values(kind)
            query[key] = draw(st.one_of(st.sampled_from(choices), values) if choices else values)
    sorts = [*columns, *(f"-{column}" for column in columns), "-", "--pk", "nope", "-nope", "pk"]
    extra = {
        "q": query_value(),
        "sort": st.one_of(st.sampled_from(sorts), query_value()),
        "page": st.one_of(
            st.sampled_from(["0", "-1", "2", "abc", "99999999999999999999", "1e3"]),
            query_value(),
        ),
        "per_page": st.one_of(st.sampled_from(["0", "-5", "1000000", "abc"]), query_value()),
        "after": cursor(signature),
        "before": cursor(signature),
        "days": st.one_of(
            st.sampled_from(["-1", "0", "99999999999", "3650000", "abc"]), query_value()
        ),
    }
    for key, strategy in extra.items():
        if draw(st.booleans()):
            query[key] = draw(strategy)
    for key, value in export_keys.items():
        if draw(st.booleans()):
            query[key] = draw(st.sampled_from(value)) if isinstance(value, list) else value
    return query


def poisoned(test, keys, **arguments):
    """`test` also run, every time, with each POISON value in every key at once."""
    for value in POISON:
        test = example(query=dict.fromkeys(keys, value), **arguments)(test)
    return test


def get_and_check(client, url, query):
    before = row_counts()
    try:
        response = client.get(url, query)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    except Exception as error:
        raise AssertionError(describe("GET", url, query, error=error)) from error
    where = describe("GET", url, query, response)
    assert response.status_code < 500, where
    # The old "CSV for Excel" link (`excel=1`) is sent on to the workbook's address.
    old_excel_link = query.get("excel") == "1" and "csv" in (
        query.get("export"),
        query.get("format"),
    )
    assert response.status_code in ((200, 302, 400, 404) if old_excel_link else (200, 400, 404)), (
        where
    )
    if response.status_code == 302:
        assert "xlsx" in response["Location"] and "excel" not in response["Location"], where
    assert not echoes_markup(response), f"input shown as markup: {where}"
    changed = changed_counts(before, row_counts())
    assert not changed, f"a GET wrote rows {changed}: {where}"
    context = getattr(response, "context", None)
    if response.status_code == 200 and not response.streaming and context is not None:
        filterset = context.get("filter")
        form = filterset.form if filterset is not None else context.get("form")
        if form is not None and form.is_bound and form.errors:
            assert shows_an_error(response), f"refused filters not shown: {where}"
    return body


def fuzz_page(client, url, export_keys):
    keys, columns, signature = query_keys(client.get(url))

    # A count limit of 1 takes the paths of a list too big to count (keyset cursors, look-ahead
    # pages) with the few rows of the test shop.
    @FUZZ_SETTINGS
    @given(
        query=query_string(keys, columns, signature, export_keys),
        count_limit=st.sampled_from([None, 1]),
        time_zone=time_zones,
    )
    def fuzz(query, count_limit, time_zone):
        with override_settings(
            LIST_COUNT_LIMIT=count_limit or django_settings.LIST_COUNT_LIMIT,
            TIME_ZONE=time_zone or django_settings.TIME_ZONE,
        ):
            get_and_check(client, url, query)

    every_key = [*keys, "q", "sort", "page", "per_page", "after", "before"]
    poisoned(fuzz, every_key, count_limit=None, time_zone="Pacific/Pago_Pago")()


@pytest.mark.django_db
@pytest.mark.parametrize("route", LIST_ROUTES, ids=[route.name for route in LIST_ROUTES])
def test_list_pages_and_exports_survive_hostile_query_strings(shop, route):
    client = Client(raise_request_exception=False)
    client.force_login(shop.user)
    fuzz_page(client, shop.url(route), {"export": ["csv", "xlsx"], "excel": "1"})


@pytest.mark.django_db
@pytest.mark.parametrize("route", REPORT_ROUTES, ids=[route.name for route in REPORT_ROUTES])
def test_reports_survive_hostile_query_strings(shop, route):
    client = Client(raise_request_exception=False)
    client.force_login(shop.user)
    fuzz_page(client, shop.url(route), {"format": ["csv", "xlsx"], "excel": "1"})


@pytest.mark.django_db
@pytest.mark.parametrize("route", DETAIL_ROUTES, ids=[route.name for route in DETAIL_ROUTES])
def test_detail_pages_survive_hostile_query_strings(shop, route):
    client = Client(raise_request_exception=False)
    client.force_login(shop.user)
    url = shop.url(route)

    # Few parameters each: besides the poisoned examples, a quarter of a list page's.
    @settings(FUZZ_SETTINGS, max_examples=max(5, FUZZ_SETTINGS.max_examples // 4))
    @given(query=st.dictionaries(st.sampled_from(DETAIL_KEYS), query_value(), max_size=4))
    def fuzz(query):
        get_and_check(client, url, query)

    poisoned(fuzz, DETAIL_KEYS)()
