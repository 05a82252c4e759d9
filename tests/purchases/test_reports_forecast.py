"""The renewal forecast and the MRR movements: figures on small known sets (in the shop's time
zone, currencies apart), permissions, empty states, bad input and the downloads."""

import csv
import io
import random
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from purchases.journal import booking
from purchases.models import ContractTransaction, RecurringContract
from purchases.recurrence import period_end
from purchases.reports import forecast, mrr
from subscriptions.models import PricingModel
from tests.buyers.factories import AccessFactory
from tests.factories import UserFactory
from tests.purchases.factories import offer_for_sale
from tests.purchases.test_reports import SHOP_TZ, local, make_purchase, shop_time_zone  # noqa: F401

pytestmark = pytest.mark.django_db
FORECAST_URL = "purchases:reports:renewal_forecast"
MRR_URL = "purchases:reports:mrr_movements"


def contract(
    *,
    amount="10.00",
    currency="EUR",
    unit="months",
    count=1,
    created_at=None,
    anchor=None,
    periods_paid=1,
    next_bill_date=None,
    status="active",
    ended_at=None,
    offer=None,
    buyer=None,
    **fields,
):
    """A contract as the purchase service starts it: period 1 paid at `anchor`, next bill at
    the end of the periods paid, unless told otherwise."""
    created_at = created_at or local(2026, 1, 5)
    anchor = anchor or created_at
    subscription, pricing_model = offer or offer_for_sale(
        price=amount, currency=currency, recurring=True
    )
    PricingModel.objects.filter(pk=pricing_model.pk).update(
        recurrence_unit=unit, recurrence_count=count
    )
    purchase = make_purchase(
        created_at=created_at,
        offer=(subscription, pricing_model),
        price=amount,
        currency=currency,
        buyer=buyer,
    )
    if next_bill_date is None:
        probe = RecurringContract(recurrence_unit=unit, recurrence_count=count)
        next_bill_date = period_end(probe, anchor, periods_paid)
    return RecurringContract.objects.create(
        recurrence_unit=unit,
        recurrence_count=count,
        purchase=purchase,
        buyer=purchase.buyer,
        subscription=subscription,
        pricing_model=pricing_model,
        access=AccessFactory(buyer=purchase.buyer, subscription=subscription),
        amount=Decimal(amount),
        currency=currency,
        payment_type="wallet",
        anchor=anchor,
        periods_paid=periods_paid,
        next_bill_date=next_bill_date,
        status=status,
        ended_at=ended_at,
        created_at=created_at,
        **fields,
    )


def charge(on, when, *, period, status="approved", amount=None, attempt=1):
    """A renewal charge attempt; an approved one is booked in the journal as the engine does."""
    made = ContractTransaction.objects.create(
        contract=on,
        period=period,
        attempt=attempt,
        idempotency_key=f"contract:{on.code}:period:{period}:attempt:{attempt}",
        payment_pref="wallet",
        transaction_date=when,
        amount=Decimal(amount) if amount is not None else on.amount,
        currency=on.currency,
        status=status,
    )
    if status == "approved":
        booking.book([booking.renewal_entry(made, on)])
    return made


def by_day(result) -> dict:
    return {(row.day.isoformat(), row.currency): (row.renewals, row.amount) for row in result.days}


# --- The renewal forecast ---------------------------------------------------------------------


NOW = local(2026, 3, 1, 9, 0)  # a Sunday morning in St John's (UTC-3:30)


def test_a_charge_counts_on_its_local_day_in_the_shops_time_zone():
    # 23:30 on 10 March in St John's is 03:00 on 11 March in UTC.
    late = contract(next_bill_date=local(2026, 3, 10, 23, 30), unit="years")
    result = forecast.renewal_forecast(now=NOW)
    assert by_day(result) == {("2026-03-10", "EUR"): (1, Decimal("10.00"))}
    assert late.next_bill_date.astimezone(ZoneInfo("UTC")).day == 11
    assert (result.first.isoformat(), result.last.isoformat()) == ("2026-03-01", "2026-05-29")


