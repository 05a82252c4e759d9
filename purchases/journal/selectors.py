"""Reading money from the journal: the one place every report, total and chart gets its figures,
so they agree by construction.

A range of local days is read from the daily totals while they are for the shop's time zone
(JournalShopDay: a few dozen rows a day; JournalDay, when subscriptions are looked at: at most
a few thousand a day, whatever the number of purchases); otherwise
(right after SHOP_TIME_ZONE changed, before `rebuild_journal_days`) from the journal's rows,
grouped by local day in SQL. Either way the figures are the same.

The figures of a group (see `MoneyRow`): gross (sales + renewal charges), refunds (refunds and
chargebacks, as a positive amount), corrections (signed), net (gross - refunds + corrections),
and the share of gross paid from e-wallet balances (revenue, but not new cash: that cash came
in as a top-up). E-wallet top-ups are money received into buyers' prepaid balances, not
revenue; they are reported beside revenue, never added to it.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek

from core.money import STORED_DECIMAL_PLACES

from .booking import WALLET, shop_zone
from .days import days_are_current
from .models import (
    CHARGE_KINDS,
    GIVEN_BACK_KINDS,
    JournalDay,
    JournalEntry,
    JournalShopDay,
    Kind,
)

PERIODS = ("day", "week", "month")
GROUPINGS = ("period", "subscription", "payment_type")
TOTAL = DecimalField(max_digits=20, decimal_places=4)

# The figures of a group, each a conditional sum over the kinds it is made of.
FIGURES = {
    "sales": Q(kind=Kind.SALE),
    # A plan change's charge is a recurring charge like a renewal (its credit is given back).
    "renewals": Q(kind__in=(Kind.RENEWAL, Kind.PLAN_CHARGE)),
    "refunds": Q(kind__in=GIVEN_BACK_KINDS),
    "corrections": Q(kind=Kind.CORRECTION),
    "from_wallet": Q(kind__in=CHARGE_KINDS, payment_type=WALLET),
    "wallet_top_ups": Q(kind=Kind.WALLET_TOP_UP),
    "wallet_adjustments": Q(kind=Kind.WALLET_ADJUSTMENT),
}
COUNTED = ("sales", "renewals", "refunds")


@dataclass
class MoneyRow:
    """A group's money in one currency (see the module's docstring)."""

    currency: str
    key: tuple = ()  # the group: (period,), (subscription id,) or (payment type,); () for all
    sales: Decimal = Decimal(0)
    sales_count: int = 0
    renewals: Decimal = Decimal(0)
    renewals_count: int = 0
    refunds: Decimal = Decimal(0)  # given back, as a positive amount
    refunds_count: int = 0
    corrections: Decimal = Decimal(0)
    from_wallet: Decimal = Decimal(0)
    wallet_top_ups: Decimal = Decimal(0)
    wallet_adjustments: Decimal = Decimal(0)
    extra: dict = field(default_factory=dict)

    @property
    def gross(self) -> Decimal:
        return self.sales + self.renewals

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunds + self.corrections

    def add(self, other: "MoneyRow") -> None:
        for name in (
            "sales",
            "sales_count",
            "renewals",
            "renewals_count",
            "refunds",
            "refunds_count",
            "corrections",
            "from_wallet",
            "wallet_top_ups",
            "wallet_adjustments",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


# SQLite sums its decimal columns in floating point (0.01 comes back as 0.00999999999999979):
# every sum is rounded back to the stored places, which it is exactly in PostgreSQL already.
STORED = Decimal(1).scaleb(-STORED_DECIMAL_PLACES)


def exact(amount) -> Decimal:
    return Decimal(amount).quantize(STORED)


def _row(values: dict, key: tuple = ()) -> "MoneyRow":
    for name in FIGURES:
        values[name] = exact(values[name])
    values["refunds"] = -values["refunds"]
    return MoneyRow(key=key, **values)


def midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), shop_zone())


def _source(
    start: date,
    end: date,
    *,
    by_subscription=False,
    subscription=None,
    currency=None,
    payment_type=None,
    kinds=None,
):
    """The rows to sum for local days start..end (both included), and whether they are daily
    totals: the shop's days unless subscriptions are looked at, else the subscriptions' days;
    the journal's rows while the days are for another time zone."""
    if days_are_current():
        days = JournalDay if by_subscription or subscription is not None else JournalShopDay
        rows = days.objects.filter(day__gte=start, day__lte=end)
        by_day = True
    else:
        rows = JournalEntry.objects.filter(
            booked_at__gte=midnight(start), booked_at__lt=midnight(end + timedelta(days=1))
        )
        by_day = False
    if subscription is not None:
        rows = rows.filter(subscription=subscription)
    if currency:
        rows = rows.filter(currency=currency)
    if payment_type:
        rows = rows.filter(payment_type=payment_type)
    if kinds:
        rows = rows.filter(kind__in=kinds)
    return rows, by_day


