"""Players' access check at player scale, paired with a trivial view.

Through gunicorn (2 sync workers, the production server) with production settings (DEBUG off,
the cache on Redis when `make bench` gives one), 8 client processes each send requests on a
fresh connection: A = GET /api/access/check (API key checked and counted against its rate limit
in the cache, an activation counted on a device's first use), B = a trivial Django view doing one
primary-key SELECT through the same middleware (tests/bench/bench_urls.py). Runs alternate
A B A B … on the same server, so load from the rest of the machine falls on both alike; the
table gives each run and the A/B throughput ratio of each pair (median and range).

Targets (issue 17): ≥ 1,000 checks/s and p99 ≤ 20 ms with 8 clients, and ≥ 0.7× the trivial
view's throughput. Figures mean something only on a quiet machine: the load average is printed
before and after. Writes RESULTS.md.
"""

import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from http.client import HTTPConnection
from pathlib import Path

import pytest
from django.db import connection

from api.keys import create_api_key
from buyers.models import Access, AccessActivation, Buyer
from subscriptions import services as catalog_services

ACCESSES = int(os.environ.get("BENCH_ACCESSES", "10000"))
REQUESTS = int(os.environ.get("BENCH_ACCESS_REQUESTS", "4000"))
CLIENTS = int(os.environ.get("BENCH_ACCESS_CLIENTS", "8"))
WORKERS = int(os.environ.get("BENCH_ACCESS_WORKERS", "2"))
PAIRS = int(os.environ.get("BENCH_ACCESS_PAIRS", "4"))
# Players ask on every play: most checks come from a device already counted (one read); a few
# from a device's first use, which counts an activation (a locked write).
FIRST_USE_SHARE = float(os.environ.get("BENCH_ACCESS_FIRST_USE", "0.02"))
DEVICES = ("tv", "phone", "laptop")
BASE_DIR = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).with_name("RESULTS.md")
MARKER = "## Access check: players' requests"
TARGET_RPS, TARGET_P99_MS, TARGET_RATIO = 1000, 20.0, 0.7


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_accesses(subscription, count, devices=()):
    """`count` buyers' accesses, each already used from `devices`; answers their passwords."""
    buyers = Buyer.objects.bulk_create(
        [Buyer(email=f"viewer{n}@example.com", code=f"bv{n:06d}") for n in range(count)],
        batch_size=2000,
    )
    accesses = Access.objects.bulk_create(
        [
            Access(
                buyer=buyer,
                subscription=subscription,
                hash=f"h{n:011d}",
                code=f"ac{n:06d}",
                activations_used=len(devices),
            )
            for n, buyer in enumerate(buyers)
        ],
        batch_size=2000,
    )
    AccessActivation.objects.bulk_create(
        [
            AccessActivation(access=access, device_id=device)
            for access in accesses
            for device in devices
        ],
        batch_size=5000,
    )
    return [access.hash for access in accesses]


def start_server(port):
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.bench.bench_settings",
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": "bench-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # the TLS proxy's job in production
        "DATABASE_URL": url,
        "VAR_DIR": tempfile.mkdtemp(prefix="bench-access-"),
        "LOG_LEVEL": "WARNING",
    }
    if os.environ.get("REDIS_URL"):
        env["CACHE_URL"] = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/1"
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


def get(port, path, headers=None):
    conn = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def client_process(port, paths, headers, start, results):
    """One client: waits for the start, then sends its requests one after the other."""
    latencies, statuses = [], []
    start.wait()
    cpu = time.process_time()
    for path in paths:
        started = time.perf_counter()
        status, _ = get(port, path, headers)
        latencies.append(time.perf_counter() - started)
        statuses.append(status)
    results.put((latencies, statuses, time.process_time() - cpu))


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> dict[int, float]:
    """{pid: user and system CPU seconds used so far} (from /proc) of those still running."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        used[pid] = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return used


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between the two readings (a process started meanwhile, such as a
    database connection opened again after DATABASE_CONN_MAX_AGE, counts from 0)."""
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


