"""Every staff list page on generated shop data against the Django admin's changelist of the same
model, side by side in one run, at 10k, 100k and 1M purchases (200k buyers and 50k contracts at
1M). Writes the "## Staff list pages" section of RESULTS.md and the plot list_sizes.svg.

Cases come from the tables themselves: page 1, a filtered page, every sortable column in both
directions, and the deepest page (ours: the "Next" cursor at the last rows; the admin: its last
numbered page). Three contenders:
- ours: the staff list page (config/listing.py);
- our admin: the project's Django admin (config/readonly_admin.py: capped count, no date
  hierarchy, sorting only by indexed columns);
- stock admin: a plain `ModelAdmin` with the same columns, filters and search as shipped by
  Django (full COUNTs, date hierarchy, every column sortable), the anchor of issue 8.

Run with `make bench PYTEST_ARGS="-k staff_lists"`; BENCH_LIST_SIZES="10000,100000" for a
shorter run.
"""

import os
import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import include, path

from buyers.admin import AccessStatusFilter
from buyers.models import Access, Buyer
from buyers.tables import AccessTable, BuyerTable
from core.keyset import Keyset
from purchases.generator import generate_data
from purchases.models import Purchase, RecurringContract
from purchases.tables import ContractTable, PurchaseTable
from subscriptions.models import Subscription
from subscriptions.tables import SubscriptionTable

from .bench_list_page import RESULTS, machine
from .plot import line_chart_svg

SIZES = [
    int(size) for size in os.environ.get("BENCH_LIST_SIZES", "10000,100000,1000000").split(",")
]
RUNS = 5
MARKER = "## Staff list pages"
PLOT = RESULTS.with_name("list_sizes.svg")

# The stock admin: what `admin.site.register(Model)` with the same columns gives, as Django
# ships it. Served under /stock-admin/ by this module's URLconf, for this benchmark only.
stock_site = admin.AdminSite(name="stock_admin")
STOCK_ADMINS = {
    Purchase: {
        "list_display": (
            "code",
            "created_at",
            "buyer",
            "subscription",
            "amount",
            "currency",
            "payment_type",
            "status",
        ),
        "list_filter": ("status", "payment_type", "currency", "is_recurring"),
        "search_fields": ("code", "buyer__email", "gateway_reference", "coupon_code"),
        "list_select_related": ("buyer", "subscription"),
        "date_hierarchy": "created_at",
    },
    Buyer: {
        "list_display": ("code", "email", "phone", "name", "created_at"),
        "list_filter": ("created_at",),
        "search_fields": ("code", "email", "phone", "name"),
        "date_hierarchy": "created_at",
    },
    Access: {
        "list_display": (
            "code",
            "buyer",
            "subscription",
            "access_start",
            "access_expire",
            "purchased_at",
            "granted_by",
        ),
        "list_filter": (AccessStatusFilter, "purchased_at"),
        "list_select_related": ("buyer", "subscription", "granted_by"),
        "search_fields": ("code", "buyer__email", "buyer__phone", "subscription__name"),
        "date_hierarchy": "purchased_at",
    },
    Subscription: {
        "list_display": ("code", "name", "kind", "scope", "access_expire", "drm", "created_at"),
        "list_filter": ("kind", "scope", "drm"),
        "search_fields": ("code", "name"),
        "date_hierarchy": "created_at",
    },
    RecurringContract: {
        "list_display": (
            "code",
            "buyer",
            "subscription",
            "amount",
            "currency",
            "status",
            "next_bill_date",
            "failed_attempts",
        ),
        "list_filter": ("status", "currency", "payment_type", "cancel_at_period_end"),
        "search_fields": ("code", "buyer__email"),
        "list_select_related": ("buyer", "subscription"),
    },
}
for stock_model, options in STOCK_ADMINS.items():
    stock_site.register(
        stock_model, type(f"Stock{stock_model.__name__}Admin", (admin.ModelAdmin,), options)
    )

urlpatterns = [path("stock-admin/", stock_site.urls), path("", include("config.urls"))]


@dataclass
class StaffList:
    name: str
    url: str
    table: type
    model: type
    admin_url: str  # the changelist path under /admin/ and /stock-admin/
    filter_label: str
    our_filter: str
    admin_filter: str  # the same filter in the admin's query string