def test_two_currencies_stay_apart_on_the_same_day():
    contract(next_bill_date=local(2026, 3, 5), amount="10.00", currency="EUR", unit="years")
    contract(next_bill_date=local(2026, 3, 5), amount="7.50", currency="EUR", unit="years")
    contract(next_bill_date=local(2026, 3, 5), amount="99", currency="JPY", unit="years")
    result = forecast.renewal_forecast(now=NOW)
    assert by_day(result) == {
        ("2026-03-05", "EUR"): (2, Decimal("17.50")),
        ("2026-03-05", "JPY"): (1, Decimal("99")),
    }
    assert [(t["currency"], t["renewals"], t["amount"]) for t in result.totals()] == [
        ("EUR", 2, Decimal("17.50")),
        ("JPY", 1, Decimal("99")),
    ]


def test_a_monthly_contract_renews_on_its_anchors_day_and_month_ends_come_back():
    # Started on 31 January: billed 28 February (already paid), then 31 March, 30 April, 31 May.
    contract(anchor=local(2026, 1, 31, 12), periods_paid=2, next_bill_date=local(2026, 3, 31, 12))
    result = forecast.renewal_forecast(now=NOW)
    assert sorted(day for day, _ in by_day(result)) == ["2026-03-31", "2026-04-30"]
    # 29 May is the horizon's last day: 31 May is outside it.


def test_a_weekly_contract_counts_at_each_charge_in_the_90_days():
    contract(unit="weeks", anchor=local(2026, 2, 26, 12), periods_paid=1)  # next: 5 March
    result = forecast.renewal_forecast(now=NOW)
    days = sorted(day for day, _ in by_day(result))
    assert days[0] == "2026-03-05" and len(days) == 13  # 5 March .. 28 May, every 7 days
    assert days[-1] == "2026-05-28"


def test_stopping_ended_and_overdue_contracts():
    contract(next_bill_date=local(2026, 3, 3), unit="years", cancel_at_period_end=True)
    contract(next_bill_date=local(2026, 3, 3), unit="years", status="cancelled")
    contract(next_bill_date=local(2026, 3, 3), unit="years", status="expired")
    # Past due: charged again at its next retry, not on its old bill date.
    contract(
        next_bill_date=local(2026, 2, 20),
        unit="years",
        status="past_due",
        next_retry_at=local(2026, 3, 4),
        amount="5.00",
    )
    # Due already (the renewal job has not run yet): counts today.
    contract(next_bill_date=local(2026, 2, 28, 22), unit="years", amount="3.00")
    assert by_day(forecast.renewal_forecast(now=NOW)) == {
        ("2026-03-01", "EUR"): (1, Decimal("3.00")),
        ("2026-03-04", "EUR"): (1, Decimal("5.00")),
    }


def test_a_paused_contract_is_not_forecast_and_stays_live_in_mrr():
    paused = contract(
        next_bill_date=local(2026, 3, 5),
        unit="weeks",
        created_at=local(2026, 1, 5),
        status="paused",
        paused_from=local(2026, 2, 20),
        resume_at=local(2026, 4, 20),
    )
    assert forecast.renewal_forecast(now=NOW).days == []
    march = {row.month.month: row for row in mrr.mrr_movements(months=3, now=NOW)}[3]
    assert (march.live_at_start, march.churned_count) == (1, 0)
    assert paused.status == RecurringContract.Status.PAUSED


def test_expected_declines_and_revenue_come_from_the_last_90_days_decline_rate():
    due = contract(next_bill_date=local(2026, 3, 5), amount="20.00", unit="years")
    for day, status in [(10, "approved"), (11, "approved"), (12, "approved"), (13, "declined")]:
        charge(due, local(2026, 2, day), period=day, status=status)
    charge(due, local(2025, 11, 1), period=1, status="declined")  # before the 90 days
    charge(due, local(2026, 2, 27), period=30, status="pending")  # no answer yet
    other = contract(next_bill_date=local(2026, 3, 5), amount="8", currency="USD", unit="years")
    charge(other, local(2026, 2, 10), period=2, status="declined")
    result = forecast.renewal_forecast(now=NOW)
    assert {code: (r.attempted, r.declined) for code, r in result.rates.items()} == {
        "EUR": (4, 1),
        "USD": (1, 1),
    }
    rows = {row["currency"]: row for row in result.rows()}
    assert rows["EUR"]["decline_rate"] == Decimal("25.00")
    assert rows["EUR"]["expected_declines"] == Decimal("0.25")  # 1 charge x 25 %
    assert rows["EUR"]["expected_revenue"] == Decimal("15.00")
    assert rows["USD"]["expected_revenue"] == Decimal("0.00")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL path is PostgreSQL's")
