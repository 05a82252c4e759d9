"""The purchases CSV export against `psql \\copy` of the same query, and the finance dashboard,
on 1M joined purchase rows, side by side in one run. Writes a section of tests/bench/RESULTS.md.

Run with `make bench PYTEST_ARGS="-k exports"`. Each export runs in its own process
(tests/bench/export_probe.py) so its peak RSS is its own:
- psql: `\\copy (<the export's SELECT>) TO '/dev/null' WITH (FORMAT csv)` — the anchor;
- ours, COPY: the purchases list page's "Export CSV" (PostgreSQL path: COPY through psycopg 3);
- ours, iterator: the fallback (values().iterator() + Python formatting) on the same rows.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from purchases.models import Purchase
from purchases.reports.exports import PURCHASES_REPORT
from tests.bench.bench_list_page import machine
from tests.purchases.factories import offer_for_sale

PURCHASES = 1_000_000
BUYERS = 200_000
ACCESSES = 200_000
RUNS = 3
DASHBOARD_RUNS = 7
RESULTS = Path(__file__).with_name("RESULTS.md")
PROBE = Path(__file__).with_name("export_probe.py")
MARKER = "## Finance: purchases CSV export and dashboard"


def generate(subscriptions):
    """Buyers, accesses and purchases by set-based SQL: two years of sales in 4 currencies."""
    pairs = [(s.pk, p.pk) for s, p in subscriptions]
    subs = "ARRAY[" + ",".join(str(s) for s, _ in pairs) + "]"
    models = "ARRAY[" + ",".join(str(p) for _, p in pairs) + "]"
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO buyers_buyer (code, email, phone, name, created_at, pin_hash,
                                      pin_failed_attempts)
            SELECT 'B' || lpad(to_hex(g), 7, '0'), 'buyer' || g || '@example.com', '',
                   (ARRAY['Anna Smith','Борис Иванов','Chen Li','=Dana+1','Olga'])[1 + g %% 5],
                   now() - (g %% 730) * interval '1 day' - (g %% 86400) * interval '1 second',
                   '', 0
            FROM generate_series(1, %s) AS g
            """,
            [BUYERS],
        )
        cursor.execute("SELECT min(id) FROM buyers_buyer")
        first_buyer = cursor.fetchone()[0]
        cursor.execute(
            f"""
            INSERT INTO buyers_access (code, hash, activations_used, access_start, access_expire,
                                       purchased_at, custom_url, use_subscription_custom_url,
                                       revoked_at, created_at, subscription_id, buyer_id)
            SELECT 'A' || lpad(to_hex(g), 7, '0'), md5(g::text), 0, NULL,
                   -- 30-day accesses bought over two years, one in 20 without an end
                   CASE WHEN g %% 20 <> 0 THEN bought + interval '30 days' END, bought, '',
                   false, CASE WHEN g %% 17 = 0 THEN bought + interval '1 day' END, bought,
                   ({subs})[1 + g %% {len(pairs)}], %s + g %% %s
            FROM (SELECT g, now() - (g::numeric / %s) * interval '730 days' AS bought
                  FROM generate_series(1, %s) AS g) AS rows
            """,  # noqa: S608 (our own integers)
            [first_buyer, BUYERS, ACCESSES, ACCESSES],
        )
        cursor.execute(
            f"""
            INSERT INTO purchases_purchase (
                code, list_price, discount, amount, currency, coupon_code, is_recurring,
                payment_type, instrument, status, gateway_reference, auth_code, result_code,
                response_message, redirect_url, return_url, cancel_url, created_at,
                completed_at, buyer_id, pricing_model_id, subscription_id)
            SELECT 'P' || lpad(to_hex(g), 7, '0'), price, discount, price - discount,
                   (ARRAY['EUR','USD','GBP','JPY'])[1 + g %% 4],
                   CASE WHEN discount > 0 THEN 'SPRING' ELSE '' END, false,
                   (ARRAY['wallet','sandbox_card','sandbox_paypal'])[1 + g %% 3], '',
                   CASE WHEN g %% 10 = 9 AND g > %s THEN 'failed'  -- one pending per buyer
                        ELSE (ARRAY['completed','completed','completed','completed','completed',
                              'completed','failed','refunded','cancelled','pending'])[1 + g %% 10]
                   END,
                   'SB' || upper(to_hex(g::bigint * 7919)), '', '', '', '', '', '', created,
                   created + interval '3 seconds', %s + g %% %s,
                   ({models})[1 + g %% {len(pairs)}], ({subs})[1 + g %% {len(pairs)}]
            FROM (
                SELECT g,
                       CASE WHEN g %% 4 = 3 THEN 1500 ELSE 9.99 END AS price,
                       CASE WHEN g %% 7 = 0 AND g %% 4 <> 3 THEN 2.50 ELSE 0 END AS discount,
                       now() - (g::numeric / %s) * interval '730 days' AS created
                FROM generate_series(1, %s) AS g
            ) AS rows
            """,  # noqa: S608 (our own integers)
            [BUYERS, first_buyer, BUYERS, PURCHASES, PURCHASES],
        )
        cursor.execute(
            """
            INSERT INTO purchases_refund (code, purchase_id, amount, currency, method,
                                          gateway_reference, reason, created_at)
            SELECT 'R' || lpad(to_hex(id), 7, '0'), id, amount, currency, payment_type, '',
                   '', created_at + interval '1 day'
            FROM purchases_purchase WHERE status = 'refunded' AND amount > 0
            """
        )
        cursor.execute("ANALYZE")


