"""Every staff list page at 1M purchases against a stock ModelAdmin with the same columns and
rows, over HTTP through gunicorn with production settings, signed in: paired runs, the ratio's
median and range, the load average beside each figure. The method is tests/bench/README.md's;
the work is tests/bench/staff_lists.py, run in a process of its own (the server and the shop's
database are not the test database).

`make bench PYTEST_ARGS="-k staff_lists"` fills a database `bench_shop` on the throwaway cluster
(generate_data, ~2-4 minutes); BENCH_DATABASE_URL names a database to use instead, generated once
and kept (README.md).
"""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_staff_lists_against_a_stock_model_admin_over_http():
    shop = os.environ.get("BENCH_DATABASE_URL") or (
        os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/bench_shop"
    )
    subprocess.run(
        [sys.executable, "-m", "tests.bench.staff_lists"],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": shop},
        check=True,
    )
