"""Every form and action of the site, posted hostile input: never a 500, nothing written when
refused, and the page says what is wrong.

The URLs come from the resolver, so a new view that accepts POST is fuzzed as soon as it has a
URL, or this file fails until it is listed in NOT_FUZZED with the reason.
"""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import (
    BaseForm,
    BooleanField,
    ChoiceField,
    ModelChoiceField,
    MultipleChoiceField,
)
from django.test import Client, override_settings
from hypothesis import example, given
from hypothesis import strategies as st

from tests.factories import TEST_PASSWORD
from tests.subscriptions.factories import MediaFactory

from .conftest import FUZZ_SETTINGS
from .shop import (
    ROUTES,
    accepts_get,
    accepts_post,
    changed_counts,
    describe,
    echoes_markup,
    kept_cookies,
    record_cleaned_forms,
    rolled_back,
    row_counts,
    row_values,
    shows_an_error,
)
from .strategies import POISON, field_kind, form_data, hostile_text, time_zones

# POST-accepting URLs that are not fuzzed here, and why.
NOT_FUZZED = {
    # Signing in: its lockout and messages are tested by tests/site/test_sign_in.py (axes).
    "login": "sign-in has its own tests (tests/site/test_sign_in.py)",
    # Signing out takes no input; posting it would end the fuzzing client's session.
    "logout": "takes no input",
    # The load balancer's health check ignores its input (a function view answering GET/POST).
    "healthz": "takes no input",
    # The sandbox provider's page for buyers (404 unless a sandbox redirect gateway is on);
    # tests/purchases/test_gateways.py covers it.
    "sandbox_checkout": "the payment provider's page, not staff's",
    # One choice from the two languages and a page to go back to; refusals and off-site pages
    # are tested by tests/site/test_languages.py.
    "choose_language": "a fixed choice with its own tests (tests/site/test_languages.py)",
}
# The buyer's self-service pages: function views opened by a signed link, whose forms are
# one per subscription; tests/purchases/test_self_service.py posts hostile input to each.
NOT_FUZZED.update(
    {
        f"self_service:{name}": "the buyer's pages (tests/purchases/test_self_service.py)"
        for name in (
            "home",
            "card",
            "stop",
            "reactivate",
            "pause",
            "resume",
            "fresh_link",
            "fresh_link_for_link",
        )
    }
)
# The JSON API answers with JSON bodies, fuzzed by schemathesis (tests/api/).
NOT_FUZZED_NAMESPACES = ("api:",)

# Forms a view shows only after a POST (no GET page): the form it validates, by URL name.
POST_ONLY_FORM_CONTEXT = {"subscriptions:attach_media": "attach_form"}

# Pages that answer 200 without an error when the input was good: what they show instead.
SUCCESS_PAGES = {
    "api_keys:create": "api/apikey_created.html",
    "webhooks:create": "webhooks/endpoint_created.html",
    "webhooks:rotate": "webhooks/endpoint_created.html",
    "buyers:import": "buyers/buyer_import.html",
    # A plan change's first submit shows its preview; only "Confirm the change" writes.
    "contracts:change_plan": "purchases/plan_change_form.html",
}


# Of those, the ones whose result page follows a write (a key or secret is shown once, not
# redirected to;
# the import's preview keeps its good rows in an unconfirmed operation, not the session: 100,000
# rows are megabytes). A refused form still writes nothing.
WRITES_ON_200 = {"api_keys:create", "webhooks:create", "webhooks:rotate", "buyers:import"}


def is_excluded(name):
    return name in NOT_FUZZED or name.startswith(NOT_FUZZED_NAMESPACES)


POSTED_ROUTES = [
    route for route in ROUTES if accepts_post(route) is not False and not is_excluded(route.name)
]


def test_every_view_that_accepts_post_is_fuzzed_or_excused():
    function_views = [
        route.name
        for route in ROUTES
        if accepts_post(route) is None and not is_excluded(route.name)
    ]
    assert not function_views, (
        f"function views {function_views} may accept POST: give them a view class, or list "
        "them in NOT_FUZZED with the reason"
    )
    names = {route.name for route in ROUTES}
    assert set(NOT_FUZZED) <= names, "NOT_FUZZED names a URL that no longer exists"
    assert len(POSTED_ROUTES) >= 30, [route.name for route in POSTED_ROUTES]


