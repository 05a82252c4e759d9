"""Renewals per second: 100,000 due contracts charged with the sandbox gateway by 1 and by 2
worker processes (`manage.py renew_contracts`, what the beat task runs), with each process's
peak memory, beside the set-based SQL lower bound on the same machine. Writes RESULTS.md."""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest
from django.db import connection

from purchases.models import ContractTransaction, RecurringContract
from tests.purchases.bulk import due_contracts
from webhooks.models import WebhookEndpoint

CONTRACTS = int(os.environ.get("BENCH_CONTRACTS", "100000"))
BASE_DIR = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).with_name("RESULTS.md")
MARKER = "## Renewals: contracts charged per second"


def run_workers(count, batch_size=1000):
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    # Their e-mail tasks go to a throwaway embedded broker, not the developer's var/.
    # Production settings: with DEBUG on, Django keeps and formats every statement it runs.
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "VAR_DIR": tempfile.mkdtemp(prefix="bench-renewals-"),
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": "benchmark-only-" + "x" * 40,
        "ALLOWED_HOSTS": "localhost",
        "PAYMENT_GATEWAYS": "sandbox_card",
    }
    wrapper = (
        "import resource, subprocess, sys;"
        "p = subprocess.run(sys.argv[1:]);"
        "print('peak_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "sys.exit(p.returncode)"
    )
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                wrapper,
                sys.executable,
                "manage.py",
                "renew_contracts",
                "--batch-size",
                str(batch_size),
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(count)
    ]
    outputs = [p.communicate(timeout=1800)[0] for p in processes]
    elapsed = time.perf_counter() - started
    assert all(p.returncode == 0 for p in processes), outputs
    peaks = [int(out.rsplit("peak_kb ", 1)[1].split()[0]) / 1024 for out in outputs]
    return elapsed, max(peaks)


def sql_lower_bound():
    """Claim, insert the transactions and move every contract in three set-based statements."""
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("BEGIN")
        cursor.execute(
            "SELECT id FROM purchases_recurringcontract WHERE status = 'active' "
            "AND next_bill_date <= now() FOR UPDATE SKIP LOCKED"
        )
        cursor.execute(
            """INSERT INTO purchases_contracttransaction (contract_id, period, attempt,
                   idempotency_key, payment_pref, transaction_date, amount, convenience_fee,
                   currency, status, pnref, result_code, response_message, auth_code)
               SELECT id, periods_paid + 1, 1, 'sql:' || id, payment_type, now(), amount, 0,
                      currency, 'approved', '', '0', 'Approved', ''
               FROM purchases_recurringcontract
               WHERE status = 'active' AND next_bill_date <= now()"""
        )
        cursor.execute(
            "UPDATE purchases_recurringcontract SET periods_paid = periods_paid + 1, "
            "next_bill_date = next_bill_date + interval '1 month' "
            "WHERE status = 'active' AND next_bill_date <= now()"
        )
        cursor.execute("ROLLBACK")
        return time.perf_counter() - started


def reset_to_due():
    """Put every contract back to period 1, due now, with no renewal charges recorded."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM purchases_contracttransaction")
        cursor.execute(
            "DELETE FROM purchases_sandboxcharge WHERE idempotency_key LIKE 'contract:%%'"
        )
        # The previous run's receipts and events are keyed per period: they would be skipped.
        cursor.execute("DELETE FROM site_outboxmessage")
        cursor.execute("DELETE FROM site_event")
        cursor.execute(
            "UPDATE purchases_recurringcontract SET periods_paid = 1, status = 'active', "
            "claimed_until = NULL, next_bill_date = now() - interval '1 minute'"
        )
        cursor.execute("VACUUM ANALYZE")


@pytest.mark.django_db(transaction=True)
def test_renewal_throughput():
    started = time.perf_counter()
    due_contracts(CONTRACTS)
    # Renewals record their events whoever listens; an endpoint for every event is the case
    # the issue names (its deliveries go through the outbox, after the renewal commits).
    WebhookEndpoint.objects.create(url="https://hooks.example.com/", event_types=["*"])
    print(f"\n{CONTRACTS:,} due contracts written in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    lower = statistics.median(sql_lower_bound() for _ in range(3))
    rows = [("set-based SQL lower bound (one transaction)", lower, None)]
    for workers in (1, 2):
        reset_to_due()
        elapsed, peak = run_workers(workers)
        assert ContractTransaction.objects.filter(status="approved").count() == CONTRACTS
        assert RecurringContract.objects.filter(periods_paid=2).count() == CONTRACTS
        rows.append(
            (
                f"renew_contracts, {workers} worker process{'es' if workers > 1 else ''}",
                elapsed,
                peak,
            )
        )
    lines = [
        MARKER,
        "",
        f"Measured {date.today().isoformat()}, {os.cpu_count()} cores, PostgreSQL (make bench);",
        f"{CONTRACTS:,} due contracts charged by the sandbox card gateway, batches of 1,000.",
        "",
        "| run | seconds | renewals/s | peak RSS per process |",
        "|---|---:|---:|---:|",
    ]
    for label, seconds, peak in rows:
        peak_cell = f"{peak:.0f} MB" if peak else ""
        lines.append(f"| {label} | {seconds:.1f} | {CONTRACTS / seconds:,.0f} | {peak_cell} |")
        print(lines[-1])
    section = "\n".join(lines) + "\n"
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if MARKER in existing:
        before, _, after = existing.partition(MARKER)
        rest = after.split("\n## ", 1)
        existing = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + section)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0
