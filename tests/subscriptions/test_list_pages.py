"""The catalog's list pages: filters, search by name or code, CSV export, fixed query count."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from .factories import (
    CouponFactory,
    MediaFactory,
    OfferFactory,
    PricingModelFactory,
    SubscriptionFactory,
    SubscriptionMediaFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def names_on(response, attribute="name"):
    return sorted(getattr(row.record, attribute) for row in response.context["table"].page)


def read_csv(response):
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body)))


def test_subscriptions_filter_by_status(staff):
    now = timezone.now()
    SubscriptionFactory(name="Active")
    SubscriptionFactory(name="Upcoming", sale_start=now + timedelta(days=2))
    SubscriptionFactory(name="Sale over", sale_end=now - timedelta(days=1))
    SubscriptionFactory(name="Access over", period=None, access_expire=now - timedelta(days=1))
    SubscriptionFactory(name="Archived", archived_at=now)
    url = reverse("subscriptions:list")
    assert names_on(staff.get(url, {"status": "active"})) == ["Active"]
    assert names_on(staff.get(url, {"status": "upcoming"})) == ["Upcoming"]
    assert names_on(staff.get(url, {"status": "expired"})) == ["Access over", "Sale over"]
    assert names_on(staff.get(url, {"status": "archived"})) == ["Archived"]


def test_subscriptions_filter_by_kind_scope_and_drm_and_search_by_code(staff):
    wanted = SubscriptionFactory(name="Wanted", kind="password", scope="single", drm=True)
    SubscriptionFactory(name="Other", kind="subscription", scope="group")
    url = reverse("subscriptions:list")
    assert names_on(staff.get(url, {"kind": "password"})) == ["Wanted"]
    assert names_on(staff.get(url, {"scope": "single"})) == ["Wanted"]
    assert names_on(staff.get(url, {"drm": "true"})) == ["Wanted"]
    assert names_on(staff.get(url, {"q": wanted.code.lower()})) == ["Wanted"]
    assert names_on(staff.get(url, {"q": "wANT"})) == ["Wanted"]


def test_subscriptions_list_shows_media_count_and_default_price(staff):
    subscription = SubscriptionFactory()
    SubscriptionMediaFactory.create_batch(3, subscription=subscription)
    OfferFactory(
        subscription=subscription, pricing_model__price="4.50", pricing_model__currency="USD"
    )
    OfferFactory(subscription=subscription, is_default=False)
    response = staff.get(reverse("subscriptions:list"))
    row = response.context["table"].page[0]
    assert row.get_cell("media_count") == 3
    assert row.get_cell("price") == "4.50 USD"


def test_subscriptions_export_csv_has_the_filtered_rows_with_codes(staff):
    kept = SubscriptionFactory(name="Kept", drm=True)
    SubscriptionMediaFactory(subscription=kept)
    OfferFactory(subscription=kept, pricing_model__price="9.99")
    SubscriptionFactory(name="Left out", drm=False)
    rows = read_csv(staff.get(reverse("subscriptions:list"), {"export": "csv", "drm": "true"}))
    header, *body = rows
    assert header[:3] == ["Code", "Name", "Kind"]
    assert len(body) == 1
    record = dict(zip(header, body[0], strict=True))
    assert record["Code"] == kept.code
    assert record["Media"] == "1"
    assert record["Default price"] == "9.99 EUR"
    assert record["Status"] == "active"


def test_media_list_filters_and_export(staff):
    MediaFactory(title="Song", kind="audio", status="processing")
    MediaFactory(title="Film", kind="video", status="done")
    url = reverse("media:list")
    assert names_on(staff.get(url, {"kind": "audio"}), "title") == ["Song"]
    assert names_on(staff.get(url, {"status": "done"}), "title") == ["Film"]
    assert len(read_csv(staff.get(url, {"export": "csv"}))) == 3


def test_pricing_model_and_coupon_lists_export(staff):
    PricingModelFactory(price="1000", currency="JPY")
    CouponFactory(code="HALF", percent="50")
    pricing_rows = read_csv(staff.get(reverse("pricing_models:list"), {"export": "csv"}))
    assert pricing_rows[1][2] == "1000"
    coupon_rows = read_csv(staff.get(reverse("coupons:list"), {"export": "csv"}))
    assert coupon_rows[1][0] == "HALF" and coupon_rows[1][2] == "50% off"


def make_subscriptions(count):
    for _ in range(count):
        subscription = SubscriptionFactory()
        SubscriptionMediaFactory(subscription=subscription)
        OfferFactory(subscription=subscription)


def make_media(count):
    for link in SubscriptionMediaFactory.create_batch(count):
        assert link.pk


def make_pricing_models(count):
    for offer in OfferFactory.create_batch(count):
        assert offer.pk


def make_coupons(count):
    subscription = SubscriptionFactory()
    for coupon in CouponFactory.create_batch(count, applies_to_all=False):
        coupon.subscriptions.add(subscription)


@pytest.mark.parametrize(
    ("url_name", "make"),
    [
        ("subscriptions:list", make_subscriptions),
        ("media:list", make_media),
        ("pricing_models:list", make_pricing_models),
        ("coupons:list", make_coupons),
    ],
)
def test_the_query_count_is_the_same_for_5_and_50_rows(
    staff, django_assert_max_num_queries, url_name, make
):
    make(50)
    with django_assert_max_num_queries(10) as five:
        assert staff.get(reverse(url_name), {"per_page": 5}).status_code == 200
    with django_assert_max_num_queries(10) as fifty:
        response = staff.get(reverse(url_name), {"per_page": 50})
    assert len(response.context["table"].page.object_list) == 50
    assert len(five.captured_queries) == len(fifty.captured_queries)