def psql_copy(select_sql: str) -> float:
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    one_line = " ".join(select_sql.split())
    started = time.perf_counter()
    subprocess.run(
        [
            "psql",
            url,
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            f"SET TimeZone = '{settings.TIME_ZONE}'",
            "-c",
            f"\\copy ({one_line}) TO '/dev/null' WITH (FORMAT csv)",
        ],
        check=True,
    )
    return time.perf_counter() - started


def probe(path: str) -> dict:
    environment = {**os.environ, "BENCH_DB_NAME": connection.settings_dict["NAME"]}
    output = subprocess.run(
        [sys.executable, str(PROBE), path],
        check=True,
        capture_output=True,
        text=True,
        env=environment,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def the_export_select() -> str:
    """The SELECT inside our COPY statement: psql copies exactly what we copy."""
    statement = PURCHASES_REPORT.copy_sql(Purchase.objects.order_by("-created_at", "-pk"))
    return statement.removeprefix("COPY (").removesuffix(") TO STDOUT WITH (FORMAT csv)")


@pytest.mark.django_db(transaction=True)
def test_purchases_export_against_psql_copy_and_dashboard():
    subscriptions = [
        offer_for_sale(price="9.99", currency=currency) for currency in ("EUR", "USD", "GBP")
    ] + [offer_for_sale(price="1500", currency="JPY")]
    generate(subscriptions)
    user = get_user_model().objects.create_superuser("bench-finance", "f@example.com", "x")
    assert Purchase.objects.count() == PURCHASES

    load_before = os.getloadavg()[0]
    select_sql = the_export_select()
    psql_copy(select_sql)  # warm the cache for everyone
    runs = {"psql": [], "copy": [], "iterator": []}
    for _ in range(RUNS):
        runs["psql"].append({"seconds": psql_copy(select_sql)})
        runs["copy"].append(probe("copy"))
    runs["iterator"].append(probe("iterator"))  # ~10x slower: one run
    for result in runs["copy"] + runs["iterator"]:
        assert result["lines"] == PURCHASES + 1, result
    print(json.dumps(runs, indent=1))

    client = Client()
    client.force_login(user)
    dashboard = {}
    for days in (30, 90):
        client.get("/", {"days": days})
        times = []
        for _ in range(DASHBOARD_RUNS):
            started = time.perf_counter()
            response = client.get("/", {"days": days})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
            assert b'class="revenue-chart"' in response.content
        dashboard[days] = statistics.median(times)

    psql_s = statistics.median(r["seconds"] for r in runs["psql"])
    lines = [
        MARKER,
        "",
        f"Measured {date.today().isoformat()} on {machine()}; "
        '`make bench PYTEST_ARGS="-k exports"`.',
        f"{PURCHASES:,} purchases joined to {BUYERS:,} buyers, subscriptions and pricing models,"
        " with each purchase's refunded amount; 17 columns, amounts with their currency's minor",
        "digits, ISO 8601 local times, formula cells neutralised: all in the SELECT both run.",
        f"Median of {RUNS} runs (the iterator: 1 run); each export in its own process,",
        f"load average before the run {load_before:.1f} (other sessions share this machine);",
        "writing to /dev/null; peak RSS is the process's VmHWM (baseline: Django loaded, before",
        "the export). First byte: the header row, sent before the query runs; first rows: the",
        "first block of rows, which PostgreSQL sends once it has sorted them (ORDER BY created).",
        "",
        "| path | seconds | rows/s | × psql throughput | first byte s | first rows s |"
        " peak RSS MB | baseline RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, key in (
        ("`psql \\copy` (anchor)", "psql"),
        ("ours: COPY via psycopg 3 (PostgreSQL)", "copy"),
        ("ours: values().iterator() fallback (SQLite's path)", "iterator"),
    ):
        seconds = statistics.median(r["seconds"] for r in runs[key])
        cells = [label, f"{seconds:.2f}", f"{PURCHASES / seconds:,.0f}", f"{psql_s / seconds:.2f}"]
        if key == "psql":
            cells += ["", "", "", ""]
        else:
            cells += [
                f"{statistics.median(r['first_byte_seconds'] for r in runs[key]):.3f}",
                f"{statistics.median(r['first_rows_seconds'] for r in runs[key]):.2f}",
                f"{max(r['peak_rss_mb'] for r in runs[key]):.0f}",
                f"{max(r['baseline_rss_mb'] for r in runs[key]):.0f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
        print(" | ".join(cells))
    lines += [
        "",
        f"Finance dashboard (home page) with {PURCHASES:,} purchases over two years,"
        f" {ACCESSES:,} accesses (30 days each, bought over two years; 1 in 20 without end),"
        f" {BUYERS:,} buyers: server time through Django's test client,"
        f" median of {DASHBOARD_RUNS} after a warm-up.",
        "",
        "| chart span | ms |",
        "|---|---:|",
        *(f"| {days} days | {ms:.1f} |" for days, ms in dashboard.items()),
    ]
    print(dashboard)
    section = "\n".join(lines) + "\n"
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if MARKER in existing:
        before, _, after = existing.partition(MARKER)
        rest = after.split("\n## ", 1)
        existing = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + section)

    copy_s = statistics.median(r["seconds"] for r in runs["copy"])
    assert psql_s / copy_s >= 0.7
    assert max(r["peak_rss_mb"] for r in runs["copy"]) < 100
    assert dashboard[30] < 150
