"""The data generator (`manage.py generate_data`) at issue 8's scale: 1M purchases, 200k buyers,
50k contracts, timed on PostgreSQL. Writes the "## Data generator" section of RESULTS.md.

Run with `make bench PYTEST_ARGS="-k generate"`. BENCH_GENERATE_PURCHASES sets another size.
"""

import os
import time
from datetime import date

import pytest
from django.db import connection

from purchases.generator import generate_data
from purchases.models import Purchase

from .bench_list_page import RESULTS, machine

PURCHASES = int(os.environ.get("BENCH_GENERATE_PURCHASES", "1000000"))
TARGET_SECONDS = 180
MARKER = "## Data generator"


def write_section(lines):
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if MARKER in existing:
        before, _, after = existing.partition(MARKER)
        rest = after.split("\n## ", 1)
        existing = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + "\n".join(lines) + "\n")


@pytest.mark.django_db(transaction=True)
def test_generate_one_million_purchases():
    started = time.perf_counter()
    counts = generate_data(purchases=PURCHASES, seed=1)
    seconds = time.perf_counter() - started
    assert Purchase.objects.count() == PURCHASES
    total_rows = sum(counts.rows.values())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    print(f"\n{PURCHASES:,} purchases, {total_rows:,} rows in {seconds:.1f} s")
    lines = [
        MARKER,
        "",
        f"Measured {date.today().isoformat()} on {machine()}; "
        '`make bench PYTEST_ARGS="-k generate"` (one run: the generator fills a fresh database).',
        f"`generate_data(purchases={PURCHASES:,}, seed=1)` with its default proportions, "
        "COPY into PostgreSQL in one transaction, then ANALYZE; target under "
        f"{TARGET_SECONDS} s for 1M purchases.",
        "",
        "| purchases | all rows | seconds | purchases/s | rows/s | database size |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {PURCHASES:,} | {total_rows:,} | {seconds:.1f} | {PURCHASES / seconds:,.0f} "
        f"| {total_rows / seconds:,.0f} | {size} |",
        "",
        "| table | rows |",
        "|---|---:|",
        *(f"| {table} | {rows:,} |" for table, rows in counts.rows.items()),
        "",
        "Purchases by status: "
        + ", ".join(f"{status} {n:,}" for status, n in counts.statuses.items())
        + ".",
    ]
    write_section(lines)
    if PURCHASES >= 1_000_000:
        assert seconds < TARGET_SECONDS
