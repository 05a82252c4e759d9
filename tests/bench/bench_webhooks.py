"""Webhook deliveries per second: 1 and 2 Celery worker processes (solo pool; each POSTs
WEBHOOK_CONCURRENCY at once) deliver pending deliveries to a local HTTPS receiver, beside the
plain equivalent: the same number of POSTs from as many processes with the same threads and no
database work. Records the load average before each run. Writes RESULTS.md."""

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from django.db.models import Max

from tests.webhooks.stack import (
    Receiver,
    hand_over,
    needs_stack,
    start_worker,
    wait_for,
    worker_env,
    write_pending_deliveries,
)
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

DELIVERIES = int(os.environ.get("BENCH_DELIVERIES", "10000"))
CONCURRENCY = 32  # WEBHOOK_CONCURRENCY's default
# One task at a time, or two (one records its batch while the other's POSTs are out).
POOLS = [("--pool=solo",), ("--pool=threads", "--concurrency=2")]
RESULTS = Path(__file__).with_name("RESULTS.md")
MARKER = "## Webhooks: deliveries per second"

pytestmark = pytest.mark.django_db(transaction=True)

PLAIN_CLIENT = """
import sys, urllib3
from concurrent.futures import ThreadPoolExecutor
port, count, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
pool = urllib3.HTTPSConnectionPool("127.0.0.1", port, maxsize=threads, cert_reqs="CERT_REQUIRED")
body = b'{"id":"evt_x","type":"buyer.created","data":{"object":{"Code":"AbCdEf12"}}}' * 3
def post(i):
    r = pool.urlopen("POST", "/hooks", body=body, headers={"Webhook-Id": f"plain{i}"},
                     retries=False, preload_content=True)
    assert r.status == 200
with ThreadPoolExecutor(threads) as ex:
    list(ex.map(post, range(count)))
"""


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def plain_run(receiver, processes: int) -> float:
    env = {**os.environ, "SSL_CERT_FILE": str(receiver.cert)}
    started = time.perf_counter()
    clients = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                PLAIN_CLIENT,
                str(receiver.port),
                str(DELIVERIES // processes),
                str(CONCURRENCY),
            ],
            env=env,
        )
        for _ in range(processes)
    ]
    for client in clients:
        assert client.wait(timeout=600) == 0
    return time.perf_counter() - started


def worker_run(tmp_path, redis_url, receiver, monkeypatch, workers: int, pool) -> float:
    WebhookAttempt.objects.all().delete()
    WebhookDelivery.objects.all().delete()
    ids = write_pending_deliveries(DELIVERIES, monkeypatch)
    before = len(receiver.ids())
    env = worker_env(tmp_path, redis_url, receiver, WEBHOOK_CONCURRENCY=str(CONCURRENCY))
    processes = [start_worker(env, f"bench{n}", pool) for n in range(workers)]
    try:
        time.sleep(3)  # the workers connect to Redis before the clock starts
        started = hand_over(env, ids)
        done = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED)
        assert wait_for(lambda: done.count() == DELIVERIES, timeout=600, interval=0.2)
        # From the hand-over to the last attempt recorded (the wall clock both sides share).
        last = WebhookAttempt.objects.aggregate(last=Max("attempted_at"))["last"]
        elapsed = last.timestamp() - started
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    assert len(receiver.ids()) - before >= DELIVERIES
    return elapsed


def test_deliveries_per_second(tmp_path, monkeypatch):
    redis_url = needs_stack()
    receiver = Receiver(tmp_path)
    WebhookEndpoint.objects.create(url=receiver.url, event_types=["*"])
    rows = []
    try:
        for workers in (1, 2):
            load = load_average()
            plain = plain_run(receiver, workers)
            rows.append(
                (f"plain POSTs, {workers} process(es) × {CONCURRENCY} threads", plain, load)
            )
            for pool in POOLS:
                load = load_average()
                elapsed = worker_run(tmp_path, redis_url, receiver, monkeypatch, workers, pool)
                rows.append(
                    (f"Celery, {workers} worker process(es), {' '.join(pool)}", elapsed, load)
                )
    finally:
        receiver.stop()
    lines = [
        MARKER,
        "",
        f"Measured {date.today().isoformat()}, {os.cpu_count()} cores shared with other work,",
        f"PostgreSQL and Redis (make bench); {DELIVERIES:,} pending deliveries of buyer.created",
        "events to one local HTTPS receiver (tests/webhooks/receiver.py, its own process), handed",
        f"to the workers in tasks of 256; each worker POSTs {CONCURRENCY} at once. Load average",
        "(1/5/15 min) taken just before each run.",
        "",
        "| run | seconds | deliveries/s | load before |",
        "|---|---:|---:|---|",
    ]
    for label, seconds, load in rows:
        lines.append(f"| {label} | {seconds:.1f} | {DELIVERIES / seconds:,.0f} | {load} |")
        print(lines[-1])
    section = "\n".join(lines) + "\n"
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if MARKER in existing:
        before, _, after = existing.partition(MARKER)
        rest = after.split("\n## ", 1)
        existing = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + section)
