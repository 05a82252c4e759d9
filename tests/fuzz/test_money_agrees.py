"""Money agrees everywhere, on a generated shop: for random periods, currencies, subscriptions,
payment types, groupings and shop time zones (UTC+14, UTC-11, half-hour offsets, and Berlin's
clock changes), the revenue report, the money journal's list totals, its CSV export and the
dashboard give the same gross, refunds and net to the minor unit as the journal's rows, read
in the shop's days; the daily totals and the journal's rows give the same figures; and the
journal equals the purchases, refunds, renewal charges and e-wallet ledgers it came from.
"""

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st

from purchases.journal import selectors
from purchases.journal.days import rebuild_days
from purchases.journal.models import CHARGE_KINDS, GIVEN_BACK_KINDS, JournalDayZone, JournalEntry
from purchases.journal.models import Kind as K
from purchases.journal.sources import book_from_sources
from purchases.models import Purchase
from purchases.reports.dashboard import dashboard_figures
from subscriptions.models import Subscription
from tests.purchases.journal_checks import assert_journal_matches_sources

from .conftest import FUZZ_SETTINGS

pytestmark = pytest.mark.django_db

# The generated shop's clock: two years of history end here (a fixed moment, so that the same
# examples see the same shop).
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
FIRST_DAY = (NOW - timedelta(days=730)).date()
ZONES = [
    "UTC",
    "Pacific/Kiritimati",  # UTC+14
    "Pacific/Pago_Pago",  # UTC-11
    "Europe/Berlin",  # clocks change on the last Sundays of March and October
    "America/New_York",
    "Asia/Kolkata",  # UTC+5:30
]
# Periods around Berlin's clock changes inside the generated history.
CLOCK_CHANGES = [date(2025, 3, 30), date(2025, 10, 26), date(2026, 3, 29), date(2026, 10, 25)]


@pytest.fixture
def generated_shop(db):
    """A generated shop booked in the journal as the generator books it."""
    from purchases.generator import generate_data

    generate_data(purchases=240, buyers=50, contracts=30, seed=16, now=NOW)
    if not JournalEntry.objects.exists():
        book_from_sources()
    assert_journal_matches_sources()
    return {
        "subscriptions": list(
            Subscription.objects.filter(purchases__isnull=False).distinct().order_by("pk")
        ),
        "payment_types": sorted(set(Purchase.objects.values_list("payment_type", flat=True))),
    }


def revenue_of_rows(start, end, zone, *, currency=None, subscription=None, payment_type=None):
    """The truth, from the journal's rows in Python: per currency, gross / refunds / net of the
    local days start..end, and the e-wallet top-ups."""
    figures = defaultdict(lambda: dict.fromkeys(("gross", "refunds", "net", "top_ups"), 0))
    for row in JournalEntry.objects.all():
        day = row.booked_at.astimezone(zone).date()
        if not start <= day <= end:
            continue
        if currency and row.currency != currency:
            continue
        if subscription is not None and row.subscription_id != subscription.pk:
            continue
        if payment_type and row.payment_type != payment_type:
            continue
        money = figures[row.currency]
        if row.kind in CHARGE_KINDS:
            money["gross"] += row.amount
            money["net"] += row.amount
        elif row.kind in GIVEN_BACK_KINDS:
            money["refunds"] -= row.amount
            money["net"] += row.amount
        elif row.kind == K.CORRECTION:
            money["net"] += row.amount
        elif row.kind == K.WALLET_TOP_UP:
            money["top_ups"] += row.amount
    return {
        code: money
        for code, money in figures.items()
        if money["gross"] or money["refunds"] or money["net"]
    }


def revenue_only(figures: dict) -> dict:
    return {
        code: {name: Decimal(money[name]) for name in ("gross", "refunds", "net")}
        for code, money in figures.items()
        if money["gross"] or money["refunds"] or money["net"]
    }


