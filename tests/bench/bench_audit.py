"""What the audit trail costs a purchase and a renewal batch (issue 21: at most 10%).

In this process, on PostgreSQL (`make bench PYTEST_ARGS="-k audit"`): rounds of N wallet
checkouts through `create_purchase` and of one renewal batch of 1,000 due contracts, each round
once with the trail recording and once with `audit.record`/`audit.record_many` replaced by
no-ops (A B A B, the order swapped every round). CPU seconds of this process
(`time.process_time`) and of its PostgreSQL backend (/proc), medians over the rounds, with the
load average: figures from a loaded machine guide work, they are not results.
"""

import os
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from core import audit
from purchases.renewals import renew_due_contracts
from purchases.services.checkout import create_purchase
from tests.bench.bench_purchases import make_buyers
from tests.bench.bench_renewals import reset_to_due
from tests.bench.cpu import load
from tests.purchases.bulk import due_contracts
from tests.purchases.factories import offer_for_sale

CHECKOUTS = int(os.environ.get("BENCH_AUDIT_CHECKOUTS", "300"))
CONTRACTS = int(os.environ.get("BENCH_AUDIT_CONTRACTS", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))


def backend_cpu() -> float | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def recording(on: bool):
    if on:
        yield
        return
    saved = audit.record, audit.record_many
    audit.record, audit.record_many = (lambda *a, **k: None), (lambda entries: 0)
    try:
        yield
    finally:
        audit.record, audit.record_many = saved


def measured(work):
    """(own CPU s, backend CPU s, wall s) of `work()`."""
    own, backend, wall = time.process_time(), backend_cpu(), time.perf_counter()
    work()
    after = backend_cpu()
    return (
        time.process_time() - own,
        None if backend is None else after - backend,
        time.perf_counter() - wall,
    )


def checkouts(subscription, pricing_model):
    first, last = make_buyers(CHECKOUTS, wallet_currency="EUR")
    from buyers.models import Buyer

    buyers = list(Buyer.objects.filter(pk__gte=first, pk__lt=last).order_by("pk"))

    def work():
        for buyer in buyers:
            purchase = create_purchase(
                buyer=buyer,
                subscription=subscription,
                pricing_model=pricing_model,
                payment_type="wallet",
            )
            assert purchase.status == "completed"

    return work


def renewal_batch():
    reset_to_due()

    def work():
        run = renew_due_contracts(batch_size=CONTRACTS)
        assert run.renewed == CONTRACTS, run

    return work


def summary(rows):
    own = statistics.median(r[0] for r in rows)
    backends = [r[1] for r in rows if r[1] is not None]
    return own, statistics.median(backends) if backends else None


@pytest.fixture
def tasks_to_the_broker():
    """E-mails and events go to the broker (Redis) as in production, not run inline here."""
    from config.celery import app

    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


@pytest.mark.django_db(transaction=True)
def test_audit_trail_cost(tasks_to_the_broker):
    subscription, pricing_model = offer_for_sale(price="1.00")
    due_contracts(CONTRACTS)
    results = {("checkout", True): [], ("checkout", False): []}
    results |= {("renewal", True): [], ("renewal", False): []}
    loads = [load()]
    for round_number in range(ROUNDS):
        order = (True, False) if round_number % 2 == 0 else (False, True)
        for on in order:
            work = checkouts(subscription, pricing_model)
            with recording(on):
                results[("checkout", on)].append(measured(work))
            work = renewal_batch()
            with recording(on):
                results[("renewal", on)].append(measured(work))
        loads.append(load())
    lines = [
        f"Audit trail cost, {ROUNDS} rounds A B A B, load {min(loads):.1f}-{max(loads):.1f}:",
        "case | trail | own CPU s (median) | backend CPU s | own+backend | vs without",
    ]
    for case, size in (
        ("checkout", f"{CHECKOUTS} checkouts"),
        ("renewal", f"{CONTRACTS} renewals"),
    ):
        without = summary(results[(case, False)])
        for on in (False, True):
            own, backend = summary(results[(case, on)])
            total = own + (backend or 0)
            base = without[0] + (without[1] or 0)
            lines.append(
                f"{size} | {'on' if on else 'off'} | {own:.3f} | "
                f"{'—' if backend is None else f'{backend:.3f}'} | {total:.3f} | "
                f"{(total / base - 1) * 100:+.1f}%"
            )
    print("\n" + "\n".join(lines))
