"""Renewal reports: contract transactions export (reference 003 fields), renewals per period,
live contracts with MRR, and the dashboard's renewal panels."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from purchases.journal import booking
from purchases.models import ContractTransaction, RecurringContract
from subscriptions.models import PricingModel
from tests.buyers.factories import AccessFactory
from tests.purchases.factories import offer_for_sale
from tests.purchases.test_reports import local, make_purchase, shop_time_zone  # noqa: F401

pytestmark = pytest.mark.django_db


def make_contract(
    *,
    price="10.00",
    currency="EUR",
    unit="months",
    count=1,
    status="active",
    ended_at=None,
    next_bill_date=None,
):
    subscription, pricing_model = offer_for_sale(price=price, currency=currency, recurring=True)
    PricingModel.objects.filter(pk=pricing_model.pk).update(
        recurrence_unit=unit, recurrence_count=count
    )
    purchase = make_purchase(
        created_at=local(2026, 1, 5),
        offer=(subscription, pricing_model),
        price=price,
        currency=currency,
    )
    access = AccessFactory(buyer=purchase.buyer, subscription=subscription)
    return RecurringContract.objects.create(
        recurrence_unit=unit,
        recurrence_count=count,
        purchase=purchase,
        buyer=purchase.buyer,
        subscription=subscription,
        pricing_model=pricing_model,
        access=access,
        amount=Decimal(price),
        currency=currency,
        payment_type="wallet",
        anchor=local(2026, 1, 5),
        next_bill_date=next_bill_date or local(2026, 4, 5),
        status=status,
        ended_at=ended_at,
    )


def charge(contract, *, when, period, attempt=1, approved=True):
    """A renewal charge attempt, booked in the journal when approved (as the engine does)."""
    made = ContractTransaction.objects.create(
        contract=contract,
        period=period,
        attempt=attempt,
        idempotency_key=f"{contract.code}-{period}-{attempt}",
        payment_pref="wallet",
        transaction_date=when,
        amount=contract.amount,
        currency=contract.currency,
        status="approved" if approved else "declined",
        pnref=f"PN{period}{attempt}",
        result_code="0" if approved else "51",
        response_message="Approved" if approved else "=Insufficient funds",
        auth_code="A1" if approved else "",
    )
    if approved:
        booking.book([booking.renewal_entry(made, contract)])
    return made


@pytest.fixture
def renewals():
    monthly = make_contract()
    charge(monthly, when=local(2026, 2, 5, 3), period=2)
    charge(monthly, when=local(2026, 3, 5, 3), period=3, approved=False)
    charge(monthly, when=local(2026, 3, 8, 3), period=3, attempt=2)  # recovered
    yearly = make_contract(price="120.00", unit="years", status="past_due")
    charge(yearly, when=local(2026, 3, 6, 3), period=2, approved=False)
    make_contract(price="1500", currency="JPY", unit="weeks", count=2)
    make_contract(status="expired", ended_at=local(2026, 3, 20))
    return monthly, yearly


def test_contract_transactions_export_has_the_reference_fields(client, finance_user, renewals):
    client.force_login(finance_user)
    response = client.get(
        reverse("purchases:reports:contract_transactions"),
        {"date_min": "2026-03-01", "date_max": "2026-03-31", "export": "csv"},
    )
    assert (
        'filename="contract-transactions_2026-03-01_to_2026-03-31.csv"'
        in (response["Content-Disposition"])
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = ContractTransaction.objects.filter(
        transaction_date__gte=local(2026, 3, 1, 0), transaction_date__lt=local(2026, 4, 1, 0)
    ).select_related("contract")
    assert sorted(row["PNRef"] + row["Contract_Key"] for row in rows) == sorted(
        t.pnref + t.contract.code for t in expected
    )
    declined = next(
        row
        for row in rows
        if row["Status"] == "declined"
        and row["Attempt"] == "1"
        and row["Transaction_Amount"] == "10.00"
    )
    assert declined["ResponseMessage"] == "'=Insufficient funds"
    assert declined["Transaction_Date (America/St_Johns)"] == "2026-03-05 03:00:00"
    assert declined["Convenience_Fee"] == "0.00"
    assert list(rows[0])[:10] == [
        "Contract_Key",
        "PaymentPref",
        "Transaction_Date (America/St_Johns)",
        "Transaction_Amount",
        "Convenience_Fee",
        "Currency",
        "PNRef",
        "ResultCode",
        "ResponseMessage",
        "AuthCode",
    ]
    page = client.get(reverse("purchases:reports:contract_transactions"), {"status": "declined"})
    assert page.status_code == 200


def test_renewals_per_month_count_attempts_successes_failures_recoveries_and_churn(
    client, finance_user, renewals
):
    client.force_login(finance_user)
    response = client.get(
        reverse("purchases:reports:renewals"),
        {"start": "2026-02-01", "end": "2026-03-31", "period": "month"},
    )
    assert response.status_code == 200
    rows = [
        (
            r["period"],
            r["currency"],
            r["attempted"],
            r["succeeded"],
            r["failed"],
            r["recovered"],
            r["churned"],
            r["revenue"],
        )
        for r in response.context["rows"]
    ]
    assert rows == [
        ("2026-02-01", "EUR", 1, 1, 0, 0, 0, Decimal("10.00")),
        ("2026-03-01", "EUR", 3, 1, 2, 1, 1, Decimal("10.00")),
    ]


def test_live_contracts_and_mrr_per_currency(client, finance_user, renewals):
    client.force_login(finance_user)
    contracts = client.get(reverse("purchases:reports:renewals")).context["contracts"]
    by_currency = {row["currency"]: row for row in contracts}
    # 10.00 a month + 120.00 a year (10.00 a month), the expired one not counted.
    assert (by_currency["EUR"]["contracts"], by_currency["EUR"]["past_due"]) == (2, 1)
    assert by_currency["EUR"]["mrr"] == Decimal("20.00")
    # 1500 JPY every two weeks: 1500 / 2 x 52.1775 / 12 = 3261.09... -> 3261
    assert by_currency["JPY"]["mrr"] == Decimal("3261")


def test_renewals_download_as_csv(client, finance_user, renewals):
    client.force_login(finance_user)
    response = client.get(
        reverse("purchases:reports:renewals"),
        {"start": "2026-03-01", "end": "2026-03-31", "period": "month", "format": "csv"},
    )
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines() == [
        "Period,Currency,Attempted,Succeeded,Failed,Recovered by retry,Churned,Renewal revenue",
        "2026-03-01,EUR,3,1,2,1,1,10.00",
    ]


def test_renewal_reports_refuse_shop_staff(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("purchases:reports:renewals")).status_code == 403
    assert client.get(reverse("purchases:reports:contract_transactions")).status_code == 403


def test_dashboard_shows_renewals_due_past_due_and_the_renewals_chart(client, finance_user):
    from django.utils import timezone

    now = timezone.now()
    due = make_contract(next_bill_date=now - timedelta(minutes=5))
    make_contract(next_bill_date=now + timedelta(days=40))
    make_contract(status="past_due")
    charge(due, when=now - timedelta(days=2), period=2)
    charge(due, when=now - timedelta(days=3), period=3, approved=False)
    charge(due, when=now - timedelta(days=60), period=4)  # only in the 90-day chart
    client.force_login(finance_user)
    response = client.get(reverse("home"))
    dashboard = response.context["dashboard"]
    assert (dashboard["renewals_due_today"], dashboard["renewals_past_due"]) == (1, 1)
    assert (dashboard["renewals_succeeded"], dashboard["renewals_failed"]) == (1, 1)
    page = response.content.decode()
    chart = page[page.index('<svg class="renewals-chart"') :]
    assert chart[: chart.index("</svg>")].count("<rect ") == 60
    dashboard_90 = client.get(reverse("home"), {"days": 90}).context["dashboard"]
    assert dashboard_90["renewals_succeeded"] == 2


def test_revenue_summary_adds_renewal_charges_to_gross(client, finance_user, renewals):
    client.force_login(finance_user)
    url = reverse("purchases:reports:revenue")
    query = {"start": "2026-01-01", "end": "2026-03-31", "period": "month", "currency": "EUR"}
    rows = client.get(url, query).context["rows"]
    assert [
        (r["period"], r["sales_count"], r["sales"], r["renewals_count"], r["renewals"], r["net"])
        for r in rows
    ] == [
        ("2026-01-01", 3, Decimal("140.00"), 0, Decimal("0"), Decimal("140.00")),
        ("2026-02-01", 0, Decimal("0"), 1, Decimal("10.00"), Decimal("10.00")),
        ("2026-03-01", 0, Decimal("0"), 1, Decimal("10.00"), Decimal("10.00")),
    ]
    by_type = client.get(url, {**query, "grouping": "payment_type"}).context["rows"]
    assert [(r["payment_type"], r["gross"], r["renewals"], r["from_wallet"]) for r in by_type] == [
        ("wallet", Decimal("160.00"), Decimal("20.00"), Decimal("160.00"))
    ]
    monthly = renewals[0]
    by_subscription = client.get(
        url, {**query, "grouping": "subscription", "subscription": monthly.subscription.code}
    ).context["rows"]
    assert [(r["subscription__code"], r["renewals_count"]) for r in by_subscription] == [
        (monthly.subscription.code, 2)
    ]
    body = b"".join(client.get(url, {**query, "format": "csv"}).streaming_content).decode()
    assert body.splitlines()[0] == (
        "Period,Currency,Sales,Sales amount,Renewal charges,Renewal charges amount,Gross,"
        "Refunds,Refunds amount,Corrections,Net,Of gross paid from e-wallets"
    )
    assert body.splitlines()[2] == "2026-02-01,EUR,0,0.00,1,10.00,10.00,0,0.00,0.00,10.00,10.00"


def test_mrr_of_two_yearly_contracts_is_exact_on_every_database(client, finance_user):
    make_contract(price="99.00", currency="USD", unit="years")
    make_contract(price="99.00", currency="USD", unit="years")
    client.force_login(finance_user)
    (usd,) = client.get(reverse("purchases:reports:renewals")).context["contracts"]
    assert (usd["contracts"], usd["mrr"]) == (2, Decimal("16.50"))