def exported(client, query) -> dict:
    response = client.get(reverse("purchases:reports:journal"), {**query, "export": "csv"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    figures = defaultdict(lambda: dict.fromkeys(("gross", "refunds", "net", "top_ups"), 0))
    for row in csv.DictReader(io.StringIO(body, newline="")):
        money, amount = figures[row["Currency"]], Decimal(row["Amount"])
        if row["Kind"] in CHARGE_KINDS:
            money["gross"] += amount
        elif row["Kind"] in GIVEN_BACK_KINDS:
            money["refunds"] -= amount
        if row["Kind"] in (*CHARGE_KINDS, *GIVEN_BACK_KINDS, K.CORRECTION):
            money["net"] += amount
    return revenue_only(figures)


periods = st.one_of(
    st.tuples(
        st.integers(min_value=0, max_value=729).map(lambda n: FIRST_DAY + timedelta(days=n)),
        st.integers(min_value=0, max_value=120),
    ),
    st.tuples(
        st.sampled_from(CLOCK_CHANGES).flatmap(
            lambda day: st.integers(-3, 0).map(lambda n: day + timedelta(days=n))
        ),
        st.integers(min_value=0, max_value=6),
    ),
)


@FUZZ_SETTINGS
@given(
    zone=st.sampled_from(ZONES),
    period=periods,
    currency=st.sampled_from(["", "EUR", "USD", "JPY"]),
    subscription_index=st.one_of(st.none(), st.integers(min_value=0, max_value=50)),
    payment_type_index=st.one_of(st.none(), st.integers(min_value=0, max_value=10)),
    grouping=st.sampled_from(["period", "subscription", "payment_type"]),
    granularity=st.sampled_from(["day", "week", "month"]),
)
@example(
    zone="Europe/Berlin",
    period=(date(2026, 3, 27), 4),
    currency="",
    subscription_index=None,
    payment_type_index=None,
    grouping="period",
    granularity="day",
)
def test_the_report_the_journal_its_export_and_the_dashboard_agree(
    finance_user,
    generated_shop,
    zone,
    period,
    currency,
    subscription_index,
    payment_type_index,
    grouping,
    granularity,
):
    start, length = period
    end = start + timedelta(days=length)
    subscriptions, payment_types = generated_shop["subscriptions"], generated_shop["payment_types"]
    subscription = (
        subscriptions[subscription_index % len(subscriptions)]
        if subscription_index is not None
        else None
    )
    payment_type = (
        payment_types[payment_type_index % len(payment_types)]
        if payment_type_index is not None
        else ""
    )
    with override_settings(TIME_ZONE=zone), timezone.override(ZoneInfo(zone)):
        rebuild_days()
        assert_journal_matches_sources()  # the days, local to this zone, equal the journal
        truth = revenue_of_rows(
            start,
            end,
            ZoneInfo(zone),
            currency=currency,
            subscription=subscription,
            payment_type=payment_type,
        )
        client = Client()
        client.force_login(finance_user)
        filters = {
            "currency": currency,
            "subscription": subscription.code if subscription else "",
            "payment_type": payment_type,
        }
        report = client.get(
            reverse("purchases:reports:revenue"),
            {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "grouping": grouping,
                "period": granularity,
                **filters,
            },
        )
        assert report.status_code == 200
        assert report.context["rows"] is not None, report.context["form"].errors
        reported = revenue_only({row["currency"]: row for row in report.context["totals"]})
        assert reported == revenue_only(truth)

        query = {"booked_min": start.isoformat(), "booked_max": end.isoformat(), **filters}
        listed = client.get(reverse("purchases:reports:journal"), query).context["totals"]
        assert revenue_only(
            {
                row.currency: {"gross": row.gross, "refunds": row.refunds, "net": row.net}
                for row in listed
            }
        ) == revenue_only(truth)
        assert exported(client, query) == revenue_only(truth)
        top_ups = {code: money["top_ups"] for code, money in truth.items() if money["top_ups"]}
        if not subscription and not payment_type:
            assert {
                row.currency: row.wallet_top_ups for row in listed if row.wallet_top_ups
            } == top_ups

        # The rows themselves give what the days give (right after a change of time zone).
        from_days = selectors.money(
            start,
            end,
            grouping=grouping,
            period=granularity,
            subscription=subscription,
            currency=currency or None,
            payment_type=payment_type or None,
        )
        JournalDayZone.objects.all().delete()
        assert (
            selectors.money(
                start,
                end,
                grouping=grouping,
                period=granularity,
                subscription=subscription,
                currency=currency or None,
                payment_type=payment_type or None,
            )
            == from_days
        )
        rebuild_days()

        # The dashboard: today and the last 30 days, as the report has them.
        figures = dashboard_figures(now=NOW)
        today = timezone.localdate(NOW, ZoneInfo(zone))
        for first, attribute in ((today, "today"), (today - timedelta(days=29), "last_30_days")):
            expected = revenue_only(revenue_of_rows(first, today, ZoneInfo(zone)))
            shown = {
                f.currency: {
                    "gross": getattr(f, attribute).gross,
                    "refunds": getattr(f, attribute).refunds,
                    "net": getattr(f, attribute).net,
                }
                for f in figures["currencies"]
            }
            assert revenue_only(shown) == expected
