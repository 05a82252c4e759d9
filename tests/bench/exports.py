"""Every CSV report against `psql \\copy` of the plain join with the same columns, and the
purchases .xlsx, over HTTP as tests/bench/README.md says.

Run by bench_exports.py (`make bench PYTEST_ARGS="-k exports"`), or alone:

    DATABASE_URL=postgres://... python -m tests.bench.exports

DATABASE_URL names the shop's database (generated as staff_lists.py does when it holds no
purchases). For each report (purchases, refunds, contract transactions, wallet ledger, and the
renewals, accesses and buyers lists):
- ours: its list page's "Export CSV" through gunicorn (production settings, one sync worker),
  signed in through the login form; the time from the request to the last byte, read in blocks;
- psql: `\\copy (<the same rows: the same joins, filter and order, each column as stored>) TO
  STDOUT WITH (FORMAT csv)` read by the same client from psql's stdout, so both sides pay the
  pipe;
paired A B A B (`BENCH_ROUNDS`, default 5): the median of each, the median and range of the
throughput ratio psql-time / our-time (≥ 0.7 is the target), the load average beside it. Then
the purchases .xlsx once: seconds, rows/s, and the gunicorn worker's peak RSS (VmHWM) after
each kind of download.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from http.client import HTTPConnection
from pathlib import Path

from .staff_lists import (
    PASSWORD,
    PURCHASES,
    Browser,
    ensure_database,
    free_port,
    manage,
    production_env,
    start_server,
)

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
USERNAME = "bench-staff"
OUTPUT = Path(__file__).resolve().parent / "data" / "exports.md"
REPORTS = {
    # name: (list URL, the list view's dotted path)
    "purchases": ("/purchases/", "purchases.views.PurchaseListView"),
    "refunds": ("/purchases/reports/refunds/", "purchases.reports.views.RefundListView"),
    "contract transactions": (
        "/purchases/reports/contract-transactions/",
        "purchases.reports.views.ContractTransactionListView",
    ),
    "wallet ledger": ("/buyers/wallet-ledger/", "buyers.views.WalletEntryListView"),
    # The lists that grow with the shop (reports since 2026-11-29; their plain join computes
    # the same per-row values: a buyer's live accesses and balances, an access's status).
    "renewals": ("/renewals/", "purchases.views.ContractListView"),
    "accesses": ("/accesses/", "buyers.views.AccessListView"),
    "buyers": ("/buyers/", "buyers.views.BuyerListView"),
}


def download(browser, path) -> tuple[float, int, int]:
    """GET `path` reading the body in blocks: (seconds to the last byte, bytes, lines)."""
    connection = HTTPConnection("127.0.0.1", browser.port, timeout=3600)
    headers = {
        "Host": "127.0.0.1",
        "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items()),
    }
    started = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    if response.status != 200:
        raise AssertionError(f"GET {path}: {response.status}")
    size = lines = 0
    while block := response.read(1 << 16):
        size += len(block)
        lines += block.count(b"\n")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, size, lines


def psql_copy(database_url, select_sql) -> tuple[float, int, int]:
    """`psql \\copy` of `select_sql` to stdout, read by this process: (seconds, bytes, lines)."""
    one_line = " ".join(select_sql.split())
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            "psql",
            database_url,
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            f"\\copy ({one_line}) TO STDOUT WITH (FORMAT csv)",
        ],
        stdout=subprocess.PIPE,
    )
    size = lines = 0
    while block := process.stdout.read(1 << 16):
        size += len(block)
        lines += block.count(b"\n")
    if process.wait() != 0:
        raise AssertionError("psql failed")
    return time.perf_counter() - started, size, lines


def plain_select(view_path, user) -> tuple[str, int]:
    """The export's rows as the plain join: the list's queryset (filters, joins, order) with
    each report column as stored, no formatting; and its row count."""
    from django.db import connection
    from django.db.models import F
    from django.test import RequestFactory
    from django.utils.module_loading import import_string

    view_class = import_string(view_path)
    request = RequestFactory().get("/", {"export": "csv"})
    request.user = user
    view = view_class()
    view.setup(request)
    view.object_list = view.get_queryset()
    table = view.export_table()
    queryset = table.data.data
    report = view.csv_report
    values = {
        f"c{i}": F(column.source) if isinstance(column.source, str) else column.source
        for i, column in enumerate(report.columns)
    }
    sql, params = queryset.values(**values).query.sql_with_params()
    return connection.ops.compose_sql(sql, params), queryset.count()


def worker_peak_rss_mb(server) -> float:
    """The peak RSS (VmHWM) of the gunicorn worker under `server` (the master)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    peaks = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def main():
    database_url = os.environ["DATABASE_URL"]
    var_dir = os.environ.get("BENCH_VAR_DIR") or tempfile.mkdtemp(prefix="bench-exports-")
    env = production_env(database_url, var_dir)
    # A 1M-row download outlasts gunicorn's default 30 s worker timeout, which kills a sync
    # worker mid-stream: the README's deployment raises it for exports (its "Exports" section).
    env["GUNICORN_CMD_ARGS"] = "--timeout 1800"
    os.environ.update(env)
    ensure_database(database_url)
    manage(env, "migrate", "--no-input", "-v0")

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection

    from purchases.models import Purchase

    if not Purchase.objects.exists():
        print(f"Generating the shop: {PURCHASES:,} purchases (a few minutes)", file=sys.stderr)
        manage(env, "generate_data", "--purchases", str(PURCHASES), "--seed", "1")
    manage(env, "collectstatic", "--no-input", "-v0")
    user = get_user_model().objects.filter(username=USERNAME).first()
    if user is None:
        user = get_user_model().objects.create_superuser(USERNAME, "bench@example.com", PASSWORD)
    user.set_password(PASSWORD)
    user.save()
    # BENCH_EXPORTS="accesses,buyers" measures just those (and skips the .xlsx).
    chosen = [name.strip() for name in os.environ.get("BENCH_EXPORTS", "").split(",") if name]
    reports = {name: REPORTS[name] for name in chosen} if chosen else REPORTS
    selects = {name: plain_select(view, user) for name, (_, view) in reports.items()}
    connection.close()
    # psql in the shop's time zone, as our export runs: the plain text of each column.
    psql_url = (
        database_url
        + ("&" if "?" in database_url else "?")
        + (f"options=-c%20TimeZone%3D{settings.TIME_ZONE.replace('/', '%2F')}")
    )

    port = free_port()
    server = start_server(env, port)
    lines = [
        f"Shop: {Purchase.objects.count():,} purchases; time zone {settings.TIME_ZONE}; gunicorn,"
        " 1 sync worker, production settings; client and server on this machine.",
        f"Paired rounds A B (ours, psql), {ROUNDS} of each after one warm-up each.",
        "",
        "| export | rows | ours s | psql s | ratio (psql/ours) median | range | MB ours / psql |"
        " load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratios_all = {}
    try:
        browser = Browser(port)
        browser.sign_in(USERNAME, PASSWORD)
        for name, (url, _) in reports.items():
            select_sql, count = selects[name]
            path = f"{url}?export=csv"
            ours_first = download(browser, path)  # warm-up
            psql_copy(psql_url, select_sql)
            assert ours_first[2] >= count + 1, (name, ours_first, count)
            ours, plain = [], []
            for _ in range(ROUNDS):
                ours.append(download(browser, path))
                plain.append(psql_copy(psql_url, select_sql))
            ratios = [p[0] / o[0] for o, p in zip(ours, plain, strict=True)]
            ratios_all[name] = statistics.median(ratios)
            row = (
                f"| {name} | {count:,} | {statistics.median(o[0] for o in ours):.2f} | "
                f"{statistics.median(p[0] for p in plain):.2f} | {statistics.median(ratios):.2f} | "
                f"{min(ratios):.2f}–{max(ratios):.2f} | {ours[0][1] / 1e6:.0f} / "
                f"{plain[0][1] / 1e6:.0f} | {os.getloadavg()[0]:.1f} |"
            )
            lines.append(row)
            print(row, file=sys.stderr)
        csv_peak = worker_peak_rss_mb(server)
        lines += ["", f"gunicorn worker peak RSS after the CSV exports: {csv_peak:.0f} MB."]
        if "purchases" in selects:
            seconds, size, _ = download(browser, "/purchases/?export=xlsx")
            count = selects["purchases"][1]
            xlsx_peak = worker_peak_rss_mb(server)
            lines += [
                "",
                f"Purchases .xlsx over HTTP: {count:,} rows in {seconds:.1f} s"
                f" ({count / seconds:,.0f} rows/s), {size / 1e6:.0f} MB;"
                f" worker peak RSS after it {xlsx_peak:.0f} MB;"
                f" load {os.getloadavg()[0]:.1f}.",
            ]
            print(lines[-1], file=sys.stderr)
    finally:
        server.terminate()
        server.wait()
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return ratios_all


def guard_cost():
    """What the formula guard costs: `psql \\copy` of our purchases COPY statement against the
    same statement with the guard taken off its text columns, paired A B A B; and each against
    the plain join. Run: `DATABASE_URL=... python -m tests.bench.exports guard`."""
    import re

    database_url = os.environ["DATABASE_URL"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from purchases.models import Purchase
    from purchases.reports.exports import PURCHASES_REPORT

    user = get_user_model().objects.get(username=USERNAME)
    plain, _ = plain_select(REPORTS["purchases"][1], user)
    ours = (
        PURCHASES_REPORT.copy_sql(Purchase.objects.order_by("-created_at", "-pk"))
        .removeprefix("COPY (")
        .removesuffix(") TO STDOUT WITH (FORMAT csv)")
    )
    unguarded = re.sub(r"CASE WHEN ascii\((r\.\"c\d+\")\) IN \([^)]*\) THEN .*? END", r"\1", ours)
    assert "ascii(" in ours and "ascii(" not in unguarded
    psql_url = (
        database_url
        + ("&" if "?" in database_url else "?")
        + (
            f"options=-c%20TimeZone%3D{settings.TIME_ZONE.replace('/', '%2F')}"
            "%20-c%20DateStyle%3DISO"
        )
    )
    times = {"plain": [], "ours": [], "unguarded": []}
    for sql in (plain, ours, unguarded):
        psql_copy(psql_url, sql)
    for _ in range(ROUNDS):
        for name, sql in (("plain", plain), ("ours", ours), ("unguarded", unguarded)):
            times[name].append(psql_copy(psql_url, sql)[0])
    guard = [u / o for u, o in zip(times["unguarded"], times["ours"], strict=True)]
    print(
        f"purchases via psql, median of {ROUNDS}: plain {statistics.median(times['plain']):.2f} s,"
        f" our statement {statistics.median(times['ours']):.2f} s, without the guard"
        f" {statistics.median(times['unguarded']):.2f} s; throughput with the guard"
        f" {statistics.median(guard):.2f}x without it (range {min(guard):.2f}-{max(guard):.2f});"
        f" load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    guard_cost() if sys.argv[1:] == ["guard"] else main()