def valid_input(shop, route) -> dict:
    """Input each create form accepts (edit forms start from the object's own values)."""
    other_media = MediaFactory(title="Another lecture")
    return {
        "subscriptions:create": {"name": "Course", "period": "30"},
        "subscriptions:edit": {"period": "30"},
        "subscriptions:attach_media": {"media": other_media.code},
        "media:create": {"title": "Lecture"},
        "pricing_models:create": {"title": "Rental", "price": "9.99", "currency": "EUR"},
        "coupons:create": {"percent": "10"},
        "contacts:edit": {"name": "Shop", "email": "shop@example.com"},
        "buyers:create": {"email": "new.buyer@example.com", "name": "Ann"},
        "buyers:grant_access": {"subscription": shop.subscription.code},
        "accesses:grant_for_subscription": {"email": "new.buyer@example.com"},
        "buyers:set_pin": {"pin": "1234", "pin_again": "1234"},
        "buyers:wallet_entry": {"amount": "5.00", "currency": "EUR", "reason": "Gift"},
        "purchases:create": {
            "buyer": shop.buyer.code,
            "subscription": shop.subscription.code,
            "pricing_model": shop.pricing_model.code,
            "payment_type": "wallet",
        },
        "purchases:cancel": {"mode": "now", "refund": "none"},
        "purchases:refund": {"amount": "1.00", "reason": "Asked for it"},
        "contracts:card": {"instrument": "tok_approve"},
        "api_keys:create": {"name": "Player", "scopes": ["catalog"]},
        # An address, not a name: the fuzzer's variations are never looked up in the DNS.
        "webhooks:create": {"url": "https://93.184.216.34/in", "event_types": ["*"]},
        "webhooks:replay": {"start": "2026-01-01 00:00", "end": "2026-12-31 00:00"},
        "password_change": {
            "old_password": TEST_PASSWORD,
            "new_password1": "another horse battery 43",
            "new_password2": "another horse battery 43",
        },
    }.get(route.name, {})


def baseline_of(form, overrides: dict) -> dict:
    """The form's own values as a browser would post them, with `overrides`."""
    data = {}
    for bound in form if form is not None else ():
        value = bound.value()
        if isinstance(bound.field, BooleanField):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, (list, tuple)):
            data[bound.html_name] = [str(item) for item in value]
        elif value is not None and bound.widget_type not in ("clearablefile", "file"):
            data[bound.html_name] = str(value)
    return {**data, **overrides}


def form_of(client, shop, route):
    """The form the view validates, as it renders it for the superuser (None: no form)."""
    url = shop.url(route)
    with rolled_back():
        if route.name in POST_ONLY_FORM_CONTEXT:
            context = client.post(url, {}).context
            return context[POST_ONLY_FORM_CONTEXT[route.name]]
        if not accepts_get(route):
            return None
        response = client.get(url)
    form = response.context and response.context.get("form")
    if isinstance(form, BaseForm):
        return form
    return None


def field_choices(form) -> dict:
    """{field name: (the values its real choices post, its kind)}; files have their own test."""
    fields = {}
    for name, field in form.fields.items() if form is not None else ():
        if form[name].widget_type == "clearablefile" or name == "file":
            continue
        choices = []
        if isinstance(field, (ChoiceField, MultipleChoiceField)):
            choices = [str(value) for value, _ in field.choices if value != ""][:20]
        if isinstance(field, ModelChoiceField):
            key = field.to_field_name or "pk"
            choices = [str(getattr(obj, key)) for obj in field.queryset[:20]]
        longest = getattr(field, "max_length", None)
        if longest:
            # The longest text the form takes must fit its column; one more must be refused.
            choices += ["x" * longest, "é" * longest, "😀" * longest, "x" * (longest + 1)]
        fields[form.add_prefix(name)] = (choices, field_kind(field))
    return fields


