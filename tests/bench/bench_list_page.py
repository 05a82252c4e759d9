"""The list-page pattern (config/listing.py) against Django admin's changelist, on 10k, 100k and
1M rows of the same table, side by side in one run. Writes tests/bench/RESULTS.md.

Run with `make bench`. The Team page stands in for every list page: the same view class, table,
filter set and paginator that the catalog, buyers and purchases lists use. The table gets the
indexes a domain table has for its sortable columns, for both contenders.
"""

import platform
import statistics
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.keyset import Keyset

SIZES = (10_000, 100_000, 1_000_000)
RUNS = 5
RESULTS = Path(__file__).with_name("RESULTS.md")

INDEXES = [
    "CREATE INDEX IF NOT EXISTS bench_user_name ON auth_user (first_name, last_name, id)",
    "CREATE INDEX IF NOT EXISTS bench_user_email ON auth_user (email, id)",
    "CREATE INDEX IF NOT EXISTS bench_user_last_login ON auth_user (last_login, id)",
    "CREATE INDEX IF NOT EXISTS bench_user_joined ON auth_user (date_joined, id)",
    "CREATE INDEX IF NOT EXISTS bench_user_active ON auth_user (is_active, username)",
]


def grow_users_to(total):
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM auth_user")
        start = cursor.fetchone()[0] + 1
        cursor.execute(
            """
            INSERT INTO auth_user (password, last_login, is_superuser, username, first_name,
                                   last_name, email, is_staff, is_active, date_joined)
            SELECT '!', now() - (g %% 50000) * interval '1 minute', false,
                   'user' || lpad(g::text, 8, '0'),
                   (ARRAY['Anna','Boris','Chen','Dana','Olga','Piet','Sven','Yuki'])[1 + g %% 8],
                   (ARRAY['Smith','Ivanova','Müller','Tanaka','Novak','Rossi'])[1 + (g / 8) %% 6],
                   'user' || g || '@example.com', false, g %% 10 <> 0,
                   now() - g * interval '1 second'
            FROM generate_series(%s, %s) AS g
            """,
            [start, total],
        )
        for statement in INDEXES:
            cursor.execute(statement)
        cursor.execute("ANALYZE auth_user")


def measure(client, url):
    client.get(url)  # warm caches and connections
    times, queries = [], 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
        queries = len(captured.captured_queries)
    return statistics.median(times), queries


CASES = [
    ("page 1", "/team/", "/admin/auth/user/"),
    ("filtered (inactive)", "/team/?is_active=false", "/admin/auth/user/?is_active__exact=0"),
    ("search 'olga'", "/team/?q=olga", "/admin/auth/user/?q=olga"),
    ("sorted by e-mail", "/team/?sort=email", "/admin/auth/user/?o=3"),
    ("sorted by name", "/team/?sort=full_name", "/admin/auth/user/?o=4.5"),
    ("sorted by joined, newest", "/team/?sort=-date_joined", None),
    ("sorted by last sign-in", "/team/?sort=last_login", None),
    ("page 400 (last counted)", "/team/?page=400", "/admin/auth/user/?p=100"),
    ("deep page (row 999,976)", "DEEP", "/admin/auth/user/?p=10000"),
]


def deep_page_url():
    """The URL that "Next" leads to at row 999,976: the cursor names the row before it."""
    queryset = get_user_model().objects.order_by("username", "pk")
    row_before = queryset[999_974]
    return f"/team/?page=40000&after={Keyset(queryset).token_for(row_before)}"


def machine():
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{cores} cores, {cpu}, PostgreSQL {pg}, Python {platform.python_version()}"


@pytest.mark.django_db(transaction=True)
def test_list_page_against_admin_changelist():
    admin = get_user_model().objects.create_superuser("bench-admin", "b@example.com", "x")
    client = Client()
    client.force_login(admin)
    rows = []
    for size in SIZES:
        grow_users_to(size)
        for label, ours, theirs in CASES:
            if size < 1_000_000 and "deep" in label:
                continue
            our_ms, our_queries = measure(client, deep_page_url() if ours == "DEEP" else ours)
            admin_ms, admin_queries = measure(client, theirs) if theirs else (None, None)
            rows.append((size, label, our_ms, our_queries, admin_ms, admin_queries))
            print(
                f"{size:>9,} {label:<28} ours {our_ms:7.1f} ms/{our_queries}q   "
                + (f"admin {admin_ms:7.1f} ms/{admin_queries}q" if admin_ms else "")
            )

    lines = [
        "## List pages: config/listing.py against Django admin's changelist",
        "",
        f"Measured {date.today().isoformat()} on {machine()}; `make bench`.",
        "Server time of one request through Django's test client",
        f"(median of {RUNS} after a warm-up), and its queries.",
        "The Team page (auth_user) stands in for every list page; 25 rows a page (admin: 100).",
        "",
        "| rows | page | ours ms | ours queries | admin ms | admin queries | ours/admin |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for size, label, our_ms, our_q, admin_ms, admin_q in rows:
        ratio = f"{our_ms / admin_ms:.2f}" if admin_ms else ""
        admin_cell = f"{admin_ms:.1f}" if admin_ms else "n/a"
        cells = [f"{size:,}", label, f"{our_ms:.1f}", our_q, admin_cell, admin_q or "", ratio]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    section = "\n".join(lines) + "\n"
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    marker = "## List pages: config/listing.py"
    if marker in existing:
        before, _, after = existing.partition(marker)
        rest = after.split("\n## ", 1)
        existing = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + section)