def staff_lists():
    month_ago = (date.today() - timedelta(days=30)).isoformat()
    return [
        StaffList(
            "purchases",
            "/purchases/",
            PurchaseTable,
            Purchase,
            "purchases/purchase/",
            "completed in EUR",
            "status=completed&currency=EUR",
            "status__exact=completed&currency__exact=EUR",
        ),
        StaffList(
            "buyers",
            "/buyers/",
            BuyerTable,
            Buyer,
            "buyers/buyer/",
            "created in the last 30 days",
            f"created_after={month_ago}",
            f"created_at__gte={month_ago}T00:00:00%2B00:00",
        ),
        StaffList(
            "accesses",
            "/accesses/",
            AccessTable,
            Access,
            "buyers/access/",
            "active",
            "status=active",
            "status=active",
        ),
        StaffList(
            "subscriptions",
            "/subscriptions/",
            SubscriptionTable,
            Subscription,
            "subscriptions/subscription/",
            "audio",
            "kind=audio",
            "kind__exact=audio",
        ),
        StaffList(
            "contracts",
            "/renewals/",
            ContractTable,
            RecurringContract,
            "purchases/recurringcontract/",
            "past due",
            "status=past_due",
            "status__exact=past_due",
        ),
    ]


def sortable_columns(table):
    return [
        name
        for name, column in table.base_columns.items()
        if column.orderable is not False and column.visible
    ]


def admin_sort_index(site, model, field, request):
    """The admin's `o=` number for sorting by `field`, or None if that admin cannot sort by it."""
    model_admin = site._registry[model]
    columns = list(model_admin.get_list_display(request))
    if model_admin.get_actions(request):
        columns.insert(0, "action_checkbox")
    sortable = model_admin.get_sortable_by(request)
    if field not in columns or field not in sortable:
        return None
    return columns.index(field)


def deep_url(staff_list, total):
    """Our "Next" link at the last rows: the cursor names the row before the last page."""
    table = staff_list.table(data=staff_list.model.objects.all())
    table.order_by = table.Meta.order_by
    queryset = table.data.data
    offset = max(0, total - 26)
    row_before = queryset[offset]
    return (
        f"{staff_list.url}?page={offset // 25 + 2}&after={Keyset(queryset).token_for(row_before)}"
    )


def search_term(staff_list):
    """What staff type in the search box: a buyer's e-mail (one with a contract, so every list
    has rows for it), or a word of a subscription's name."""
    if staff_list.model is Subscription:
        return Subscription.objects.order_by("pk").first().name.split()[0]
    return RecurringContract.objects.exclude(buyer__email="").order_by("pk").first().buyer.email


