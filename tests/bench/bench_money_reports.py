"""The money pages over HTTP on a generated shop: the dashboard (30 and 90 days), the revenue
report over 90 days (per day, by subscription, by payment type), a year per month, and the
money journal's first page with its totals; each through gunicorn (1 sync worker, production
settings), median and 90th percentile of 9 requests after 2 warm-ups, with the load average.

`BENCH_REPORT_PURCHASES` (default 1,000,000) purchases are generated (`generate_data`, seed 1)
into the benchmark's database. With `BENCH_BASELINE_DIR` naming a checkout of the code before
the money journal, the same pages are measured served by it too, from the same database, one
after the other. Writes a section of tests/bench/RESULTS.md.

Run with `make bench PYTEST_ARGS="-k money_reports"`.
"""

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from http.client import HTTPConnection
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.utils import timezone

from core.roles import FINANCE
from purchases.journal.models import JournalEntry
from purchases.journal.sources import book_from_sources
from tests.bench.bench_list_page import machine
from tests.bench.cpu import load, process_tree_cpu
from tests.factories import UserFactory

PURCHASES = int(os.environ.get("BENCH_REPORT_PURCHASES", "1000000"))
BASELINE = os.environ.get("BENCH_BASELINE_DIR", "")
BASE_DIR = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).with_name("RESULTS.md")
MARKER = "## Money pages over HTTP"
RUNS, WARMUPS = 9, 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(directory: Path, port: int):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "VAR_DIR": tempfile.mkdtemp(prefix="bench-money-"),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SHOP_TIME_ZONE": settings.TIME_ZONE,
        "LOG_LEVEL": "WARNING",
    }
    python = Path(sys.executable)
    # Production settings serve hashed static files: they are collected first, as in a deploy.
    subprocess.run(
        [str(python), "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=directory,
        env=env,
        check=True,
    )
    server = subprocess.Popen(
        [
            str(python.with_name("gunicorn")),
            "config.wsgi",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "300",
        ],
        cwd=directory,
        env=env,
    )
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def signed_in_cookie() -> str:
    user = UserFactory(username="bench-finance")
    user.groups.add(Group.objects.get(name=FINANCE))
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def timed_get(port: int, path: str, cookie: str) -> float:
    conn = HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        started = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    assert response.status == 200, (path, response.status)
    return elapsed * 1000


def postmaster_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])


def measure(directory: Path, pages: list[tuple[str, str]], cookie: str) -> dict:
    """Per page: median and p90 ms, the CPU ms a request cost (gunicorn's worker and the
    database's processes, over the timed requests), and the load average after."""
    port = free_port()
    server = start_server(directory, port)
    postmaster = postmaster_pid()
    try:
        results = {}
        for label, path in pages:
            for _ in range(WARMUPS):
                timed_get(port, path, cookie)
            cpu_before = process_tree_cpu(server.pid) + process_tree_cpu(postmaster)
            times = sorted(timed_get(port, path, cookie) for _ in range(RUNS))
            cpu = process_tree_cpu(server.pid) + process_tree_cpu(postmaster) - cpu_before
            results[label] = (
                statistics.median(times),
                times[int(RUNS * 0.9) - 1],
                load(),
                cpu * 1000 / RUNS,
            )
            median, _, _, cpu_ms = results[label]
            print(f"{directory.name}: {label}: {median:.0f} ms, {cpu_ms:.0f} CPU ms")
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_money_pages_over_http():
    from purchases.generator import generate_data

    started = time.perf_counter()
    generate_data(purchases=PURCHASES, seed=1)
    if not JournalEntry.objects.exists():
        book_from_sources()
    generated = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    today = timezone.localdate()
    quarter = f"start={today - timedelta(days=89)}&end={today}"
    year = f"start={today - timedelta(days=364)}&end={today}"
    pages = [
        ("dashboard, 30 days", "/"),
        ("dashboard, 90 days", "/?days=90"),
        ("revenue report, 90 days per day", f"/purchases/reports/?{quarter}&period=day"),
        (
            "revenue report, 90 days by subscription",
            f"/purchases/reports/?{quarter}&grouping=subscription",
        ),
        (
            "revenue report, 90 days by payment type",
            f"/purchases/reports/?{quarter}&grouping=payment_type",
        ),
        ("revenue report, a year per month", f"/purchases/reports/?{year}&period=month"),
    ]
    journal_page = (
        "money journal, 90 days, first page and totals",
        f"/purchases/reports/journal/?booked_min={today - timedelta(days=89)}&booked_max={today}",
    )
    cookie = signed_in_cookie()
    ours = measure(BASE_DIR, [*pages, journal_page], cookie)
    before = measure(Path(BASELINE), pages, cookie) if BASELINE else {}
    lines = [
        MARKER,
        "",
        f"Measured {today.isoformat()} on {machine()};",
        '`make bench PYTEST_ARGS="-k money_reports"`.',
        f"generate_data(purchases={PURCHASES:,}, seed=1), journal rows "
        f"{JournalEntry.objects.count():,}, in {generated:.0f} s. Each page through gunicorn "
        f"(1 worker, DJANGO_DEBUG=false): median and 90th percentile of {RUNS} requests after "
        f"{WARMUPS} warm-ups; CPU: the milliseconds of CPU a request took in gunicorn's worker and "
        "the database's processes (on a shared machine wall time moves with others' load, CPU "
        "time much less); load: the 1-minute load average after the page's requests.",
        "",
        "| page | ms (median) | ms (p90) | CPU ms | load "
        "| before the journal: ms (median) | CPU ms | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, (median, p90, load_after, cpu) in ours.items():
        old = before.get(label)
        old_cells = f"{old[0]:.0f} | {old[3]:.0f} | {old[2]:.1f}" if old else " |  | "
        lines.append(
            f"| {label} | {median:.0f} | {p90:.0f} | {cpu:.0f} | {load_after:.1f} | {old_cells} |"
        )
        print(lines[-1])
    section = "\n".join(lines) + "\n"
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if MARKER in existing:
        head, _, tail = existing.partition(MARKER)
        rest = tail.split("\n## ", 1)
        existing = head + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + section)
