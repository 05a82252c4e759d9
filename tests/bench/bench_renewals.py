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
from tests.bench.cpu import PROBE, load, parse
from tests.purchases.bulk import due_contracts
from webhooks.models import WebhookEndpoint

CONTRACTS = int(os.environ.get("BENCH_CONTRACTS", "100000"))
BASE_DIR = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).with_name("RESULTS.md")
MARKER = "## Renewals: contracts charged per second"


# One worker: what `manage.py renew_contracts` runs, with its CPU time and its backend's.
WORKER = (
    PROBE
    + """
import sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.db import connection
from purchases.renewals import renew_due_contracts
before = cpu_now(connection)
run = renew_due_contracts(batch_size=int(sys.argv[1]))
after = cpu_now(connection)
print("renewed", run.renewed)
print("cpu", after[0] - before[0], None if before[1] is None else after[1] - before[1])
# The process's own peak (VmHWM): ru_maxrss keeps the peak of the parent that forked it
# (pytest, holding the generated contracts), which exec does not reset.
status = Path("/proc/self/status")
hwm = [line.split()[1] for line in status.read_text().splitlines() if line.startswith("VmHWM")]
print("peak_kb", hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
)


def run_workers(count, batch_size=1000):
    """Wall seconds, peak RSS (MB) and CPU seconds (workers', their backends') of `count`
    worker processes renewing everything due."""
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
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(batch_size)],
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
    cpu = [parse(out) for out in outputs]
    own = sum(worker for worker, _ in cpu)
    backend = None if any(b is None for _, b in cpu) else sum(b for _, b in cpu)
    return elapsed, max(peaks), own, backend


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
        # The renewals' journal rows go first (TRUNCATE: the journal refuses DELETE).
        journal = [
            table
            for table in ("purchases_journalentry", "purchases_journalday")
            + ("purchases_journalshopday",)
            if table in connection.introspection.table_names(cursor)
        ]
        if journal:
            cursor.execute(f"TRUNCATE {', '.join(journal)}")
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


def journal_renewals():
    """Renewals booked in the money journal (None before it existed)."""
    with connection.cursor() as cursor:
        if "purchases_journalentry" not in connection.introspection.table_names(cursor):
            return None
        cursor.execute("SELECT count(*) FROM purchases_journalentry WHERE kind = 'renewal'")
        return cursor.fetchone()[0]


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
    rows = [("set-based SQL lower bound (one transaction)", lower, None, None, None, load())]
    for workers in (1, 2):
        reset_to_due()
        elapsed, peak, own, backend = run_workers(workers)
        assert ContractTransaction.objects.filter(status="approved").count() == CONTRACTS
        assert RecurringContract.objects.filter(periods_paid=2).count() == CONTRACTS
        booked = journal_renewals()
        assert booked in (None, CONTRACTS)
        label = f"renew_contracts, {workers} worker process{'es' if workers > 1 else ''}"
        rows.append((label, elapsed, peak, own, backend, load()))
    lines = [
        MARKER,
        "",
        f"Measured {date.today().isoformat()}, {os.cpu_count()} cores, PostgreSQL (make bench);",
        f"{CONTRACTS:,} due contracts charged by the sandbox card gateway, batches of 1,000.",
        "",
        "CPU seconds: the workers' own and their database backends' (less moved by other",
        "sessions' load than wall time); load: the 1-minute load average after the run.",
        "",
        "| run | seconds | renewals/s | peak RSS per process | CPU s (workers + database) "
        "| renewals per CPU s | load |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, seconds, peak, own, backend, load_after in rows:
        peak_cell = f"{peak:.0f} MB" if peak else ""
        cpu = own + backend if own is not None and backend is not None else None
        cpu_cells = f"{own:.1f} + {backend:.1f} | {CONTRACTS / cpu:,.0f}" if cpu else " | "
        lines.append(
            f"| {label} | {seconds:.1f} | {CONTRACTS / seconds:,.0f} | {peak_cell} | {cpu_cells} "
            f"| {load_after:.1f} |"
        )
        print(lines[-1])
    section = "\n".join(lines) + "\n"
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if MARKER in existing:
        before, _, after = existing.partition(MARKER)
        rest = after.split("\n## ", 1)
        existing = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + section)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0