def test_the_sql_and_python_paths_agree_on_random_contracts():
    rng = random.Random(21)
    offer = offer_for_sale(price="10.00", recurring=True)
    for _ in range(60):
        unit = rng.choice(["days", "weeks", "months", "months", "years"])
        count = rng.choice([1, 1, 2, 3])
        # Anchors near month ends and near local midnight, over the last two years.
        anchor = local(2026, 2, 28, 12) - timedelta(
            days=rng.randrange(0, 730), minutes=rng.randrange(0, 24 * 60)
        )
        probe = RecurringContract(recurrence_unit=unit, recurrence_count=count)
        periods_paid = 0
        while period_end(probe, anchor, periods_paid + 1) < NOW - timedelta(
            days=rng.choice([0, 3])
        ):
            periods_paid += 1
        status = rng.choice(["active", "active", "past_due"])
        contract(
            unit=unit,
            count=count,
            anchor=anchor,
            periods_paid=periods_paid,
            status=status,
            next_retry_at=NOW + timedelta(hours=rng.randrange(1, 200))
            if status == "past_due"
            else None,
            cancel_at_period_end=rng.random() < 0.1,
            currency=rng.choice(["EUR", "USD"]),
            amount=str(rng.randrange(1, 50)),
            offer=offer,
        )
    today = datetime.combine(NOW.date(), datetime.min.time(), ZoneInfo(SHOP_TZ))
    until = today + timedelta(days=90)
    in_python = forecast._charges_in_python(forecast._forecast_contracts(None), NOW, today, until)
    in_sql = forecast._charges_in_sql(None, NOW, today, until)
    assert in_sql == in_python and len(in_sql) > 30


def test_forecast_page_shows_calendar_chart_and_table(client, finance_user):
    now = timezone.now()
    contract(next_bill_date=now + timedelta(days=3), unit="years", amount="12.34")
    contract(next_bill_date=now + timedelta(days=3), unit="years", amount="5", currency="USD")
    client.force_login(finance_user)
    response = client.get(reverse(FORECAST_URL))
    assert response.status_code == 200
    page = response.content.decode()
    day = timezone.localdate(now + timedelta(days=3)).isoformat()
    assert f'data-testid="calendar-{day}-EUR">1 · 12.34 EUR' in page
    assert f'data-testid="calendar-{day}-USD">1 · 5.00 USD' in page
    assert 'data-testid="forecast-chart-EUR"' in page and "<svg" in page
    assert "<title>Renewals due per day in EUR" in page
    assert "<script" not in page.split('data-testid="forecast-help"')[1].split("</section>")[0]


def test_the_figures_take_the_same_queries_for_one_contract_or_many(django_assert_num_queries):
    contract(next_bill_date=local(2026, 3, 5), unit="weeks", created_at=local(2026, 2, 26))
    with CaptureQueriesContext(connection) as one:
        forecast.renewal_forecast(now=NOW)
        mrr.mrr_movements(months=6, now=NOW)
    for day in range(1, 20):
        contract(next_bill_date=local(2026, 3, day), created_at=local(2026, 2, day), unit="weeks")
    with django_assert_num_queries(len(one.captured_queries)):
        forecast.renewal_forecast(now=NOW)
        mrr.mrr_movements(months=6, now=NOW)


def test_forecast_empty_state(client, finance_user):
    client.force_login(finance_user)
    response = client.get(reverse(FORECAST_URL))
    assert response.status_code == 200
    assert b'data-testid="forecast-empty"' in response.content
    assert b"No renewal charges in the last 90 days" in response.content


def test_forecast_refuses_an_unknown_currency_and_shows_no_figures(client, finance_user):
    contract(next_bill_date=timezone.now() + timedelta(days=3), unit="years")
    client.force_login(finance_user)
    response = client.get(reverse(FORECAST_URL), {"currency": "XXX", "format": "csv"})
    assert response.status_code == 200  # the page with the message, not a file
    assert response.context["rows"] is None
    assert "Select a valid choice" in response.content.decode()


