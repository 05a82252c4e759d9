"""The fuzz tests' machinery: a small shop whose codes every URL can name, the site's URLs
walked from the resolver, row counts of every table, and one request that must not fail.
"""

import contextlib
import copy
import traceback
from dataclasses import dataclass

from django import forms
from django.apps import apps
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from api.keys import create_api_key
from buyers import services as buyer_services
from buyers.models import SentEmail
from core.models import Event
from tests.buyers.factories import BuyerFactory
from tests.purchases.test_renewals import subscribe
from tests.subscriptions.factories import (
    CouponFactory,
    MediaFactory,
    OfferFactory,
    PricingModelFactory,
    SubscriptionFactory,
    SubscriptionMediaFactory,
)
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

# The Django admin guards and validates itself (its own tests); it is not walked.
SKIPPED_NAMESPACES = {"admin"}


@dataclass
class Route:
    name: str  # "buyers:edit"
    pattern: URLPattern

    @property
    def callback(self):
        return self.pattern.callback

    @property
    def view_class(self):
        return getattr(self.callback, "view_class", None)

    @property
    def url_kwargs(self):
        return list(getattr(self.pattern.pattern, "converters", {}))

    @property
    def namespace(self):
        return self.name.rpartition(":")[0]


def walk(patterns=None, namespace=""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in SKIPPED_NAMESPACES:
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield Route(f"{namespace}{entry.name}", entry)


ROUTES = sorted(walk(), key=lambda route: route.name)


def accepts_post(route: Route) -> bool | None:
    """Whether the view answers POST; None for a function view, which cannot be told apart."""
    view_class = route.view_class
    if view_class is None:
        return None
    return "post" in view_class.http_method_names and hasattr(view_class, "post")


def accepts_get(route: Route) -> bool:
    view_class = route.view_class
    return (
        view_class is not None
        and "get" in view_class.http_method_names
        and (hasattr(view_class, "get"))
    )


# --- The shop ----------------------------------------------------------------------------------


@dataclass
class Shop:
    user: object
    subscription: object
    media: object
    pricing_model: object
    coupon: object
    buyer: object
    access: object
    purchase: object
    contract: object
    api_key: object
    journal_entry: object
    webhook_endpoint: object
    webhook_event: object
    email: object

    def objects_by_kwarg(self, route: Route) -> dict:
        """{url kwarg: the object it names} for this route, from its namespace."""
        namespace = route.namespace.split(":")[-1]
        by_namespace = {
            "subscriptions": self.subscription,
            "media": self.media,
            "pricing_models": self.pricing_model,
            "coupons": self.coupon,
            "buyers": self.buyer,
            "accesses": self.subscription
            if route.name in ("accesses:subscription", "accesses:grant_for_subscription")
            else self.access,
            "purchases": self.buyer
            if route.name in ("purchases:timeline", "purchases:timeline_note")
            else self.purchase,
            "contracts": self.contract,
            "reports": self.journal_entry,  # the money journal's entry pages
            "webhooks": self.webhook_endpoint,
            "emails": self.email,
        }
        found = {}
        for kwarg in route.url_kwargs:
            if kwarg == "code" and namespace in by_namespace:
                found[kwarg] = by_namespace[namespace]
            elif kwarg == "media_code":
                found[kwarg] = self.media
            elif kwarg == "prefix" and namespace == "api_keys":
                found[kwarg] = self.api_key
            elif kwarg == "event" and namespace == "webhooks":
                found[kwarg] = self.webhook_event
            else:
                raise LookupError(
                    f"{route.name}: tests/fuzz/shop.py does not know which object "
                    f"<{kwarg}> names; add it to Shop.objects_by_kwarg"
                )
        return found

    def url(self, route: Route) -> str:
        named_by = {"prefix": "prefix", "event": "uid"}
        kwargs = {
            kwarg: getattr(obj, named_by.get(kwarg, "code"))
            for kwarg, obj in self.objects_by_kwarg(route).items()
        }
        return reverse(route.name, kwargs=kwargs)


def build_shop(user) -> Shop:
    """One of everything, linked as in a real shop, so that every URL's code resolves."""
    contract = subscribe(price="20.00")
    purchase = contract.purchase
    subscription = SubscriptionFactory(name="Fuzzed course")
    pricing_model = PricingModelFactory(title="Fuzzed rental")
    OfferFactory(subscription=subscription, pricing_model=pricing_model)
    media = MediaFactory(title="Fuzzed lecture")
    SubscriptionMediaFactory(subscription=subscription, media=media)
    buyer = purchase.buyer
    buyer_services.top_up_wallet(buyer=buyer, amount=100, currency="EUR")
    access = buyer_services.grant_access(
        subscription=subscription, buyer=buyer, granted_by=user, notify=False
    )
    api_key = create_api_key(name="Fuzzed key", scopes=["catalog"], created_by=user).api_key
    # An endpoint with one delivery of the buyer's creation, attempted once.
    webhook_endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example.com/in", event_types=["*"]
    )
    webhook_event = Event.objects.create(
        type="buyer.created", api_version="1", data={"Code": buyer.code}
    )
    sent = WebhookDelivery.objects.create(event=webhook_event, endpoint=webhook_endpoint)
    WebhookAttempt.objects.create(delivery=sent, endpoint=webhook_endpoint, status_code=500)
    # A few rows more, so that lists have pages to page through (with a count limit of 1).
    BuyerFactory.create_batch(3)
    return Shop(
        user=user,
        subscription=subscription,
        media=media,
        pricing_model=pricing_model,
        coupon=CouponFactory(),
        buyer=buyer,
        access=access,
        purchase=purchase,
        contract=contract,
        api_key=api_key,
        journal_entry=purchase.journal_entries.get(kind="sale"),
        webhook_endpoint=webhook_endpoint,
        webhook_event=webhook_event,
        email=SentEmail.objects.create(
            key="fuzzed:1",
            kind=SentEmail.Kind.ACCESS_GRANTED,
            buyer=buyer,
            access=access,
            to=buyer.email,
            subject="Your access",
            text_body="Your access password",
            html_body="<p>Your access password</p>",
        ),
    )


