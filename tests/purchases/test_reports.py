"""Finance exports and summaries: read back row by row, reconciled, injection-safe, on both paths.

Runs on SQLite (`make test-fast`: the iterator path) and PostgreSQL (`make test`: the COPY path,
and a byte-for-byte comparison of COPY against the iterator).
"""

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from buyers.models import Buyer
from core.money import quantize
from purchases.journal import booking
from purchases.models import Purchase, Refund
from purchases.reports.exports import PURCHASES_REPORT
from tests.buyers.factories import BuyerFactory
from tests.purchases.factories import offer_for_sale

pytestmark = pytest.mark.django_db
PAID_STATUSES = Purchase.PAID_STATUSES

# A shop west of UTC with a half-hour offset: local dates and ISO offsets are easy to get wrong.
SHOP_TZ = "America/St_Johns"
EVIL = ["=1+2", "+SUM(A1)", "-3", "@cmd", "\tTAB", "\rCR", 'plain "quoted", text']


@pytest.fixture(autouse=True)
def shop_time_zone(settings):
    settings.TIME_ZONE = SHOP_TZ
    timezone.activate(ZoneInfo(SHOP_TZ))
    yield
    timezone.deactivate()


def local(year, month, day, hour=12, minute=0, second=0):
    return datetime(year, month, day, hour, minute, second, 123456, tzinfo=ZoneInfo(SHOP_TZ))


def make_purchase(
    *,
    created_at,
    currency="EUR",
    price="10.00",
    discount="0",
    status=Purchase.Status.COMPLETED,
    offer=None,
    buyer=None,
    payment_type="wallet",
    coupon_code="",
):
    subscription, pricing_model = offer or offer_for_sale(price=price, currency=currency)
    list_price, discount = Decimal(price), Decimal(discount)
    purchase = Purchase.objects.create(
        buyer=buyer or BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        list_price=list_price,
        discount=discount,
        amount=list_price - discount,
        currency=currency,
        coupon_code=coupon_code,
        payment_type=payment_type,
        status=status,
        gateway_reference="SB" + str(Purchase.objects.count()).zfill(6),
        created_at=created_at,
        completed_at=created_at + timedelta(seconds=5) if status in PAID_STATUSES else None,
    )
    if status in PAID_STATUSES:  # booked as the purchase service books it
        booking.book([booking.sale_entry(purchase, booked_at=purchase.completed_at)])
    return purchase


def refund(purchase, amount, at=None):
    made = Refund.objects.create(
        purchase=purchase,
        amount=Decimal(amount),
        currency=purchase.currency,
        method=purchase.payment_type,
        created_at=at or timezone.now(),
    )
    booking.book([booking.refund_entry(made)])
    return made


@pytest.fixture
def shop():
    """Purchases in three currencies (JPY has no minor digits), statuses, coupons and refunds."""
    eur = offer_for_sale(price="10.00", currency="EUR")
    jpy = offer_for_sale(price="1500", currency="JPY")
    made = [
        make_purchase(created_at=local(2026, 3, 1, 0, 10), offer=eur, price="10.00"),
        make_purchase(
            created_at=local(2026, 3, 2, 23, 50),
            offer=eur,
            price="10.00",
            discount="2.50",
            coupon_code="SPRING",
        ),
        make_purchase(
            created_at=local(2026, 3, 3), offer=eur, price="10.00", status=Purchase.Status.FAILED
        ),
        make_purchase(
            created_at=local(2026, 3, 3),
            offer=eur,
            price="10.00",
            status=Purchase.Status.REFUNDED,
        ),
        make_purchase(created_at=local(2026, 3, 4), offer=jpy, currency="JPY", price="1500"),
        make_purchase(
            created_at=local(2026, 3, 5),
            currency="USD",
            price="7.25",
            payment_type="sandbox_card",
            status=Purchase.Status.CANCELLED,
        ),
        # Outside the range the tests filter on.
        make_purchase(created_at=local(2026, 2, 28, 23, 59), offer=eur, price="10.00"),
        make_purchase(created_at=local(2026, 4, 1, 0, 1), offer=eur, price="10.00"),
    ]
    refund(made[1], "2.00", at=local(2026, 3, 2, 23, 55))
    refund(made[1], "1.50", at=local(2026, 4, 2))  # given back in April: counts in April
    refund(made[3], "10.00", at=local(2026, 3, 3, 13))
    refund(made[5], "7.25", at=local(2026, 3, 6))
    return made