def _bucket(period: str, by_day: bool):
    if by_day:
        return {"day": F("day"), "week": TruncWeek("day"), "month": TruncMonth("day")}[period]
    trunc = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}[period]
    return trunc("booked_at", tzinfo=shop_zone())


def _as_date(value):
    if isinstance(value, datetime):
        return value.astimezone(shop_zone()).date()
    return value


def money(
    start: date,
    end: date,
    *,
    grouping: str | None = "period",
    period: str = "day",
    subscription=None,
    currency: str | None = None,
    payment_type: str | None = None,
    kinds=None,
) -> list[MoneyRow]:
    """The money of local days start..end (both included) per group and currency, in one
    grouped query: `grouping` "period" (per day, week or month), "subscription", "payment_type",
    or None (per currency only). Sorted by group, then currency."""
    rows, by_day = _source(
        start,
        end,
        by_subscription=grouping == "subscription",
        subscription=subscription,
        currency=currency,
        payment_type=payment_type,
        kinds=kinds,
    )
    if grouping == "period":
        rows = rows.annotate(group=_bucket(period, by_day))
        keys = ["group"]
    elif grouping == "subscription":
        keys = ["subscription"]
    elif grouping == "payment_type":
        keys = ["payment_type"]
    else:
        keys = []
    figures = {
        name: Coalesce(Sum("amount", filter=condition), Value(Decimal(0)), output_field=TOTAL)
        for name, condition in FIGURES.items()
    }
    counts = {
        f"{name}_count": Coalesce(
            Sum("entries", filter=FIGURES[name]) if by_day else Count("pk", filter=FIGURES[name]),
            0,
        )
        for name in COUNTED
    }
    # No ORDER BY in SQL: the groups are few, sorted below; sorting the rows first is costlier.
    result = []
    for row in (
        rows.order_by()
        .values(*keys, "currency")
        .annotate(**figures, **counts)
        .order_by()
        .iterator()
    ):
        key = tuple(_as_date(row.pop(name)) for name in keys)
        result.append(_row(row, key))
    return sorted(result, key=lambda row: (tuple(str(k) for k in row.key), row.currency))


def totals_per_currency(rows: list[MoneyRow]) -> list[MoneyRow]:
    """The sums of `rows` per currency (a table's footer)."""
    totals: dict[str, MoneyRow] = {}
    for row in rows:
        totals.setdefault(row.currency, MoneyRow(currency=row.currency)).add(row)
    return [totals[code] for code in sorted(totals)]


def money_of_entries(entries) -> list[MoneyRow]:
    """The money of a queryset of journal rows per currency (a list's totals)."""
    figures = {
        name: Coalesce(Sum("amount", filter=condition), Value(Decimal(0)), output_field=TOTAL)
        for name, condition in FIGURES.items()
    }
    counts = {f"{name}_count": Count("pk", filter=FIGURES[name]) for name in COUNTED}
    result = []
    for row in (
        entries.order_by().values("currency").annotate(**figures, **counts).order_by("currency")
    ):
        result.append(_row(row))
    return result