# --- What changed -----------------------------------------------------------------------------

SNAPSHOT_APPS = ("subscriptions", "buyers", "purchases", "site", "auth", "webhooks")


def _counted_tables():
    tables = []
    for label in SNAPSHOT_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.managed and not model._meta.proxy:
                tables.append(model._meta.db_table)
                tables.extend(
                    field.remote_field.through._meta.db_table
                    for field in model._meta.local_many_to_many
                    if field.remote_field.through._meta.auto_created
                )
    return sorted(set(tables))


COUNTED_TABLES = _counted_tables()
# Table names come from our models' metadata, never from input.
_COUNT_SQL = "SELECT " + ", ".join(  # noqa: S608
    f"(SELECT COUNT(*) FROM {connection.ops.quote_name(table)})"  # noqa: S608
    for table in COUNTED_TABLES
)


def row_counts() -> dict:
    """Rows in every table of our apps and auth, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_SQL)
        return dict(zip(COUNTED_TABLES, cursor.fetchone(), strict=True))


def changed_counts(before: dict, after: dict) -> dict:
    return {
        table: (before[table], after[table]) for table in before if before[table] != after[table]
    }


def row_values(objects) -> dict:
    """The stored values of the objects a URL names (an edit must not change them when refused)."""
    return {
        kwarg: type(obj).objects.filter(pk=obj.pk).values().first()
        for kwarg, obj in objects.items()
    }


@contextlib.contextmanager
def rolled_back():
    """Everything inside is undone afterwards, even after a database error in the view."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@contextlib.contextmanager
def kept_cookies(client):
    """The client's cookies as they were: its session row is rolled back with the example."""
    saved = copy.deepcopy(client.cookies)
    try:
        yield
    finally:
        client.cookies = saved


class CleanedForms(list):
    """Every bound form validated during a request: (form class name, its errors)."""


@contextlib.contextmanager
def record_cleaned_forms():
    cleaned = CleanedForms()
    original = forms.BaseForm.full_clean

    def full_clean(form):
        original(form)
        if form.is_bound:
            cleaned.append((type(form).__name__, dict(form.errors)))

    forms.BaseForm.full_clean = full_clean
    try:
        yield cleaned
    finally:
        forms.BaseForm.full_clean = original


ERROR_MARKUP = (b"invalid-feedback", b"alert-danger", b"errorlist")


# Markup from the hostile values that must never come back unescaped in a page.
INJECTED_MARKUP = (b"<script>alert(1)</script>", b"<img src=x onerror=alert(1)>")


def echoes_markup(response) -> bool:
    """Whether an HTML page shows hostile input as markup rather than as text."""
    if not response.get("Content-Type", "").startswith("text/html") or response.streaming:
        return False
    return any(markup in response.content for markup in INJECTED_MARKUP)


def shows_an_error(response) -> bool:
    return any(marker in response.content for marker in ERROR_MARKUP)


def describe(method, url, data, response=None, error=None) -> str:
    shown = {
        key: (
            value[:200] + f"… ({len(value)} chars)"
            if isinstance(value, str) and len(value) > 200
            else value
        )
        for key, value in (data or {}).items()
    }
    text = f"{method} {url} with {shown!r}"
    if response is not None:
        text += f" answered {response.status_code}"
        exc_info = getattr(response, "exc_info", None)
        if exc_info:
            text += ":\n" + "".join(traceback.format_exception(*exc_info))
    if error is not None:
        text += ":\n" + "".join(traceback.format_exception(error))
    return text