def read_csv(response):
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(body, newline="")))


def export(client, **filters):
    return read_csv(client.get(reverse("purchases:list"), {**filters, "export": "csv"}))


def iso(value):
    """A time as the exports write it: local, to the second, the zone in the header."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


CREATED, COMPLETED = f"Created ({SHOP_TZ})", f"Completed ({SHOP_TZ})"


def test_purchases_export_matches_the_database_row_by_row(client, finance_user, shop):
    client.force_login(finance_user)
    rows = export(client, created_min="2026-03-01", created_max="2026-03-31")
    purchases = Purchase.objects.filter(
        created_at__gte=local(2026, 3, 1, 0, 0), created_at__lt=local(2026, 4, 1, 0, 0)
    ).select_related("buyer", "subscription", "pricing_model")
    by_code = {purchase.code: purchase for purchase in purchases}
    assert sorted(row["Code"] for row in rows) == sorted(by_code)
    assert list(rows[0]) == PURCHASES_REPORT.header()
    for row in rows:
        purchase = by_code[row["Code"]]
        refunded = sum((r.amount for r in purchase.refunds.all()), Decimal(0))

        def digits(amount, currency=purchase.currency):
            return f"{quantize(amount, currency):f}"

        assert row == {
            "Code": purchase.code,
            CREATED: iso(purchase.created_at),
            COMPLETED: iso(purchase.completed_at),
            "Buyer e-mail": purchase.buyer.email,
            "Buyer name": purchase.buyer.name,
            "Subscription code": purchase.subscription.code,
            "Subscription": purchase.subscription.name,
            "Pricing model": purchase.pricing_model.title,
            "List price": digits(purchase.list_price),
            "Discount": digits(purchase.discount),
            "Coupon": purchase.coupon_code,
            "Amount": digits(purchase.amount),
            "Currency": purchase.currency,
            "Payment type": purchase.payment_type,
            "Gateway reference": purchase.gateway_reference,
            "Status": purchase.status,
            "Refunded amount": digits(refunded),
        }


def test_export_writes_amounts_with_the_currencys_digits_and_local_iso_times(
    client, finance_user, shop
):
    client.force_login(finance_user)
    rows = {row["Currency"] + row["Status"]: row for row in export(client)}
    assert rows["JPYcompleted"]["Amount"] == "1500"
    assert rows["USDcancelled"]["Amount"] == "7.25"
    assert rows["USDcancelled"]["Refunded amount"] == "7.25"
    discounted = next(row for row in export(client, coupon="spring"))
    assert (discounted["List price"], discounted["Discount"], discounted["Amount"]) == (
        "10.00",
        "2.50",
        "7.50",
    )
    assert discounted["Refunded amount"] == "3.50"
    # 23:50 local on 2 March is 02:20 UTC on 3 March; the file says the shop's time.
    assert discounted[CREATED] == "2026-03-02 23:50:00"


def test_export_downloads_exactly_the_filtered_sorted_rows(client, finance_user, shop):
    client.force_login(finance_user)
    rows = export(client, currency="EUR", status="completed", sort="created_at")
    expected = Purchase.objects.filter(currency="EUR", status="completed").order_by(
        "created_at", "pk"
    )
    assert [row["Code"] for row in rows] == [purchase.code for purchase in expected]


def test_export_names_the_file_after_the_report_and_date_range(client, finance_user, shop):
    client.force_login(finance_user)
    response = client.get(
        reverse("purchases:list"),
        {"created_min": "2026-03-01", "created_max": "2026-03-31", "export": "csv"},
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="purchases_2026-03-01_to_2026-03-31.csv"'
    )
    response = client.get(reverse("purchases:list"), {"export": "csv"})
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"].endswith(f'filename="purchases_start_to_{today}.csv"')


def test_the_old_excel_option_redirects_to_the_workbook(client, finance_user, shop):
    client.force_login(finance_user)
    query = {"currency": "EUR", "export": "csv", "excel": "1"}
    response = client.get(reverse("purchases:list"), query)
    assert response.status_code == 302
    assert response["Location"] == reverse("purchases:list") + "?currency=EUR&export=xlsx"
    plain = b"".join(client.get(reverse("purchases:list"), {"export": "csv"}).streaming_content)
    assert plain.startswith(f"Code,{CREATED},".encode())


def test_exported_cells_that_could_run_as_formulas_are_neutralised(client, finance_user):
    eur = offer_for_sale(price="10.00", currency="EUR")
    for index, evil in enumerate(EVIL):
        buyer = BuyerFactory(name=evil, email=f"evil{index}@example.com")
        make_purchase(created_at=local(2026, 3, 1), offer=eur, buyer=buyer, coupon_code=evil[:30])
    client.force_login(finance_user)
    rows = export(client)
    names = sorted(row["Buyer name"] for row in rows)
    expected = sorted(("'" + evil) if evil[0] in "=+-@\t\r" else evil for evil in EVIL)
    assert names == expected
    assert sorted(row["Coupon"] for row in rows) == sorted(
        ("'" + evil[:30]) if evil[0] in "=+-@\t\r" else evil[:30] for evil in EVIL
    )


def test_unicode_survives_the_export(client, finance_user):
    buyer = BuyerFactory(name="Ольга Дёмина · 東京", email="olga@example.com")
    make_purchase(created_at=local(2026, 3, 1), buyer=buyer)
    client.force_login(finance_user)
    assert export(client)[0]["Buyer name"] == "Ольга Дёмина · 東京"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY runs on PostgreSQL")
def test_copy_and_iterator_paths_write_the_same_bytes(shop):
    eur = offer_for_sale(price="10.00", currency="EUR")
    for index, evil in enumerate(EVIL):
        buyer = BuyerFactory(name=evil, email=f"evil{index}@example.com")
        make_purchase(created_at=local(2026, 3, 9), offer=eur, buyer=buyer, coupon_code="x")
    queryset = Purchase.objects.order_by("-created_at", "-pk")
    copied = b"".join(PURCHASES_REPORT._copy_rows(queryset, "default"))
    iterated = b"".join(PURCHASES_REPORT._iterator_rows(queryset))
    assert copied.decode().splitlines() == iterated.decode().splitlines()
    assert copied == iterated


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY runs on PostgreSQL")
def test_copy_inlines_hostile_filter_values_as_quoted_literals(client, finance_user, shop):
    client.force_login(finance_user)
    hostile = "x'); DROP TABLE purchases_purchase; --"
    assert export(client, q=hostile) == []
    assert Purchase.objects.count() == len(shop)
    statement = PURCHASES_REPORT.copy_sql(Purchase.objects.filter(coupon_code=hostile))
    assert "'x''); DROP TABLE purchases_purchase; --'" in statement


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY runs on PostgreSQL")
def test_copy_leaves_the_connections_time_zone_as_it_was(client, finance_user, shop):
    client.force_login(finance_user)
    export(client)
    with connection.cursor() as cursor:
        cursor.execute("SHOW TimeZone")
        assert cursor.fetchone()[0] == "UTC"


def test_the_purchases_export_and_list_totals_agree_and_the_report_counts_refunds_when_given(
    client, finance_user, shop
):
    client.force_login(finance_user)
    filters = {"created_min": "2026-03-01", "created_max": "2026-03-31", "currency": "EUR"}
    rows = export(client, **filters)
    paid = [row for row in rows if row["Status"] in PAID_STATUSES]
    exported_gross = sum(Decimal(row["Amount"]) for row in paid)
    exported_refunds = sum(Decimal(row["Refunded amount"]) for row in paid)
    # The list's totals: the money of these purchases to date, as the export has it.
    (listed,) = client.get(reverse("purchases:list"), filters).context["totals"]
    assert (listed.gross, listed.refunds) == (exported_gross, exported_refunds)
    assert (exported_gross, exported_refunds) == (Decimal("27.50"), Decimal("13.50"))

    def month(start, end):
        summary = client.get(
            reverse("purchases:reports:revenue"),
            {"start": start, "end": end, "currency": "EUR", "period": "month"},
        )
        assert summary.status_code == 200
        (total,) = summary.context["totals"]
        journal = client.get(
            reverse("purchases:reports:journal"),
            {"booked_min": start, "booked_max": end, "currency": "EUR", "ledger": "revenue"},
        )
        (journal_total,) = journal.context["totals"]
        assert (journal_total.gross, journal_total.refunds, journal_total.net) == (
            total["gross"],
            total["refunds"],
            total["net"],
        )
        return total

    # The refund given in April counts in April: March's figures never change after March.
    march = month("2026-03-01", "2026-03-31")
    assert (march["gross"], march["refunds"], march["net"]) == (
        Decimal("27.50"),
        Decimal("12.00"),
        Decimal("15.50"),
    )
    assert march["sales_count"] == len(paid) == 3
    april = month("2026-04-01", "2026-04-30")
    assert (april["gross"], april["refunds"]) == (Decimal("10.00"), Decimal("1.50"))


def test_summary_groups_by_local_day_subscription_and_payment_type(client, finance_user, shop):
    client.force_login(finance_user)
    url = reverse("purchases:reports:revenue")
    period = {"start": "2026-03-01", "end": "2026-03-31"}
    days = client.get(url, {**period, "period": "day"}).context["rows"]
    assert [
        (row["period"], row["currency"], row["sales_count"], row["refunds_count"]) for row in days
    ] == [
        ("2026-03-01", "EUR", 1, 0),
        ("2026-03-02", "EUR", 1, 1),
        ("2026-03-03", "EUR", 1, 1),
        ("2026-03-04", "JPY", 1, 0),
        ("2026-03-05", "USD", 1, 0),
        ("2026-03-06", "USD", 0, 1),
    ]
    assert days[1]["net"] == Decimal("5.50")
    by_type = client.get(url, {**period, "grouping": "payment_type"}).context["rows"]
    assert [(row["payment_type"], row["currency"], row["gross"]) for row in by_type] == [
        ("sandbox_card", "USD", Decimal("7.25")),
        ("wallet", "EUR", Decimal("27.50")),
        ("wallet", "JPY", Decimal("1500")),
    ]
    jpy_subscription = shop[4].subscription
    by_subscription = client.get(
        url, {**period, "grouping": "subscription", "subscription": jpy_subscription.code}
    ).context["rows"]
    assert [(row["subscription__code"], row["gross"]) for row in by_subscription] == [
        (jpy_subscription.code, Decimal("1500"))
    ]


def test_summary_downloads_as_csv(client, finance_user, shop):
    client.force_login(finance_user)
    response = client.get(
        reverse("purchases:reports:revenue"),
        {"start": "2026-03-01", "end": "2026-03-31", "period": "month", "format": "csv"},
    )
    assert (
        'filename="revenue-per-month_2026-03-01_to_2026-03-31.csv"'
        in (response["Content-Disposition"])
    )
    rows = read_csv(response)
    assert [
        (r["Period"], r["Currency"], r["Gross"], r["Refunds amount"], r["Net"]) for r in rows
    ] == [
        ("2026-03-01", "EUR", "27.50", "12.00", "15.50"),
        ("2026-03-01", "JPY", "1500", "0", "1500"),
        ("2026-03-01", "USD", "7.25", "7.25", "0.00"),
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2026-13-45"}, "Enter a valid date."),
        ({"start": "2026-03-31", "end": "2026-03-01"}, "The start date is after the end date."),
        ({"currency": "XXX"}, "Select a valid choice."),
        ({"subscription": "NOPE0000"}, "Select a valid choice."),
        ({"start": "1900-01-01", "end": "2026-01-01"}, "at most three years"),
        ({"period": "decade"}, "Select a valid choice."),
    ],
)
def test_summary_answers_bad_filters_with_a_message(client, finance_user, query, message):
    client.force_login(finance_user)
    response = client.get(reverse("purchases:reports:revenue"), query)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["rows"] is None
    csv_response = client.get(reverse("purchases:reports:revenue"), {**query, "format": "csv"})
    assert csv_response.status_code == 200
    assert not csv_response.streaming


def test_bad_export_filters_do_not_fail(client, finance_user, shop):
    client.force_login(finance_user)
    response = client.get(
        reverse("purchases:list"), {"created_min": "never", "currency": "XXX", "export": "csv"}
    )
    assert response.status_code == 200


def test_refunds_list_and_export(client, finance_user, shop):
    client.force_login(finance_user)
    page = client.get(reverse("purchases:reports:refunds"), {"currency": "EUR"})
    assert page.status_code == 200
    rows = read_csv(
        client.get(reverse("purchases:reports:refunds"), {"currency": "EUR", "export": "csv"})
    )
    refunds = Refund.objects.filter(currency="EUR").select_related("purchase")
    assert sorted((r["Code"], r["Purchase"], r["Amount"]) for r in rows) == sorted(
        (r.code, r.purchase.code, f"{r.amount:.2f}") for r in refunds
    )


def test_wallet_ledger_and_buyers_exports_stream_their_reports(client, finance_user):
    from tests.purchases.factories import wallet_buyer

    wallet_buyer("25.00", name="=cmd|' /C calc'!A0")
    wallet_buyer("1000", currency="JPY")
    client.force_login(finance_user)
    ledger = read_csv(
        client.get(reverse("buyers:wallet_ledger"), {"export": "csv", "currency": "JPY"})
    )
    assert [(row["Kind"], row["Amount"], row["Balance after"]) for row in ledger] == [
        ("top_up", "1000", "1000")
    ]
    buyers = read_csv(client.get(reverse("buyers:list"), {"export": "csv"}))
    assert sorted(row["Name"] for row in buyers) == sorted(
        ("'" + b.name) if b.name.startswith("=") else b.name for b in Buyer.objects.all()
    )


def test_shop_staff_reach_no_money_report(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("purchases:reports:revenue")).status_code == 403
    assert client.get(reverse("purchases:reports:refunds")).status_code == 403
    home = client.get(reverse("home")).content.decode()
    assert reverse("purchases:reports:revenue") not in home


def test_finance_reaches_the_reports_from_the_menu(client, finance_user):
    client.force_login(finance_user)
    home = client.get(reverse("home")).content.decode()
    assert reverse("purchases:reports:revenue") in home
    assert reverse("purchases:reports:refunds") in home
    assert client.get(reverse("purchases:reports:revenue")).status_code == 200


def test_export_sends_the_header_before_any_row(client, finance_user, shop):
    client.force_login(finance_user)
    response = client.get(reverse("purchases:list"), {"export": "csv"})
    chunks = iter(response.streaming_content)
    assert next(chunks) == (",".join(PURCHASES_REPORT.header()) + "\n").encode()
    assert b"".join(chunks).count(b"\n") == len(shop)


def test_summary_offers_the_workbook_instead_of_csv_for_excel(client, finance_user, shop):
    client.force_login(finance_user)
    page = client.get(reverse("purchases:reports:revenue")).content.decode()
    assert "format=xlsx" in page and "excel=1" not in page
    response = client.get(reverse("purchases:reports:revenue"), {"format": "csv", "excel": "1"})
    assert response.status_code == 302 and "format=xlsx" in response["Location"]
    workbook = client.get(response["Location"])
    assert workbook["Content-Disposition"].endswith('.xlsx"')


@pytest.mark.parametrize("name", ["purchases:reports:revenue", "purchases:reports:renewals"])
def test_report_dates_past_9999_12_30_are_refused_beside_the_field(client, finance_user, name):
    client.force_login(finance_user)
    response = client.get(reverse(name), {"end": "9999-12-31", "format": "csv"})
    assert response.status_code == 200
    assert response.context["form"].errors["end"] == [
        "Enter a date between 1900-01-01 and 9999-12-30."
    ]
    assert b"invalid-feedback" in response.content
