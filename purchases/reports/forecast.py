"""The renewal forecast for finance: the renewal charges due in the next 90 days of the shop, by
local day and currency, with the declines to expect from the last 90 days' decline rate.

- Which contracts: the live ones (active or past due). A contract that stops at its period's end
  (`cancel_at_period_end`) is charged no more: its next bill date is its end, so it is left out;
  so is a paused one (status paused: not charged until it resumes, and resuming moves its bill).
- When: an active contract's next charge is its next bill date; a past-due one's is its next
  retry (the same period, charged again). Later charges follow the contract's recurrence counted
  from its anchor (purchases.recurrence: month ends come back), so a weekly contract counts about
  13 times in 90 days and a yearly one at most once. A charge already due (the renewal job has
  not run yet, or a retry is late) counts today; periods missed beyond it (a contract far behind
  in its retries) are not forecast: the later charges are the periods after the one due, at most
  as many as the recurrence fits in 90 days (MAX_CHARGES), and only those from today on. Dunning
  ends a contract that far behind rather than catching its periods up. Each charge counts on
  its local day in the shop's time zone.
- How much: the contract's amount each period, per currency (never summed across currencies).
- Declines: the renewal charges of the last 90 local days (today included) the gateways
  answered, declined / attempted, per currency: approved charges from the money journal's daily
  totals, declined attempts from the contract transactions (retries included: each declined
  attempt counts). Expected declines = charges x rate; expected revenue = amount x (1 - rate).

On PostgreSQL the charges are expanded and summed per day in one statement (CHARGES_SQL: the
same month arithmetic in UTC as `period_end`, on contracts grouped first); elsewhere (SQLite)
per contract in Python with `period_end`. A test holds the two equal on random contracts.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from core.money import quantize

from ..journal import selectors
from ..journal.booking import shop_zone
from ..journal.models import Kind
from ..models import ContractTransaction, RecurringContract
from ..recurrence import period_end

HORIZON_DAYS = 90
DECLINE_WINDOW_DAYS = 90
# The most charges of one contract in the horizon, per recurrence unit (for recurrence_count 1).
MAX_CHARGES = {"days": HORIZON_DAYS + 1, "weeks": HORIZON_DAYS // 7 + 2, "months": 4, "years": 1}


@dataclass
class DeclineRate:
    """One currency's renewal charge attempts over the decline window."""

    currency: str
    attempted: int = 0
    declined: int = 0

    @property
    def rate(self) -> Decimal:
        if not self.attempted:
            return Decimal(0)
        return Decimal(self.declined) / Decimal(self.attempted)

    @property
    def percent(self) -> Decimal:
        return (self.rate * 100).quantize(Decimal("0.01"))


@dataclass
class ForecastDay:
    """One local day's renewal charges in one currency."""

    day: date
    currency: str
    renewals: int = 0
    amount: Decimal = Decimal(0)
    decline_rate: Decimal = Decimal(0)

    @property
    def expected_declines(self) -> Decimal:
        return (Decimal(self.renewals) * self.decline_rate).quantize(Decimal("0.01"))

    @property
    def expected_revenue(self) -> Decimal:
        return quantize(self.amount * (1 - self.decline_rate), self.currency)

    def as_row(self) -> dict:
        return {
            "day": self.day,
            "currency": self.currency,
            "renewals": self.renewals,
            "amount": quantize(self.amount, self.currency),
            "decline_rate": (self.decline_rate * 100).quantize(Decimal("0.01")),
            "expected_declines": self.expected_declines,
            "expected_revenue": self.expected_revenue,
        }


@dataclass
class Forecast:
    """The forecast's days (first..last, local), its rows per day and currency, the decline
    rates and the totals per currency."""

    first: date
    last: date
    days: list[ForecastDay] = field(default_factory=list)
    rates: dict[str, DeclineRate] = field(default_factory=dict)

    @property
    def currencies(self) -> list[str]:
        return sorted({row.currency for row in self.days} | set(self.rates))

    def totals(self) -> list[dict]:
        totals: dict[str, ForecastDay] = {}
        for row in self.days:
            total = totals.setdefault(
                row.currency,
                ForecastDay(self.first, row.currency, decline_rate=row.decline_rate),
            )
            total.renewals += row.renewals
            total.amount += row.amount
        return [totals[code].as_row() for code in sorted(totals)]

    def rows(self) -> list[dict]:
        return [row.as_row() for row in self.days]