def cases(staff_list, request, total):
    """(case, our URL, our admin's URL, the stock admin's URL) for one list."""
    admin_base, stock_base = (
        f"/admin/{staff_list.admin_url}",
        f"/stock-admin/{staff_list.admin_url}",
    )
    term = urlencode({"q": search_term(staff_list)})
    out = [
        ("page 1", staff_list.url, admin_base, stock_base),
        (
            staff_list.filter_label,
            f"{staff_list.url}?{staff_list.our_filter}",
            f"{admin_base}?{staff_list.admin_filter}",
            f"{stock_base}?{staff_list.admin_filter}",
        ),
        (
            "search: " + ("a word of a name" if staff_list.model is Subscription else "an e-mail"),
            f"{staff_list.url}?{term}",
            f"{admin_base}?{term}",
            f"{stock_base}?{term}",
        ),
    ]
    for column in sortable_columns(staff_list.table):
        for sign, label in (("", "ascending"), ("-", "descending")):
            ours_index = admin_sort_index(admin.site, staff_list.model, column, request)
            stock_index = admin_sort_index(stock_site, staff_list.model, column, request)
            out.append(
                (
                    f"sorted by {column}, {label}",
                    f"{staff_list.url}?sort={sign}{column}",
                    None if ours_index is None else f"{admin_base}?o={sign}{ours_index}",
                    None if stock_index is None else f"{stock_base}?o={sign}{stock_index}",
                )
            )
    if total > 25:
        admin_pages = -(-min(total, 10_001) // 100)
        stock_pages = -(-total // 100)
        out.append(
            (
                "deepest page",
                deep_url(staff_list, total),
                f"{admin_base}?p={admin_pages}",
                f"{stock_base}?p={stock_pages}",
            )
        )
    return out


def measure(client, url):
    if url is None:
        return None, None
    response = client.get(url)  # warm caches and connections
    assert response.status_code == 200, (url, response.status_code)
    times, queries = [], 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        queries = len(captured.captured_queries)
    return statistics.median(times), queries


def fresh_shop(purchases):
    call_command("flush", interactive=False, verbosity=0)
    generate_data(purchases=purchases, seed=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    user = get_user_model().objects.create_superuser("bench-lists", "b@example.com", "x")
    client = Client()
    client.force_login(user)
    request = RequestFactory().get("/")
    request.user = user
    return client, request


def fmt(value, digits=1):
    return "" if value is None else f"{value:.{digits}f}"


@pytest.mark.django_db(transaction=True)
@override_settings(ROOT_URLCONF=__name__)
def test_staff_lists_against_the_admin():
    results = []  # (size, list, case, ours, our admin, stock admin) with (ms, queries) each
    for size in SIZES:
        client, request = fresh_shop(size)
        for staff_list in staff_lists():
            total = staff_list.model.objects.count()
            for case, ours, our_admin, stock in cases(staff_list, request, total):
                row = (
                    size,
                    staff_list.name,
                    case,
                    measure(client, ours),
                    measure(client, our_admin),
                    measure(client, stock),
                )
                results.append(row)
                print(
                    f"{size:>9,} {staff_list.name:<13} {case:<34} ours {fmt(row[3][0]):>7} "
                    f"admin {fmt(row[4][0]):>7} stock {fmt(row[5][0]):>8}"
                )
    write_results(results)
    write_plot(results)


def write_results(results):
    lines = [
        MARKER,
        "",
        f"Measured {date.today().isoformat()} on {machine()}; "
        '`make bench PYTEST_ARGS="-k staff_lists"`.',
        "generate_data(purchases=N, seed=1) for each N (buyers N/5, contracts N/20, ~0.95 accesses",
        f"per purchase); server time through Django's test client, median of {RUNS} after a "
        "warm-up, and the request's queries.",
        "Our pages show 25 rows, the admins 100. *Our admin* is this project's Django admin;",
        "*stock admin* is a plain `ModelAdmin` with the same columns, filters and search (the",
        "anchor). An empty admin cell: that admin does not sort by that column. Plot of page 1",
        "and the slowest case against size: `list_sizes.svg`.",
    ]
    worst = {}
    for size in SIZES:
        rows = [row for row in results if row[0] == size]
        lines += [
            "",
            f"### {size:,} purchases",
            "",
            "| list | page | ours ms | q | our admin ms | q | stock admin ms | q | ours/stock |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for _, name, case, ours, our_admin, stock in rows:
            ratio = f"{ours[0] / stock[0]:.2f}" if stock[0] else ""
            cells = [
                name,
                case,
                fmt(ours[0]),
                ours[1],
                fmt(our_admin[0]),
                our_admin[1] or "",
                fmt(stock[0]),
                stock[1] or "",
                ratio,
            ]
            lines.append("| " + " | ".join(map(str, cells)) + " |")
        slowest = max(rows, key=lambda row: row[3][0])
        worst[size] = slowest
        lines.append("")
        lines.append(
            f"Slowest of ours at {size:,}: {slowest[1]}, {slowest[2]}: {slowest[3][0]:.1f} ms; "
            f"largest ours/stock ratio: "
            f"{max(row[3][0] / row[5][0] for row in rows if row[5][0]):.2f}."
        )
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if MARKER in existing:
        before, _, after = existing.partition(MARKER)
        rest = after.split("\n## ", 1)
        existing = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(existing.rstrip() + "\n\n" + "\n".join(lines) + "\n")


def write_plot(results):
    def series(name, case, contender):
        points = []
        for size in SIZES:
            for row in results:
                if row[0] == size and row[1] == name and row[2] == case and row[contender][0]:
                    points.append((size, row[contender][0]))
        return points

    slowest = [(size, max(row[3][0] for row in results if row[0] == size)) for size in SIZES]
    PLOT.write_text(
        line_chart_svg(
            title="Staff list pages: server time against table size (purchases)",
            x_label="purchases in the database",
            y_label="ms (log scale)",
            series=[
                ("ours, purchases page 1", series("purchases", "page 1", 3)),
                ("ours, slowest case of any list", slowest),
                ("ours, purchases deepest page", series("purchases", "deepest page", 3)),
                ("our admin, purchases page 1", series("purchases", "page 1", 4)),
                ("stock admin, purchases page 1", series("purchases", "page 1", 5)),
                ("stock admin, purchases deepest page", series("purchases", "deepest page", 5)),
            ],
        )
    )
