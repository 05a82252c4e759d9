"""Purchases per second through `create_purchase` (the one purchase service every entry point
calls): card purchases (sandbox card gateway) and e-wallet purchases, in one process and in two
processes buying the same product at once (they meet on the same rows: the product's stock
count, a day's money totals). Writes a section of tests/bench/RESULTS.md.

Run with `make bench PYTEST_ARGS="-k purchases"`; compare runs only at a similar load average
(printed beside the figures: other sessions share this machine).
"""

import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from buyers.models import Buyer, WalletBalance, WalletEntry
from purchases.models import Purchase
from tests.bench.cpu import PROBE, load, parse
from tests.purchases.factories import offer_for_sale

PURCHASES = int(os.environ.get("BENCH_PURCHASES", "2000"))
BASE_DIR = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).with_name("RESULTS.md")
MARKER = "## Purchases per second"

# One process buying buyers [first, last) of a product with a payment type; prints its time
# and CPU seconds (its own, its database backend's).
WORKER = (
    PROBE
    + """
import sys, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.db import connection
from buyers.models import Buyer
from purchases.services.checkout import create_purchase
from subscriptions.models import PricingModel, Subscription
subscription = Subscription.objects.get(pk=int(sys.argv[1]))
pricing_model = PricingModel.objects.get(pk=int(sys.argv[2]))
payment_type, first, last = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
buyers = list(Buyer.objects.filter(pk__gte=first, pk__lt=last).order_by("pk"))
before = cpu_now(connection)
started = time.perf_counter()
for buyer in buyers:
    purchase = create_purchase(
        buyer=buyer, subscription=subscription, pricing_model=pricing_model,
        payment_type=payment_type, instrument="tok_approve" if payment_type != "wallet" else "",
    )
    assert purchase.status == "completed", (purchase.status, purchase.response_message)
print("seconds", time.perf_counter() - started)
after = cpu_now(connection)
print("cpu", after[0] - before[0], None if before[1] is None else after[1] - before[1])
"""
)


def make_buyers(count, *, wallet_currency=None):
    """`count` buyers (ids contiguous); with a currency, each holds 100 in their e-wallet."""
    buyers = Buyer.objects.bulk_create(
        [Buyer(email=f"bench{time.monotonic_ns()}-{i}@example.com") for i in range(count)]
    )
    if wallet_currency:
        # Written directly: the top-ups are the setup, not what is measured.
        WalletBalance.objects.bulk_create(
            [WalletBalance(buyer=b, currency=wallet_currency, balance=100) for b in buyers]
        )
        WalletEntry.objects.bulk_create(
            [
                WalletEntry(
                    buyer=b,
                    kind="top_up",
                    amount=Decimal(100),
                    currency=wallet_currency,
                    balance_after=Decimal(100),
                )
                for b in buyers
            ]
        )
    return buyers[0].pk, buyers[-1].pk + 1


def run(processes, subscription, pricing_model, payment_type, first, last):
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "VAR_DIR": tempfile.mkdtemp(prefix="bench-purchases-"),
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": "benchmark-only-" + "x" * 40,
        "ALLOWED_HOSTS": "localhost",
        "PAYMENT_GATEWAYS": "sandbox_card",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    step = (last - first) // processes
    ranges = [(first + i * step, first + (i + 1) * step) for i in range(processes)]
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                str(subscription.pk),
                str(pricing_model.pk),
                payment_type,
                str(a),
                str(b),
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for a, b in ranges
    ]
    outputs = [child.communicate(timeout=1800)[0] for child in children]
    elapsed = time.perf_counter() - started
    assert all(child.returncode == 0 for child in children), outputs
    cpu = [parse(output) for output in outputs]
    backends = [backend for _, backend in cpu]
    return elapsed, sum(own for own, _ in cpu), None if None in backends else sum(backends)


@pytest.mark.django_db(transaction=True)
def test_purchase_throughput():
    rows = []
    for payment_type in ("sandbox_card", "wallet"):
        for processes in (1, 2):
            subscription, pricing_model = offer_for_sale(price="4.99", currency="EUR")
            first, last = make_buyers(
                PURCHASES, wallet_currency="EUR" if payment_type == "wallet" else None
            )
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            before = Purchase.objects.count()
            elapsed, own, backend = run(
                processes, subscription, pricing_model, payment_type, first, last
            )
            assert Purchase.objects.count() - before == PURCHASES
            rows.append((payment_type, processes, elapsed, own, backend, load()))
            cpu = own + (backend or 0)
            print(
                f"\n{payment_type}, {processes} process(es): {PURCHASES / elapsed:,.0f} "
                f"purchases/s, {PURCHASES / cpu:,.0f} per CPU s (load {load():.1f})"
            )
    lines = [
        MARKER,
        "",
        f"Measured {date.today().isoformat()}, {os.cpu_count()} cores, PostgreSQL (make bench);",
        f"{PURCHASES:,} purchases of one product through create_purchase, each a new buyer.",
        "",
        "CPU seconds: the buying processes' own and their database backends' (less moved by",
        "other sessions' load than wall time); load: the 1-minute load average after the run.",
        "",
        "| payment type | processes | seconds | purchases/s | CPU s (buyers + database) "
        "| purchases per CPU s | load |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for payment_type, processes, seconds, own, backend, load_after in rows:
        cpu = own + (backend or 0)
        lines.append(
            f"| {payment_type} | {processes} | {seconds:.1f} | {PURCHASES / seconds:,.0f} "
            f"| {own:.1f} + {backend if backend is not None else 0:.1f} | {PURCHASES / cpu:,.0f} "
            f"| {load_after:.1f} |"
        )
    section = "\n".join(lines) + "\n"
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if MARKER in existing:
        before, _, after = existing.partition(MARKER)
        rest = after.split("\n## ", 1)
        existing = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + section)
