"""The renewal forecast and MRR movements on the generated shop (50k contracts at 1M purchases),
read-only and in-process: tests/bench/forecast_pages.py, run in a process of its own on the
shop's database (BENCH_DATABASE_URL, or `bench_shop` of the throwaway cluster as the staff lists
benchmark fills it). `make bench PYTEST_ARGS="-k forecast"`.
"""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_forecast_and_mrr_figures_at_50k_contracts():
    shop = os.environ.get("BENCH_DATABASE_URL") or (
        os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/bench_shop"
    )
    subprocess.run(
        [sys.executable, "-m", "tests.bench.forecast_pages"],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": shop},
        check=True,
    )