def test_forecast_downloads_csv_and_xlsx(client, finance_user):
    now = timezone.now()
    contract(next_bill_date=now + timedelta(days=2), unit="years", amount="12.30")
    client.force_login(finance_user)
    response = client.get(reverse(FORECAST_URL), {"format": "csv"})
    first = timezone.localdate(now)
    assert response["Content-Disposition"] == (
        f'attachment; filename="renewal-forecast_{first}_to_{first + timedelta(days=89)}.csv"'
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["Day", "Currency", "Renewals due", "Amount due"]
    assert rows[1] == [
        timezone.localdate(now + timedelta(days=2)).isoformat(),
        "EUR",
        "1",
        "12.30",
        "0.00",
        "0.00",
        "12.30",
    ]
    response = client.get(reverse(FORECAST_URL), {"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert [cell.value for cell in sheet[2]][1:4] == ["EUR", 1, 12.3]


# --- MRR movements and churn ------------------------------------------------------------------


MRR_NOW = local(2026, 6, 15)


@pytest.fixture
def history():
    """A known history from January to June 2026, EUR and USD."""
    contract(amount="20.00", created_at=local(2025, 12, 1))  # live all along
    churning = contract(amount="30.00", created_at=local(2025, 11, 3))
    RecurringContract.objects.filter(pk=churning.pk).update(
        status="cancelled", ended_at=local(2026, 5, 20)
    )
    contract(amount="10.00", created_at=local(2026, 3, 10))  # new in March: 10.00
    contract(amount="120.00", unit="years", created_at=local(2026, 4, 5))  # new in April: 10.00
    # 1 May 00:30 in St John's is still April in UTC: new in May, in the shop's time.
    contract(amount="4.00", unit="weeks", created_at=local(2026, 5, 1, 0, 30))
    # The same buyer comes back to the same subscription in June: reactivated, 30.00.
    contract(
        amount="30.00",
        created_at=local(2026, 6, 2),
        buyer=churning.buyer,
        offer=(churning.subscription, churning.pricing_model),
    )
    changing = contract(amount="15.00", created_at=local(2025, 12, 20))
    charge(changing, local(2026, 1, 20), period=2, amount="10.00")
    charge(changing, local(2026, 2, 20), period=3, amount="10.00")  # same: no movement
    charge(changing, local(2026, 3, 20), period=4, amount="15.00")  # expansion 5.00
    charge(changing, local(2026, 4, 20), period=5, amount="12.00")  # contraction 3.00
    charge(changing, local(2026, 5, 20), period=6, amount="15.00", status="declined")
    # Its price went up before January: the first charge at the new price, in January, is an
    # expansion against December's charge (before the months shown).
    raised = contract(amount="12.00", created_at=local(2025, 11, 10))
    charge(raised, local(2025, 12, 10), period=2, amount="9.00")
    charge(raised, local(2026, 1, 10), period=3, amount="12.00")
    dollars = contract(amount="9.00", currency="USD", created_at=local(2026, 2, 14))
    RecurringContract.objects.filter(pk=dollars.pk).update(
        status="expired", ended_at=local(2026, 4, 30)
    )


def movements(currency):
    return {
        row.month.strftime("%Y-%m"): row
        for row in mrr.mrr_movements(months=6, now=MRR_NOW)
        if row.currency == currency
    }


def test_each_mrr_movement_kind_from_a_known_history(history):
    eur = movements("EUR")
    assert list(eur) == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert (eur["2026-03"].new_count, eur["2026-03"].new) == (1, Decimal("10.00"))
    assert (eur["2026-04"].new_count, eur["2026-04"].new) == (1, Decimal("10.00"))
    # Weekly 4.00 a month: 4 x 52.1775 / 12.
    assert quantize_eur(eur["2026-05"].new) == Decimal("17.39")
    assert (eur["2026-06"].reactivated_count, eur["2026-06"].reactivated) == (1, Decimal("30"))
    assert eur["2026-06"].new_count == 0
    assert (eur["2026-03"].expansion_count, eur["2026-03"].expansion) == (1, Decimal("5.00"))
    assert (eur["2026-04"].contraction_count, eur["2026-04"].contraction) == (1, Decimal("3.00"))
    assert eur["2026-02"].expansion_count == eur["2026-02"].contraction_count == 0
    assert (eur["2026-01"].expansion_count, eur["2026-01"].expansion) == (1, Decimal("3.00"))
    assert (eur["2026-05"].churned_count, eur["2026-05"].churned) == (1, Decimal("30.00"))
    assert eur["2026-04"].net == Decimal("7.00")  # 10.00 new - 3.00 contraction


def test_churn_rate_is_churned_over_live_at_the_months_start(history):
    eur = movements("EUR")
    # Live on 1 January: the 20.00, the 30.00, the changing and the raised one.
    assert [eur[m].live_at_start for m in sorted(eur)] == [4, 4, 4, 5, 6, 6]
    assert eur["2026-05"].churn_rate == Decimal("16.67")  # 1 of 6
    assert eur["2026-04"].churn_rate == Decimal("0.00")
    usd = movements("USD")
    assert usd["2026-01"].churn_rate is None  # nothing live at its start
    assert (usd["2026-02"].new_count, usd["2026-04"].churned_count) == (1, 1)
    assert usd["2026-04"].churn_rate == Decimal("100.00")
    assert all(row.currency == "USD" for row in usd.values())


def quantize_eur(amount):
    return amount.quantize(Decimal("0.01"))


def test_mrr_page_shows_charts_and_table_and_downloads(client, finance_user):
    now = timezone.now()
    contract(amount="10.00", created_at=now - timedelta(minutes=5))
    client.force_login(finance_user)
    response = client.get(reverse(MRR_URL), {"months": "6"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="mrr-chart-EUR"' in page and 'data-testid="churn-chart-EUR"' in page
    assert "<title>MRR movements per month in EUR</title>" in page
    assert "Contracts started in the month" in page  # the definitions
    assert len(response.context["movements"]) == 6
    response = client.get(reverse(MRR_URL), {"months": "6", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == [
        "Month",
        "Currency",
        "Live contracts at start",
        "New contracts",
        "New MRR",
    ]
    assert rows[-1][:5] == [
        timezone.localdate(now).replace(day=1).isoformat(),
        "EUR",
        "0",
        "1",
        "10.00",
    ]
    response = client.get(reverse(MRR_URL), {"months": "6", "format": "xlsx"})
    first = mrr.month_starts(timezone.localdate(), 6)[0]
    assert response["Content-Disposition"] == (
        f'attachment; filename="mrr-movements_{first}_to_{timezone.localdate()}.xlsx"'
    )
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.max_row >= 7


def test_mrr_page_opens_on_12_months_and_writes_no_minus_before_zero(client, finance_user):
    contract(amount="10.00", created_at=timezone.now() - timedelta(minutes=5))
    client.force_login(finance_user)
    response = client.get(reverse(MRR_URL))
    page = response.content.decode()
    assert len(response.context["movements"]) == 12
    assert '<option value="12" selected>' in page
    assert "−0.00" not in page


def test_mrr_empty_state_and_bad_months(client, finance_user):
    client.force_login(finance_user)
    response = client.get(reverse(MRR_URL))
    assert b'data-testid="mrr-empty"' in response.content
    response = client.get(reverse(MRR_URL), {"months": "7", "format": "xlsx"})
    assert response.status_code == 200 and response.context["rows"] is None
    assert "Select a valid choice" in response.content.decode()


# --- Who may see them -------------------------------------------------------------------------


@pytest.mark.parametrize("url", [FORECAST_URL, MRR_URL])
def test_finance_and_admins_see_them_staff_get_403(client, finance_user, staff_user, url):
    client.force_login(staff_user)
    assert client.get(reverse(url)).status_code == 403
    assert client.get(reverse(url), {"format": "csv"}).status_code == 403
    client.force_login(finance_user)
    assert client.get(reverse(url)).status_code == 200
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get(reverse(url)).status_code == 200
    client.logout()
    assert client.get(reverse(url)).status_code == 302


def test_linked_from_the_dashboard_and_the_menu_for_finance_only(client, finance_user, staff_user):
    client.force_login(finance_user)
    page = client.get(reverse("home")).content.decode()
    assert 'data-testid="dashboard-forecast-link"' in page
    assert reverse(FORECAST_URL) in page and reverse(MRR_URL) in page
    client.force_login(staff_user)
    page = client.get(reverse("home")).content.decode()
    assert reverse(FORECAST_URL) not in page and reverse(MRR_URL) not in page
