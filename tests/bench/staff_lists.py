"""Staff list pages against a stock ModelAdmin, over HTTP, as tests/bench/README.md says.

Run by bench_staff_lists.py (`make bench PYTEST_ARGS="-k staff_lists"`), or alone:

    DATABASE_URL=postgres://... python -m tests.bench.staff_lists

DATABASE_URL names the shop's database: created, migrated and filled with
`manage.py generate_data --purchases $BENCH_PURCHASES` (default 1,000,000) when it holds no
purchases, and reused as it is when it does. Prints one markdown table per list and a summary.
"""

import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode, urlsplit

BASE_DIR = Path(__file__).resolve().parents[2]
PURCHASES = int(os.environ.get("BENCH_PURCHASES", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))
USERNAME = "bench-staff"
PASSWORD = secrets.token_urlsafe(16)
OUTPUT = BASE_DIR / "tests" / "bench" / "data" / "staff_lists.md"


def production_env(database_url: str, var_dir: str) -> dict:
    """The environment of a production deployment (DJANGO_DEBUG=false), on plain HTTP on the
    loopback: the benchmark's client speaks no TLS, so no redirect to HTTPS."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "tests.bench.http_settings",
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "VAR_DIR": var_dir,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(BASE_DIR),
    }


def manage(env, *args):
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True, stdout=sys.stderr
    )


def ensure_database(database_url: str):
    """Create the shop's database if it is missing (on the cluster's `postgres` database)."""
    import psycopg

    name = urlsplit(database_url).path.lstrip("/")
    server = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        exists = "SELECT 1 FROM pg_database WHERE datname = %s"
        if not connection.execute(exists, [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """A signed-in client: one fresh connection a request (gunicorn's sync workers close each
    one), its cookies kept; the time from sending a request to its last byte."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None):
        connection = HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Host": "127.0.0.1", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response.status, content.decode(), elapsed

    def get(self, path):
        status, text, elapsed = self.request("GET", path)
        if status != 200:
            raise AssertionError(f"GET {path}: {status}")
        return text, elapsed

    def sign_in(self, username, password):
        status, page, _ = self.request("GET", "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
        status, _, _ = self.request(
            "POST",
            "/accounts/login/",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise AssertionError(f"signing in answered {status}")


def start_server(env, port):
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
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _, _ = Browser(port).request("GET", "/healthz/")
            if status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not answer within 60 s")


# --- What is measured -------------------------------------------------------------------------


def common_word(share=0.05):
    """A word of buyers' names matching the share of buyers closest to `share` (5%: the
    skeptic's common name), and how many buyers it matches."""
    from collections import Counter

    from buyers.models import Buyer

    names = Counter()
    for name in Buyer.objects.values_list("name", flat=True)[:20000].iterator():
        for word in name.split():
            if len(word) >= 3:
                names[word.lower()] += 1
    total = Buyer.objects.count()
    best = None
    for word, _ in names.most_common(40):
        found = Buyer.objects.filter(name__icontains=word).count()
        if best is None or abs(found / total - share) < abs(best[1] / total - share):
            best = (word, found)
    return best[0], best[1], total


def one_buyers_email():
    from purchases.models import RecurringContract

    return RecurringContract.objects.exclude(buyer__email="").order_by("pk").first().buyer.email


def sortable_columns(table):
    return [
        name
        for name, column in table.base_columns.items()
        if column.orderable is not False and column.visible
    ]


def stock_sort_index(staff_list, column, request):
    """The stock admin's `o=` number for sorting by our column, or None if it has no such column."""
    from .stock_admin import stock_columns, stock_site

    model_admin = stock_site._registry[staff_list.model]
    accessor = str(staff_list.table.base_columns[column].accessor or column)
    columns = list(model_admin.get_list_display(request))
    if model_admin.get_actions(request):
        columns.insert(0, "action_checkbox")
    display, _ = stock_columns(staff_list)
    name = accessor if accessor in display else column
    return columns.index(name) if name in columns else None


def deepest_page(staff_list, per_page):
    """Our "Next" link at the last rows: the cursor names the row before the last page."""
    from core.keyset import Keyset

    table = staff_list.table(data=staff_list.model.objects.all())
    table.order_by = table.Meta.order_by
    queryset = table.data.data
    total = staff_list.model.objects.count()
    offset = max(0, total - per_page - 1)
    token = Keyset(queryset).token_for(queryset[offset])
    page = f"?per_page={per_page}&page={offset // per_page + 2}&after={token}"
    return page, -(-total // per_page)


def cases(staff_list, request, word, email):
    """(case, ours, our admin, stock admin) URLs for one list; None where one cannot do it."""
    ours, admin_, stock = (
        staff_list.url,
        f"/admin/{staff_list.admin_path}",
        (f"/stock-admin/{staff_list.admin_path}"),
    )
    out = [
        ("page 1", f"{ours}?per_page=100", admin_, stock),
        (
            "page 1, 25 rows",
            f"{ours}?per_page=25",
            None,
            f"/stock-admin-25/{staff_list.admin_path}",
        ),
        (
            staff_list.filter_label,
            f"{ours}?per_page=100&{staff_list.our_filter}",
            f"{admin_}?{staff_list.admin_filter}",
            f"{stock}?{staff_list.admin_filter}",
        ),
    ]
    if staff_list.name == "subscriptions":
        terms = [("search: a word of a name", "video")]
    else:
        terms = [
            ("search: one buyer's e-mail", email),
            (f"search: {word!r} (5% of buyers)", word),
            ("search: no match", "zzqx-none"),
        ]
    for label, term in terms:
        query = urlencode({"q": term})
        out.append((label, f"{ours}?per_page=100&{query}", f"{admin_}?{query}", f"{stock}?{query}"))
    for column in sortable_columns(staff_list.table):
        index = stock_sort_index(staff_list, column, request)
        for sign, label in (("", "ascending"), ("-", "descending")):
            out.append(
                (
                    f"sorted by {column}, {label}",
                    f"{ours}?per_page=100&sort={sign}{column}",
                    None,
                    None if index is None else f"{stock}?o={sign}{index}",
                )
            )
    deep, pages = deepest_page(staff_list, 100)
    if pages > 100:  # the last numbered page before the cursor pages (LIST_COUNT_LIMIT 10,000)
        out.append(("numbered page 100", f"{ours}?per_page=100&page=100", None, f"{stock}?p=100"))
    if pages > 1:
        out.append(("deepest page", f"{ours}{deep}", None, f"{stock}?p={pages}"))
    return out


def measure(browser, urls):
    """Paired rounds A B (C) A B (C)...: each URL once a round, in turn, after one warm-up each.
    Returns (median ms of each URL, the ratio A/B of each round, the load average after)."""
    live = [url for url in urls if url]
    for url in live:
        browser.get(url)
    times = {url: [] for url in live}
    for _ in range(ROUNDS):
        for url in live:
            times[url].append(browser.get(url)[1])
    ours, stock = urls[0], urls[-1]
    ratios = (
        [a / b for a, b in zip(times[ours], times[stock], strict=True)] if stock in times else []
    )
    medians = [statistics.median(times[url]) if url else None for url in urls]
    return medians, ratios, os.getloadavg()[0]


def case_group(case: str) -> str:
    if case.startswith("search"):
        return "search"
    return "25 rows" if "25 rows" in case else "other"


def fmt(value, digits=1):
    return "" if value is None else f"{value:.{digits}f}"


def main():
    database_url = os.environ["DATABASE_URL"]
    var_dir = os.environ.get("BENCH_VAR_DIR") or tempfile.mkdtemp(prefix="bench-lists-")
    env = production_env(database_url, var_dir)
    os.environ.update(env)
    ensure_database(database_url)
    manage(env, "migrate", "--no-input", "-v0")

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import RequestFactory

    from purchases.models import Purchase

    from .stock_admin import LISTS, stock_columns

    if not Purchase.objects.exists():
        print(f"Generating the shop: {PURCHASES:,} purchases (a few minutes)", file=sys.stderr)
        manage(env, "generate_data", "--purchases", str(PURCHASES), "--seed", "1")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    manage(env, "collectstatic", "--no-input", "-v0")
    user = get_user_model().objects.filter(username=USERNAME).first()
    if user is None:
        user = get_user_model().objects.create_superuser(USERNAME, "bench@example.com", PASSWORD)
    user.set_password(PASSWORD)
    user.save()
    request = RequestFactory().get("/")
    request.user = user
    word, word_buyers, buyers = common_word()
    email = one_buyers_email()
    purchases = Purchase.objects.count()
    connection.close()

    port = free_port()
    server = start_server(env, port)
    lines = [
        f"{purchases:,} purchases, {buyers:,} buyers; PostgreSQL {server_version}; gunicorn "
        f"{WORKERS} sync worker(s), DJANGO_DEBUG=false; {ROUNDS} paired rounds a case.",
        f"Common word: {word!r} matches {word_buyers:,} buyers ({word_buyers / buyers:.1%}).",
    ]
    summary = []
    try:
        browser = Browser(port)
        browser.sign_in(USERNAME, PASSWORD)
        for staff_list in LISTS:
            _, left_out = stock_columns(staff_list)
            lines += [
                "",
                f"### {staff_list.name} ({staff_list.url})",
                "",
                "Stock admin without our columns: " + (", ".join(left_out) or "none") + ".",
                "",
                "| case | ours ms | stock ms | ours/stock median | range | our admin ms | load |",
                "|---|---:|---:|---:|---|---:|---:|",
            ]
            for case, ours, our_admin, stock in cases(staff_list, request, word, email):
                (ours_ms, admin_ms, stock_ms), ratios, load = measure(
                    browser, [ours, our_admin, stock]
                )
                ratio = statistics.median(ratios) if ratios else None
                spread = f"{min(ratios):.2f}–{max(ratios):.2f}" if ratios else ""
                row = (
                    f"| {case} | {fmt(ours_ms)} | {fmt(stock_ms)} | {fmt(ratio, 2)} | {spread} "
                    f"| {fmt(admin_ms)} | {load:.2f} |"
                )
                lines.append(row)
                summary.append((staff_list.name, case, ours_ms, ratio))
                print(f"{staff_list.name:<13} {row}", file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    lines += ["", "### Summary", ""]
    groups = (
        ("100 rows: page 1, filter, sorts, numbered and deepest pages", "other"),
        ("25 rows, page 1", "25 rows"),
        ("search, 100 rows", "search"),
    )
    for label, group in groups:
        rows = [row for row in summary if case_group(row[1]) == group]
        slowest = max(rows, key=lambda row: row[2])
        ratios = [row[3] for row in rows if row[3] is not None]
        lines.append(
            f"- {label}: slowest {slowest[2]:.1f} ms ({slowest[0]}, {slowest[1]}); largest "
            f"ours/stock median {max(ratios):.2f}"
        )
    text = "\n".join(lines)
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