def decline_rates(*, now: datetime, currency: str | None = None) -> dict[str, DeclineRate]:
    """Per currency: the renewal charges of the DECLINE_WINDOW_DAYS local days to today
    (included) that the gateways answered: approved ones from the money journal's daily totals
    (one row a day and currency, as the dashboard reads them), declined ones from the contract
    transactions (retries included: each declined attempt counts)."""
    today = timezone.localdate(now, shop_zone())
    first = today - timedelta(days=DECLINE_WINDOW_DAYS - 1)
    rates = {
        row.currency: DeclineRate(row.currency, attempted=row.renewals_count)
        for row in selectors.money(
            first, today, grouping=None, currency=currency, kinds=[Kind.RENEWAL]
        )
        if row.renewals_count
    }
    declined = ContractTransaction.objects.filter(
        status=ContractTransaction.Status.DECLINED,
        transaction_date__gte=selectors.midnight(first),
        transaction_date__lt=now,
    )
    if currency:
        declined = declined.filter(currency=currency)
    for row in declined.order_by().values("currency").annotate(declined=Count("pk")):
        rate = rates.setdefault(row["currency"], DeclineRate(row["currency"]))
        rate.declined = row["declined"]
        rate.attempted += row["declined"]
    return rates


def _forecast_contracts(currency: str | None):
    contracts = RecurringContract.objects.filter(
        status__in=RecurringContract.LIVE_STATUSES, cancel_at_period_end=False
    )
    if currency:
        contracts = contracts.filter(currency=currency)
    return contracts


# Each contract's next charge (k = 0) is summed per local day straight from the contracts. The
# later charges (k >= 1: contracts renewing more often than the horizon) are expanded per group
# of contracts with the same bill date to the quarter-hour (every zone's offset is a multiple
# of 15 minutes, so this never moves a charge to another local day), recurrence and anchor day
# of the month (month ends come back): a few thousand groups, not a row per contract and
# charge. A later charge is the bill date's month plus k periods, on the anchor's day (or the
# month's last), at the bill date's time: the same as anchor + (periods paid + k) periods, as
# the renewal engine keeps next_bill_date = anchor + periods paid x the recurrence.
CHARGES_SQL = """
    WITH live AS (
        SELECT c.currency, c.amount, c.status, c.next_retry_at, c.next_bill_date, c.anchor,
               c.recurrence_unit, c.recurrence_count
        FROM purchases_recurringcontract AS c
        WHERE c.status IN ('active', 'past_due') AND NOT c.cancel_at_period_end
          AND (%(currency)s::text IS NULL OR c.currency = %(currency)s::text)
    ), grouped AS (
        SELECT currency, recurrence_unit AS unit, GREATEST(recurrence_count, 1) AS every,
               date_bin('15 minutes', next_bill_date, TIMESTAMPTZ '2000-01-01 00:00:00+00')
                   AT TIME ZONE 'UTC' AS base,
               CASE WHEN recurrence_unit IN ('months', 'years')
                    THEN extract(day FROM anchor AT TIME ZONE 'UTC')::int ELSE 0 END
                   AS anchor_day,
               count(*) AS renewals, sum(amount) AS amount
        FROM live
        -- Only contracts with a later charge before the horizon's end can have one: a period
        -- lasts at least its days, 28 days a month, 365 a year.
        WHERE next_bill_date < %(until)s - make_interval(days => recurrence_count * CASE
            recurrence_unit WHEN 'days' THEN 1 WHEN 'weeks' THEN 7 WHEN 'months' THEN 28
            ELSE 365 END)
        GROUP BY 1, 2, 3, 4, 5
    ), later AS (
        SELECT currency, renewals, amount,
               CASE WHEN unit = 'days' THEN (base + make_interval(days => every * k))
                        AT TIME ZONE 'UTC'
                    WHEN unit = 'weeks' THEN (base + make_interval(weeks => every * k))
                        AT TIME ZONE 'UTC'
                    ELSE (month_start + make_interval(days => LEAST(
                              anchor_day,
                              extract(day FROM month_start + interval '1 month - 1 day')::int
                          ) - 1) + base::time) AT TIME ZONE 'UTC'
               END AS due
        FROM grouped
        CROSS JOIN LATERAL generate_series(
            1, CASE unit WHEN 'days' THEN %(days)s WHEN 'weeks' THEN %(weeks)s
                         WHEN 'months' THEN %(months)s ELSE %(years)s END / every
        ) AS k
        CROSS JOIN LATERAL (
            SELECT date_trunc('month', base) + make_interval(
                months => every * k * CASE unit WHEN 'years' THEN 12 ELSE 1 END
            ) AS month_start
        ) AS months
    ), days AS (
        SELECT (GREATEST(CASE WHEN status = 'past_due'
                              THEN COALESCE(next_retry_at, next_bill_date)
                              ELSE next_bill_date END, %(now)s)
                AT TIME ZONE %(zone)s)::date AS day,
               currency, count(*) AS renewals, sum(amount) AS amount
        FROM live
        WHERE next_bill_date < %(until)s OR next_retry_at < %(until)s
        GROUP BY 1, 2
        UNION ALL
        SELECT (due AT TIME ZONE %(zone)s)::date AS day, currency, sum(renewals), sum(amount)
        FROM later
        WHERE due >= %(today)s AND due < %(until)s
        GROUP BY 1, 2
    )
    SELECT day, currency, sum(renewals)::int AS renewals, sum(amount) AS amount
    FROM days
    WHERE day < %(last_day)s
    GROUP BY 1, 2
"""


