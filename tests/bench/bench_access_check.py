"""Players' access check under concurrent load: GET /api/access/check through gunicorn (2 sync
workers, the production server) against PostgreSQL, from 1 and from 8 concurrent clients, each
request a fresh connection; p50/p99 latency and requests/s, beside the service alone in-process.
Writes RESULTS.md."""

import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from http.client import HTTPConnection
from pathlib import Path

import pytest
from django.db import connection

from api.keys import create_api_key
from buyers.models import Access, Buyer
from buyers.services import check_access
from subscriptions import services as catalog_services

ACCESSES = int(os.environ.get("BENCH_ACCESSES", "10000"))
REQUESTS = int(os.environ.get("BENCH_ACCESS_REQUESTS", "4000"))
CLIENTS = int(os.environ.get("BENCH_ACCESS_CLIENTS", "8"))
WORKERS = int(os.environ.get("BENCH_ACCESS_WORKERS", "2"))
BASE_DIR = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).with_name("RESULTS.md")
MARKER = "## Access check: players' requests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_accesses(subscription, count):
    buyers = Buyer.objects.bulk_create(
        [Buyer(email=f"viewer{n}@example.com", code=f"bv{n:06d}") for n in range(count)],
        batch_size=2000,
    )
    accesses = Access.objects.bulk_create(
        [
            Access(buyer=buyer, subscription=subscription, hash=f"h{n:011d}", code=f"ac{n:06d}")
            for n, buyer in enumerate(buyers)
        ],
        batch_size=2000,
    )
    return [access.hash for access in accesses]


def start_server(port):
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "VAR_DIR": tempfile.mkdtemp(prefix="bench-access-"),
        "API_RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def get(port, path, key):
    conn = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
        response = conn.getresponse()
        body = response.read()
        return response.status, body
    finally:
        conn.close()


def load(port, key, code, hashes, clients, requests):
    latencies, statuses, lock = [], [], threading.Lock()
    per_client = requests // clients

    def client(seed):
        rng = random.Random(seed)
        mine, codes = [], []
        for _ in range(per_client):
            password = rng.choice(hashes)
            device = f"tv-{rng.randrange(3)}"  # mostly known devices, some first activations
            path = f"/api/access/check?code={code}&hash={password}&udid={device}"
            started = time.perf_counter()
            status, _ = get(port, path, key)
            mine.append(time.perf_counter() - started)
            codes.append(status)
        with lock:
            latencies.extend(mine)
            statuses.extend(codes)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses, time.perf_counter() - started


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


@pytest.mark.django_db(transaction=True)
def test_access_check_latency_under_concurrent_load():
    subscription = catalog_services.create_subscription(name="Live match", period=30)
    hashes = make_accesses(subscription, ACCESSES)
    key = create_api_key(name="Player", scopes=["access_check"]).key
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    def service_alone(passwords, device):
        times = []
        for password in passwords:
            started = time.perf_counter()
            assert check_access(
                subscription_code=subscription.code, access_password=password, device_id=device
            ).granted
            times.append(time.perf_counter() - started)
        return times

    first_use = service_alone(hashes[:500], "bench")  # each one counts a new activation
    known_device = service_alone(hashes[:500], "bench")  # the same devices again

    port = free_port()
    server = start_server(port)
    try:
        for password in hashes[:20]:  # warm-up: workers import and connect
            status, _ = get(
                port, f"/api/access/check?code={subscription.code}&hash={password}", key
            )
            assert status == 200
        runs = [
            (1, load(port, key, subscription.code, hashes, 1, REQUESTS // 4)),
            (CLIENTS, load(port, key, subscription.code, hashes, CLIENTS, REQUESTS)),
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)

    load_average = os.getloadavg()[0]
    lines = [
        MARKER,
        "",
        f"Measured {date.today().isoformat()} on {os.cpu_count()} cores, PostgreSQL (`make bench "
        'PYTEST_ARGS="-k access_check"`); load average after the run '
        f"{load_average:.1f} (other sessions share this machine, and the clients run on it too).",
        f"{ACCESSES:,} accesses; GET /api/access/check through gunicorn ({WORKERS} sync workers), "
        "a new connection each request; API key checked, an activation counted on a device's "
        "first use (the access row locked).",
        "",
        "| path | requests | p50 ms | p99 ms | requests/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for clients, (latencies, statuses, elapsed) in runs:
        assert set(statuses) == {200}, statuses
        ms = [value * 1000 for value in latencies]
        lines.append(
            f"| HTTP, {clients} concurrent client{'s' if clients > 1 else ''} | {len(ms):,} "
            f"| {statistics.median(ms):.1f} | {percentile(ms, 0.99):.1f} "
            f"| {len(ms) / elapsed:,.0f} |"
        )
    for label, times in (
        ("check_access() alone, a device's first use", first_use),
        ("check_access() alone, a known device", known_device),
    ):
        lines.append(
            f"| {label} | {len(times)} | {statistics.median(times) * 1000:.2f} "
            f"| {percentile(times, 0.99) * 1000:.2f} | {len(times) / sum(times):,.0f} |"
        )
    for line in lines[-4:]:
        print(line)
    section = "\n".join(lines) + "\n"
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if MARKER in existing:
        before, _, after = existing.partition(MARKER)
        rest = after.split("\n## ", 1)
        existing = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + section)
