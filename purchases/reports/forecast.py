"""The renewal forecast for finance: the renewal charges due in the next 90 days of the shop, by
local day and currency, with the declines to expect from the last 90 days' decline rate.

- Which contracts: the live ones (active or past due). A contract that stops at its period's end
  (`cancel_at_period_end`) is charged no more: its next bill date is its end, so it is left out.
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
- Declines: the renewal charge attempts of the last 90 days (the contract transactions, retries
  included: each attempt is one charge the gateway answered), declined / attempted, per
  currency. Expected declines = charges x rate; expected revenue = amount x (1 - rate).

On PostgreSQL the charges are expanded and summed per day in one statement (CHARGES_SQL: the
same month arithmetic in UTC as `period_end`, on contracts grouped first); elsewhere (SQLite)
per contract in Python with `period_end`. A test holds the two equal on random contracts.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from core.money import quantize

from ..journal.booking import shop_zone
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
    """Per currency: the renewal charge attempts answered in the DECLINE_WINDOW_DAYS before
    `now` (approved or declined; still-pending ones have no answer yet) and the declined ones."""
    attempts = ContractTransaction.objects.filter(
        transaction_date__gte=now - timedelta(days=DECLINE_WINDOW_DAYS),
        transaction_date__lt=now,
        status__in=[ContractTransaction.Status.APPROVED, ContractTransaction.Status.DECLINED],
    )
    if currency:
        attempts = attempts.filter(currency=currency)
    return {
        row["currency"]: DeclineRate(row["currency"], row["attempted"], row["declined"])
        for row in attempts.order_by()
        .values("currency")
        .annotate(
            attempted=Count("pk"),
            declined=Count("pk", filter=Q(status=ContractTransaction.Status.DECLINED)),
        )
    }


def _forecast_contracts(currency: str | None):
    contracts = RecurringContract.objects.filter(
        status__in=RecurringContract.LIVE_STATUSES, cancel_at_period_end=False
    )
    if currency:
        contracts = contracts.filter(currency=currency)
    return contracts


# Contracts are first grouped by what places their charges: the first due time and the bill
# date, both to the quarter-hour (every zone's offset is a multiple of 15 minutes, so this never
# moves a charge to another local day), the recurrence, and the anchor's day of the month (month
# ends come back). Then each group's charges are expanded: a few thousand groups, not one row per
# contract and charge. A later charge is the bill date's month plus k periods, on the anchor's
# day (or the month's last), at the bill date's time: the same as anchor + (periods paid + k)
# periods, as the renewal engine keeps next_bill_date = anchor + periods paid x the recurrence.
CHARGES_SQL = """
    WITH grouped AS (
        SELECT c.currency, c.recurrence_unit AS unit, GREATEST(c.recurrence_count, 1) AS every,
               date_bin('15 minutes',
                        CASE WHEN c.status = 'past_due'
                             THEN COALESCE(c.next_retry_at, c.next_bill_date)
                             ELSE c.next_bill_date END,
                        TIMESTAMPTZ '2000-01-01 00:00:00+00') AS first_due,
               date_bin('15 minutes', c.next_bill_date, TIMESTAMPTZ '2000-01-01 00:00:00+00')
                   AT TIME ZONE 'UTC' AS base,
               CASE WHEN c.recurrence_unit IN ('months', 'years')
                    THEN extract(day FROM c.anchor AT TIME ZONE 'UTC')::int ELSE 0 END
                   AS anchor_day,
               count(*) AS renewals, sum(c.amount) AS amount
        FROM purchases_recurringcontract AS c
        WHERE c.status IN ('active', 'past_due') AND NOT c.cancel_at_period_end
          AND (%(currency)s::text IS NULL OR c.currency = %(currency)s::text)
        GROUP BY 1, 2, 3, 4, 5, 6
    ), charges AS (
        SELECT currency, renewals, amount, k,
               CASE WHEN k = 0 THEN GREATEST(first_due, %(now)s)
                    WHEN unit = 'days' THEN (base + make_interval(days => every * k))
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
            0, CASE unit WHEN 'days' THEN %(days)s WHEN 'weeks' THEN %(weeks)s
                         WHEN 'months' THEN %(months)s ELSE %(years)s END / every
        ) AS k
        CROSS JOIN LATERAL (
            SELECT date_trunc('month', base) + make_interval(
                months => every * k * CASE unit WHEN 'years' THEN 12 ELSE 1 END
            ) AS month_start
        ) AS months
    )
    SELECT (due AT TIME ZONE %(zone)s)::date AS day, currency,
           sum(renewals)::int AS renewals, sum(amount) AS amount
    FROM charges
    WHERE due < %(until)s AND (k = 0 OR due >= %(today)s)
    GROUP BY 1, 2
"""


def _charges_in_sql(
    currency: str | None, now: datetime, today: datetime, until: datetime
) -> dict[tuple, list]:
    """The same filter as _forecast_contracts, written out for the statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            CHARGES_SQL,
            {
                "now": now,
                "today": today,
                "until": until,
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
