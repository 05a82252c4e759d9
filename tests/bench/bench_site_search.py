"""The header search (GET /search/?q=…) on a generated shop of 1M purchases (200k buyers, 50k
contracts): each kind of thing staff paste or type, server time through Django's test client
(median of RUNS after a warm-up) and its queries. The target is 100 ms. Writes the
"## Header search" section of RESULTS.md.

Run with `make bench PYTEST_ARGS="-k site_search"`; BENCH_SEARCH_PURCHASES=100000 for a shorter
run.
"""

import os
import statistics
import subprocess
import time
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from buyers.models import Access, Buyer
from purchases.generator import generate_data
from purchases.models import ContractTransaction, Purchase, RecurringContract

from .bench_list_page import RESULTS, machine

PURCHASES = int(os.environ.get("BENCH_SEARCH_PURCHASES", "1000000"))
RUNS = 7
TARGET_MS = 100
MARKER = "## Header search"


def cases():
    """(what is searched, text): each taken from the generated rows."""
    purchase = Purchase.objects.order_by("pk")[PURCHASES // 2 : PURCHASES // 2 + 1].get()
    with_reference = Purchase.objects.exclude(gateway_reference="").order_by("pk")[1000:1001].get()
    with_phone = Buyer.objects.exclude(phone="").exclude(name="").order_by("pk")
    buyer = with_phone[with_phone.count() // 2]
    with_email = Buyer.objects.exclude(email="").order_by("pk")
    emailed = with_email[with_email.count() // 2]
    contract = RecurringContract.objects.order_by("pk")[100:101].get()
    charge = ContractTransaction.objects.exclude(pnref="").order_by("pk")[100:101].get()
    access = Access.objects.order_by("pk")[5000:5001].get()
    surname = (buyer.name.split() or ["Smith"])[-1]
    return [
        ("a purchase's code", purchase.code),
        ("a purchase's gateway reference", with_reference.gateway_reference),
        ("a renewal charge's PNRef", charge.pnref),
        ("a contract's code", contract.code),
        ("an access's code", access.code),
        ("a buyer's whole e-mail", emailed.email),
        ("a buyer's phone", buyer.phone),
        ("part of a name (many matches)", surname[:5]),
        ("a common e-mail part (many matches)", "example"),
        ("two letters (catalog only)", "zq"),
        ("nothing matches", "no-such-thing-anywhere"),
    ]


def measure(client, text):
    client.get("/search/", {"q": text})  # warm caches and connections
    times = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get("/search/", {"q": text})
            times.append((time.perf_counter() - started) * 1000)
    outcome = "opens it" if response.status_code == 302 else "results page"
    return statistics.median(times), max(times), len(captured.captured_queries), outcome


@pytest.mark.django_db(transaction=True)
def test_header_search_at_a_million_purchases():
    call_command("flush", interactive=False, verbosity=0)
    generate_data(purchases=PURCHASES, seed=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    user = get_user_model().objects.create_superuser("bench-search", "b@example.com", "x")
    client = Client()
    client.force_login(user)
    rows = []
    for what, text in cases():
        median, worst, queries, outcome = measure(client, text)
        rows.append((what, text, median, worst, queries, outcome))
        print(f"{what:<40} {median:7.1f} ms (max {worst:.1f}) {queries} queries, {outcome}")
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    write_results(rows, load)


def write_results(rows, load):
    lines = [
        MARKER,
        "",
        f"Measured {date.today().isoformat()} on {machine()}; "
        '`make bench PYTEST_ARGS="-k site_search"`; after the run: '
        f"`{load.split('load average:')[-1].strip()}` load average.",
        f"generate_data(purchases={PURCHASES:,}, seed=1); GET /search/?q=… as a superuser (every",
        f"kind searched), server time through Django's test client, median and max of {RUNS}",
        f"after a warm-up. Target: {TARGET_MS} ms.",
        "",
        "| searched | ms (median) | ms (max) | queries | answer |",
        "|---|---:|---:|---:|---|",
    ]
    for what, _, median, worst, queries, outcome in rows:
        lines.append(f"| {what} | {median:.1f} | {worst:.1f} | {queries} | {outcome} |")
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if MARKER in existing:
        before, _, after = existing.partition(MARKER)
        rest = after.split("\n## ", 1)
        existing = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + "\n".join(lines) + "\n")