def _charges_in_sql(
    currency: str | None, now: datetime, today: datetime, until: datetime
) -> dict[tuple, list]:
    """The same filter as _forecast_contracts, written out for the statement."""
    with transaction.atomic(), connection.cursor() as cursor:
        # The planner guesses generate_series's rows a group too high, so its cost crosses
        # jit_above_cost and compiling the expressions takes seconds (measured on the 1M shop)
        # for a statement that runs in milliseconds without.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            CHARGES_SQL,
            {
                "now": now,
                "today": today,
                "until": until,
                "last_day": timezone.localdate(until, shop_zone()),
                "zone": shop_zone().key,
                "currency": currency or None,
                **MAX_CHARGES,
            },
        )
        return {(day, code): [count, amount] for day, code, count, amount in cursor.fetchall()}


def _charges_in_python(
    contracts, now: datetime, today: datetime, until: datetime
) -> dict[tuple, list]:
    zone = shop_zone()
    sums: dict[tuple, list] = {}
    for contract in contracts.only(
        "currency",
        "amount",
        "status",
        "next_retry_at",
        "next_bill_date",
        "anchor",
        "recurrence_unit",
        "recurrence_count",
        "periods_paid",
    ).iterator():
        first = contract.next_bill_date
        if contract.status == RecurringContract.Status.PAST_DUE and contract.next_retry_at:
            first = contract.next_retry_at
        due, later = first, 0
        most = MAX_CHARGES[contract.recurrence_unit] // max(contract.recurrence_count, 1)
        while due < until and later <= most:
            if later == 0 or due >= today:
                key = (timezone.localdate(max(due, now), zone), contract.currency)
                total = sums.setdefault(key, [0, Decimal(0)])
                total[0] += 1
                total[1] += contract.amount
            later += 1
            due = period_end(contract, contract.anchor, contract.periods_paid + later)
    return sums


def renewal_forecast(
    *, now: datetime | None = None, currency: str | None = None, days: int = HORIZON_DAYS
) -> Forecast:
    """The renewal charges of the `days` local days from today (today included) per day and
    currency, with each currency's decline rate of the last DECLINE_WINDOW_DAYS."""
    now = now or timezone.now()
    zone = shop_zone()
    first = timezone.localdate(now, zone)
    last = first + timedelta(days=days - 1)
    today = datetime.combine(first, datetime.min.time(), zone)
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    if connection.vendor == "postgresql":
        sums = _charges_in_sql(currency, now, today, until)
    else:
        sums = _charges_in_python(_forecast_contracts(currency), now, today, until)
    rates = decline_rates(now=now, currency=currency)
    forecast = Forecast(first, last, rates=rates)
    for (day, code), (count, amount) in sorted(sums.items()):
        rate = rates.get(code, DeclineRate(code)).rate
        forecast.days.append(ForecastDay(day, code, count, Decimal(amount), rate))
    return forecast


def calendar_months(forecast: Forecast) -> list[dict]:
    """The forecast as month grids (weeks from Monday): each cell a day with its rows per
    currency, `in_range` false for the days around the forecast's."""
    by_day: dict[date, list[ForecastDay]] = {}
    for row in forecast.days:
        by_day.setdefault(row.day, []).append(row)
    months, first = [], forecast.first.replace(day=1)
    weeks_of = calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar
    while first <= forecast.last:
        months.append(
            {
                "month": first,
                "weeks": [
                    [
                        {
                            "day": day,
                            "in_month": day.month == first.month,
                            "in_range": forecast.first <= day <= forecast.last,
                            "rows": by_day.get(day, []) if day.month == first.month else [],
                        }
                        for day in week
                    ]
                    for week in weeks_of(first.year, first.month)
                ],
            }
        )
        first = (first + timedelta(days=32)).replace(day=1)
    return months
