"""Every staff list page on generated shop data (1M purchases, 200k buyers, 50k contracts) against
the Django admin's changelist of the same model, side by side in one run. Writes the
"## Staff list pages" section of RESULTS.md.

Run with `make bench PYTEST_ARGS="-k staff_lists"`; BENCH_LIST_PURCHASES sets another size.
"""

import os
import statistics
import time
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from purchases.generate import generate_data

from .bench_list_page import RESULTS, machine

PURCHASES = int(os.environ.get("BENCH_LIST_PURCHASES", "1000000"))
RUNS = 5
MARKER = "## Staff list pages"

# (page, our URL, the admin changelist for the same model and filter)
CASES = [
    ("purchases, page 1", "/purchases/", "/admin/purchases/purchase/"),
    (
        "purchases, completed in EUR",
        "/purchases/?status=completed&currency=EUR",
        "/admin/purchases/purchase/?status__exact=completed&currency__exact=EUR",
    ),
    ("purchases, sorted by amount", "/purchases/?sort=-amount", "/admin/purchases/purchase/?o=-5"),
    ("purchases, page 400", "/purchases/?page=400", "/admin/purchases/purchase/?p=100"),
    ("buyers, page 1", "/buyers/", "/admin/buyers/buyer/"),
    ("buyers, search", "/buyers/?q=ivan", "/admin/buyers/buyer/?q=ivan"),
    ("accesses, page 1", "/accesses/", "/admin/buyers/access/"),
    ("subscriptions, page 1", "/subscriptions/", "/admin/subscriptions/subscription/"),
    ("contracts, page 1", "/renewals/", "/admin/purchases/recurringcontract/"),
    (
        "contracts, past due",
        "/renewals/?status=past_due",
        "/admin/purchases/recurringcontract/?status__exact=past_due",
    ),
]


def measure(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    times, queries = [], 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        queries = len(captured.captured_queries)
    return statistics.median(times), queries


@pytest.mark.django_db(transaction=True)
def test_staff_lists_against_the_admin():
    generate_data(purchases=PURCHASES, seed=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    admin = get_user_model().objects.create_superuser("bench-lists", "b@example.com", "x")
    client = Client()
    client.force_login(admin)
    lines = [
        MARKER,
        "",
        f"Measured {date.today().isoformat()} on {machine()}; "
        '`make bench PYTEST_ARGS="-k staff_lists"`.',
        f"generate_data(purchases={PURCHASES:,}, seed=1); server time through the test client,",
        f"median of {RUNS} after a warm-up; our pages show 25 rows, the admin 100.",
        "",
        "| page | ours ms | ours queries | admin ms | admin queries | ours/admin |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, ours, theirs in CASES:
        our_ms, our_q = measure(client, ours)
        admin_ms, admin_q = measure(client, theirs)
        cells = [
            label,
            f"{our_ms:.1f}",
            our_q,
            f"{admin_ms:.1f}",
            admin_q,
            f"{our_ms / admin_ms:.2f}",
        ]
        row = "| " + " | ".join(map(str, cells)) + " |"
        print(row)
        lines.append(row)
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if MARKER in existing:
        before, _, after = existing.partition(MARKER)
        rest = after.split("\n## ", 1)
        existing = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + "\n".join(lines) + "\n")
