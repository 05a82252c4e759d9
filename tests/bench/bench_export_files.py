"""Every CSV report at 1M purchases against `psql \\copy` of the plain join with the same
columns, and the purchases .xlsx (rows/s, the worker's peak RSS), over HTTP through gunicorn
with production settings, signed in, paired A B A B: tests/bench/exports.py, run in a process of
its own (the server and the shop's database are not the test database). Then XlsxWriter's
constant_memory mode against openpyxl's write-only mode on the same 1M typed rows
(tests/bench/xlsx_libraries.py), each in a process of its own for its peak RSS.

`make bench PYTEST_ARGS="-k export_files"`; BENCH_DATABASE_URL names a generated shop to use
(README.md). Figures go to tests/bench/data/exports.md (not committed).
"""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_csv_exports_against_psql_copy_and_the_xlsx_over_http():
    shop = os.environ.get("BENCH_DATABASE_URL") or (
        os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/bench_shop"
    )
    subprocess.run(
        [sys.executable, "-m", "tests.bench.exports"],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": shop},
        check=True,
    )


def test_xlsx_libraries_on_a_million_rows():
    for library in ("xlsxwriter", "openpyxl"):
        subprocess.run(
            [sys.executable, "-m", "tests.bench.xlsx_libraries", library],
            cwd=BASE_DIR,
            check=True,
        )