def post_and_check(client, shop, route, url, data, objects):
    """POST `data` and check the site's promises for bad input; answers the response."""
    before, values_before = row_counts(), row_values(objects)
    with record_cleaned_forms() as cleaned:
        try:
            response = client.post(url, data)
        except Exception as error:  # an error the client re-raised is a crash all the same
            raise AssertionError(describe("POST", url, data, error=error)) from error
    where = describe("POST", url, data, response)
    assert response.status_code < 500, where
    assert not echoes_markup(response), f"input shown as markup: {where}"
    refused = [(name, errors) for name, errors in cleaned if errors]
    if response.status_code in (301, 302, 303):
        assert not response["Location"].startswith("/accounts/login/"), f"signed out: {where}"
        assert not refused, f"redirected although the form refused {refused}: {where}"
        # What was saved must show: the page the view sends the user to opens.
        shown = client.get(response["Location"])
        assert shown.status_code < 500, describe("GET", response["Location"], {}, shown) + (
            f" after {where}"
        )
        assert not echoes_markup(shown), f"saved input shown as markup after {where}"
        return response
    # The page answered instead of moving on: the input was refused, or the request was
    # malformed (400), or the page shows a result (SUCCESS_PAGES).
    shown_form = None
    if response.context is not None:
        shown_form = response.context.get(POST_ONLY_FORM_CONTEXT.get(route.name, "form"))
    refused = refused or (shown_form is not None and shown_form.errors)
    template = SUCCESS_PAGES.get(route.name)
    shown_result = template in [t.name for t in response.templates] and not refused
    if response.status_code == 200 and not shown_result:
        assert shows_an_error(response), f"no error shown: {where}"
    if response.status_code == 400:  # too large to read (templates/400.html), or a form's 400
        assert shows_an_error(response) or b"could not be read" in response.content, where
    if not (shown_result and route.name in WRITES_ON_200):
        changed = changed_counts(before, row_counts())
        assert not changed, f"rows written {changed} although refused: {where}"
        assert row_values(objects) == values_before, f"object changed although refused: {where}"
    return response


@pytest.mark.django_db
@pytest.mark.parametrize("route", POSTED_ROUTES, ids=[route.name for route in POSTED_ROUTES])
def test_hostile_posts_are_refused_with_a_message_and_change_nothing(shop, route):
    client = Client(raise_request_exception=False)
    client.force_login(shop.user)
    url = shop.url(route)
    objects = shop.objects_by_kwarg(route)
    form = form_of(client, shop, route)
    fields = field_choices(form)
    baseline = baseline_of(form, valid_input(shop, route))

    @FUZZ_SETTINGS
    @given(data=form_data(fields, baseline), time_zone=time_zones)
    def fuzz(data, time_zone):
        with (
            rolled_back(),
            kept_cookies(client),
            override_settings(TIME_ZONE=time_zone or settings.TIME_ZONE),
        ):
            post_and_check(client, shop, route, url, data, objects)

    # Every run also posts the accepted input itself, and each POISON value in every field.
    fuzz = example(data=baseline, time_zone=None)(fuzz)
    for value in POISON:
        fuzz = example(data={**baseline, **dict.fromkeys(fields, value)}, time_zone=None)(fuzz)
    fuzz()


CSV_CELL = st.one_of(
    st.sampled_from(["ann@example.com", "bob@example.org", "", "+44 20 7946 0958", "Ann"]),
    hostile_text(),
)
# Rows of an e-mail, a phone and a name, any of them hostile; sometimes a ragged row.
CSV_LINES = st.lists(
    st.one_of(
        st.tuples(CSV_CELL, CSV_CELL, hostile_text()).map(lambda cells: ",".join(cells)),
        st.lists(hostile_text(), min_size=1, max_size=5).map(lambda cells: ",".join(cells)),
    ),
    max_size=5,
)


@pytest.mark.django_db
def test_hostile_buyer_files_are_previewed_or_refused_and_import_only_good_rows(shop):
    """The CSV import: a file of hostile rows previews (bad rows say why) or is refused;
    confirming imports the good rows without a crash."""
    client = Client(raise_request_exception=False)
    client.force_login(shop.user)
    url = "/buyers/import/"

    @FUZZ_SETTINGS
    @given(
        header=st.sampled_from(
            ["email,phone,name", "email,phone,name", "name;email", "phone\tname", "x,y", ""]
        ),
        lines=CSV_LINES,
        encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]),
    )
    def fuzz(header, lines, encoding):
        text = "\n".join([header, *lines])
        content = text.encode(encoding, errors="replace")
        with rolled_back(), kept_cookies(client):
            upload = SimpleUploadedFile("buyers.csv", content, content_type="text/csv")
            route = next(r for r in POSTED_ROUTES if r.name == "buyers:import")
            post_and_check(client, shop, route, url, {"file": upload}, {})
            post_and_check(client, shop, route, url, {"confirm": "1"}, {})

    fuzz()