def children_of(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def database_processes() -> list[int]:
    """The PostgreSQL server's processes (this test's backend's parent and its children)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    stat = Path(f"/proc/{backend}/stat")
    if not stat.exists():  # a server on another machine: not measured
        return []
    postmaster = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    return [postmaster, *children_of(postmaster)]


def run(port, make_path, headers, *, clients, requests, seed, servers=()):
    """`requests` requests from `clients` processes at once: latencies, statuses, seconds, and
    the CPU seconds used by the clients and by each group of `servers` (functions answering
    their pids)."""
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    rng = random.Random(seed)
    processes = [
        context.Process(
            target=client_process,
            args=(
                port,
                [make_path(rng) for _ in range(requests // clients)],
                headers,
                start,
                results,
            ),
        )
        for _ in range(clients)
    ]
    for process in processes:
        process.start()
    time.sleep(0.3)  # every client forked and waiting
    server_cpu = [cpu_seconds(find()) for find in servers]
    began = time.perf_counter()
    start.set()
    latencies, statuses, client_cpu = [], [], 0.0
    for _ in processes:
        mine, codes, cpu = results.get(timeout=300)
        latencies += mine
        statuses += codes
        client_cpu += cpu
    elapsed = time.perf_counter() - began
    # Read the processes again: a database connection may have been opened meanwhile.
    server_cpu = [
        cpu_used(before, cpu_seconds(find()))
        for find, before in zip(servers, server_cpu, strict=True)
    ]
    for process in processes:
        process.join()
    return latencies, statuses, elapsed, client_cpu, server_cpu


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


@pytest.mark.django_db(transaction=True)
def test_access_check_against_a_trivial_view_paired():
    subscription = catalog_services.create_subscription(name="Live match", period=30)
    hashes = make_accesses(subscription, ACCESSES, DEVICES)
    # A player's key: a limit high enough for a stadium, still counted on every request.
    key = create_api_key(
        name="Player", scopes=["access_check"], rate_limit_per_minute=10_000_000
    ).key
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    auth = {"Authorization": f"Bearer {key}"}
    code = subscription.code

    def check_path(rng):
        if rng.random() < FIRST_USE_SHARE:
            device = f"new-{rng.getrandbits(64):x}"  # a device's first use: counted
        else:
            device = rng.choice(DEVICES)
        return f"/api/access/check?productId={code}&hash={rng.choice(hashes)}&udid={device}"

    def trivial_path(rng):
        return f"/bench/pk/{subscription.pk}/"

    load_before = uptime()
    port = free_port()
    server = start_server(port)
    rows = []
    try:
        for password in hashes[:40]:  # warm-up: workers import, connect, fill their caches
            status, body = get(
                port, f"/api/access/check?productId={code}&hash={password}&udid=tv", auth
            )
            assert status == 200 and b'"Granted": true' in body, body
            assert get(port, trivial_path(None))[0] == 200
        for pair in range(PAIRS):
            for label, make_path, headers in (
                ("A access check", check_path, auth),
                ("B trivial view", trivial_path, {}),
            ):
                latencies, statuses, elapsed, client_cpu, (web_cpu, db_cpu) = run(
                    port,
                    make_path,
                    headers,
                    clients=CLIENTS,
                    requests=REQUESTS,
                    seed=pair,
                    # gunicorn's workers; the database's processes (their connections included)
                    servers=(lambda: children_of(server.pid), database_processes),
                )
                assert set(statuses) == {200}, sorted(set(statuses))
                ms = [value * 1000 for value in latencies]
                rows.append(
                    {
                        "pair": pair + 1,
                        "path": label,
                        "requests": len(ms),
                        "p50": statistics.median(ms),
                        "p99": percentile(ms, 0.99),
                        "rps": len(ms) / elapsed,
                        "web_cpu": web_cpu * 1000 / len(ms),
                        "db_cpu": db_cpu * 1000 / len(ms),
                        "client_cpu": client_cpu * 1000 / len(ms),
                    }
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    load_after = uptime()

    checks = [row for row in rows if row["path"].startswith("A")]
    trivials = [row for row in rows if row["path"].startswith("B")]
    ratios = [a["rps"] / b["rps"] for a, b in zip(checks, trivials, strict=True)]
    check_rps = statistics.median(row["rps"] for row in checks)
    check_p99 = statistics.median(row["p99"] for row in checks)
    ratio = statistics.median(ratios)
    cpu_ratios = [
        (b["web_cpu"] + b["db_cpu"]) / (a["web_cpu"] + a["db_cpu"])
        for a, b in zip(checks, trivials, strict=True)
        if a["web_cpu"] + a["db_cpu"]
    ]

    def verdict(ok):
        return "met" if ok else "NOT met"

    lines = [
        MARKER,
        "",
        f"Measured {date.today().isoformat()} on {os.cpu_count()} cores, PostgreSQL, cache "
        f"{'Redis' if os.environ.get('REDIS_URL') else 'local memory'} "
        '(`make bench PYTEST_ARGS="-k access_check"`).',
        f"Load before: `{load_before}`; after: `{load_after}` (the clients run on this machine "
        "too; other sessions share it).",
        f"{ACCESSES:,} accesses; gunicorn ({WORKERS} sync workers), production settings (DEBUG "
        f"off); {CLIENTS} client processes, a new connection each request. A: GET "
        "/api/access/check (key checked and counted in the cache; "
        f"{1 - FIRST_USE_SHARE:.0%} from a device already counted, {FIRST_USE_SHARE:.0%} a "
        "device's first use, counted under the access's row lock); B: a trivial view doing one "
        "primary-key SELECT through the whole middleware stack. Runs alternate A B A B.",
        "",
        "CPU per request (ms, from /proc, so less sensitive to the machine's load than the "
        "times): gunicorn's workers, PostgreSQL's processes, the client processes.",
        "",
        "| pair | path | requests | p50 ms | p99 ms | requests/s | web CPU | db CPU | client CPU |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['pair']} | {row['path']} | {row['requests']:,} | {row['p50']:.1f} "
            f"| {row['p99']:.1f} | {row['rps']:,.0f} | {row['web_cpu']:.2f} "
            f"| {row['db_cpu']:.2f} | {row['client_cpu']:.2f} |"
        )
    lines += [
        "",
        f"A/B throughput ratio per pair: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"**median {ratio:.2f}** (range {min(ratios):.2f}–{max(ratios):.2f}).",
        "Server CPU (web + db) of B per request over A's, per pair: "
        + ", ".join(f"{r:.2f}" for r in cpu_ratios)
        + (f"; median {statistics.median(cpu_ratios):.2f}." if cpu_ratios else "."),
        "",
        f"- ≥ {TARGET_RPS:,} checks/s: median {check_rps:,.0f}/s, "
        f"{verdict(check_rps >= TARGET_RPS)}",
        f"- p99 ≤ {TARGET_P99_MS:.0f} ms: median p99 {check_p99:.1f} ms, "
        f"{verdict(check_p99 <= TARGET_P99_MS)}",
        f"- ≥ {TARGET_RATIO}× the trivial view: median {ratio:.2f}×, "
        f"{verdict(ratio >= TARGET_RATIO)}",
    ]
    print("\n" + "\n".join(lines))
    section = "\n".join(lines) + "\n"
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if MARKER in existing:
        before, _, after = existing.partition(MARKER)
        rest = after.split("\n## ", 1)
        existing = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + section)
