"""A buyer's timeline at 1M purchases: one buyer with 10,000 events (2,500 each of purchases,
accesses, device activations and e-wallet entries, plus the generator's own), read as staff read
it. Target: page 1 and any later page in <= 100 ms. Beside it, the buyer's page (a page staff
already open for that buyer) as the plain equivalent. Writes "## Buyer timeline" in RESULTS.md.

Run with `make bench PYTEST_ARGS="-k timeline"`; BENCH_TIMELINE_PURCHASES=100000 for a shorter
run."""

import os
import statistics
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from buyers.models import Access, AccessActivation, Buyer, WalletEntry
from purchases.generator.run import generate_data
from purchases.models import Purchase
from purchases.support import timeline
from subscriptions.models import SubscriptionPricingModel

from .bench_list_page import RESULTS, machine

PURCHASES = int(os.environ.get("BENCH_TIMELINE_PURCHASES", "1000000"))
EACH = 2_500
RUNS = 7
MARKER = "## Buyer timeline"


def heavy_buyer(now):
    """The generator's buyer given EACH more purchases (with their accesses and one device
    activation each) and EACH e-wallet entries, spread over two years."""
    buyer = Buyer.objects.order_by("pk").first()
    offers = list(SubscriptionPricingModel.objects.select_related("subscription", "pricing_model"))
    step = timedelta(days=730) / EACH
    purchases, accesses, entries = [], [], []
    for n in range(EACH):
        offer = offers[n % len(offers)]
        at = now - n * step
        price = offer.pricing_model.price
        purchases.append(
            Purchase(
                buyer=buyer,
                subscription=offer.subscription,
                pricing_model=offer.pricing_model,
                list_price=price,
                discount=Decimal(0),
                amount=price,
                currency=offer.pricing_model.currency,
                payment_type="wallet",
                status=Purchase.Status.COMPLETED,
                created_at=at,
                completed_at=at,
                result_code="0",
                response_message="Paid from the e-wallet",
            )
        )
        accesses.append(
            Access(
                buyer=buyer, subscription=offer.subscription, purchased_at=at, activation_limit=None
            )
        )
        entries.append(
            WalletEntry(
                buyer=buyer,
                kind=WalletEntry.Kind.TOP_UP,
                amount=Decimal("1.00"),
                currency="EUR",
                balance_after=Decimal(n + 1),
                created_at=at + timedelta(seconds=1),
            )
        )
    Purchase.objects.bulk_create(purchases, batch_size=1000)
    accesses = Access.objects.bulk_create(accesses, batch_size=1000)
    # created_at is set on insert: the accesses were granted when they were bought.
    Access.objects.filter(pk__in=[a.pk for a in accesses]).update(created_at=F("purchased_at"))
    AccessActivation.objects.bulk_create(
        [
            AccessActivation(access=a, device_id=f"device-{a.pk}", first_seen_at=a.purchased_at)
            for a in accesses
        ],
        batch_size=1000,
    )
    WalletEntry.objects.bulk_create(entries, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return buyer


def timed(client, url, params=None):
    client.get(url, params)  # warm-up
    times, queries = [], 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
        queries = len(captured)
    return statistics.median(times), max(times), queries


@pytest.mark.django_db(transaction=True)
def test_bench_buyer_timeline():
    now = timezone.now()
    generate_data(purchases=PURCHASES, seed=1)
    buyer = heavy_buyer(now)
    user = get_user_model().objects.create_superuser("bench-timeline", "t@example.com", "x")
    client = Client()
    client.force_login(user)
    events = sum(kind.rows(buyer).count() for kind in timeline.KINDS)
    url = reverse("purchases:timeline", args=[buyer.code])
    # A key deep in the story: the 9,000th event.
    after = ""
    for _ in range(180):
        page = timeline.timeline_page(buyer=buyer, user=user, after=after)
        after = page.next_key
    cases = [
        ("page 1", url, None),
        ("page 181 (after the 9,000th event)", url, {"after": after}),
        ("purchases only, page 1", url, {"kind": "purchase"}),
        ("notes only (none), page 1", url, {"kind": "note"}),
        ("the buyer's page (plain equivalent)", reverse("buyers:detail", args=[buyer.code]), None),
    ]
    rows = [(name, *timed(client, case_url, params)) for name, case_url, params in cases]
    kinds = timeline.kinds_for(user)
    for name, key in (("page 1", None), ("page 181", timeline.parse_key(after))):
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            timeline.page_keys(buyer, kinds, key)
            times.append((time.perf_counter() - started) * 1000)
        rows.append((f"{name}: the UNION query alone", statistics.median(times), max(times), 1))
    with connection.cursor() as cursor:
        sql, params = timeline.page_keys_query(buyer, kinds, None).query.sql_with_params()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print(plan)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM purchases_purchase")
        purchases = cursor.fetchone()[0]
    load = os.getloadavg()
    lines = [
        MARKER,
        "",
        f"Measured {timezone.localdate()} on {machine()}; load average {load[0]:.1f} "
        f'(1 min) during the run; `make bench PYTEST_ARGS="-k timeline"`.',
        f"{purchases:,} purchases (generate_data, seed 1) and one buyer with {events:,} events; "
        f"server time through Django's test client as an admin, median and worst of {RUNS} after "
        "a warm-up, 50 events a page. Target: <= 100 ms.",
        "",
        "| case | median ms | worst ms | queries |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {median:.1f} | {worst:.1f} | {queries} |"
            for name, median, worst, queries in rows
        ),
    ]
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if MARKER in existing:
        before, _, rest = existing.partition(MARKER)
        rest = rest.split("\n## ", 1)
        existing = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))
