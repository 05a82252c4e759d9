"""Summary reports read from the money journal (purchases.journal.selectors), so they agree with
the journal's export, the lists' totals and the dashboard to the minor unit.

- Revenue per day, week or month, by subscription or by payment type, per currency: sales and
  renewal charges (gross), refunds and chargebacks as they happened (a refund counts on the day
  it was given, so a closed period never changes), corrections, net, and the part of gross paid
  from e-wallet balances (revenue, not new cash). E-wallet top-ups (money received into buyers'
  prepaid balances, not revenue) are given per currency beside the table.
- Renewals per period: the charge attempts (counts, from the contract transactions) and their
  revenue (from the journal).
- Live contracts and their monthly recurring revenue.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.csv_export import local_iso_date
from core.money import quantize
from subscriptions.models import Subscription

from ..journal import selectors
from ..journal.models import REVENUE_KINDS, Kind
from ..models import ContractTransaction, RecurringContract

PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
GROUPINGS = {
    "period": "Revenue per period",
    "subscription": "Revenue by subscription",
    "payment_type": "Revenue by payment type",
}
# The columns that name a row's group, per grouping: (header, the row's key).
GROUP_COLUMNS = {
    "period": [(_("Period"), "period")],
    "subscription": [
        (_("Subscription code"), "subscription__code"),
        (_("Subscription"), "subscription__name"),
    ],
    "payment_type": [(_("Payment type"), "payment_type")],
}
FIGURES = (
    "sales_count",
    "sales",
    "renewals_count",
    "renewals",
    "gross",
    "refunds_count",
    "refunds",
    "corrections",
    "net",
    "from_wallet",
)


def _as_dict(row: selectors.MoneyRow) -> dict:
    return {"currency": row.currency, **{name: getattr(row, name) for name in FIGURES}}


def revenue_summary(
    *,
    start: date,
    end: date,
    grouping: str = "period",
    period: str = "day",
    subscription=None,
    currency: str | None = None,
    payment_type: str | None = None,
) -> list[dict]:
    """Revenue of local days start..end (both included) per group and currency: dicts with the
    group's key (`period` as YYYY-MM-DD, or `subscription__code` and `subscription__name`, or
    `payment_type`), `currency` and FIGURES."""
    rows = selectors.money(
        start,
        end,
        grouping=grouping,
        period=period,
        subscription=subscription,
        currency=currency,
        payment_type=payment_type,
        kinds=REVENUE_KINDS,
    )
    names = {}
    if grouping == "subscription":
        names = {
            s.pk: s
            for s in Subscription.objects.filter(pk__in=[row.key[0] for row in rows if row.key[0]])
        }
    result = []
    for row in rows:
        figures = _as_dict(row)
        if grouping == "period":
            figures["period"] = local_iso_date(row.key[0])
        elif grouping == "subscription":
            named = names.get(row.key[0])
            figures["subscription__code"] = named.code if named else ""
            figures["subscription__name"] = named.name if named else ""
        else:
            figures["payment_type"] = row.key[0]
        result.append(figures)
    if grouping == "subscription":
        result.sort(key=lambda row: (row["subscription__name"], row["currency"]))
    return result


def summary_totals(rows: list[dict]) -> list[dict]:
    """Per currency: the sums of a summary's rows (what the table's footer shows)."""
    totals: dict[str, dict] = {}
    for row in rows:
        total = totals.setdefault(
            row["currency"], {"currency": row["currency"], **dict.fromkeys(FIGURES, 0)}
        )
        for name in FIGURES:
            total[name] += row[name]
    return [totals[code] for code in sorted(totals)]


def wallet_summary(
    *, start: date, end: date, currency: str | None = None
) -> list[selectors.MoneyRow]:
    """E-wallet top-ups and adjustments of the days per currency: money received into buyers'
    prepaid balances (not revenue), reported beside revenue."""
    return [
        row
        for row in selectors.money(
            start,
            end,
            grouping=None,
            currency=currency,
            kinds=[Kind.WALLET_TOP_UP, Kind.WALLET_ADJUSTMENT],
        )
        if row.wallet_top_ups or row.wallet_adjustments
    ]


def renewal_summary(*, start, end, subscription=None, currency=None, period="day"):
    """Per period and currency: renewal charges attempted, succeeded, failed, recovered by a
    retry (approved on attempt 2 or later), in one grouped query over the contract transactions;
    their revenue from the journal; churned (contracts that ended) from the contracts."""
    tz = timezone.get_current_timezone()
    since, until = selectors.midnight(start), selectors.midnight(end + timedelta(days=1))
    transactions = ContractTransaction.objects.filter(
        transaction_date__gte=since, transaction_date__lt=until
    ).exclude(status=ContractTransaction.Status.PENDING)
    ended = RecurringContract.objects.filter(ended_at__gte=since, ended_at__lt=until)
    if subscription is not None:
        transactions = transactions.filter(contract__subscription=subscription)
        ended = ended.filter(subscription=subscription)
    if currency:
        transactions = transactions.filter(currency=currency)
        ended = ended.filter(currency=currency)
    approved = Q(status=ContractTransaction.Status.APPROVED)
    empty = {"attempted": 0, "succeeded": 0, "failed": 0, "recovered": 0, "churned": 0}
    rows: dict[tuple, dict] = {}

    def row_of(day, code):
        return rows.setdefault(
            (day, code), {"period": day, "currency": code, **empty, "revenue": Decimal(0)}
        )

    for row in (
        transactions.annotate(bucket=PERIODS[period]("transaction_date", tzinfo=tz))
        .order_by()
        .values("bucket", "currency")
        .annotate(
            attempted=Count("pk"),
            succeeded=Count("pk", filter=approved),
            failed=Count("pk", filter=~approved),
            recovered=Count("pk", filter=approved & Q(attempt__gt=1)),
        )
    ):
        row_of(local_iso_date(row.pop("bucket")), row.pop("currency")).update(row)
    for money in selectors.money(
        start,
        end,
        grouping="period",
        period=period,
        subscription=subscription,
        currency=currency,
        kinds=[Kind.RENEWAL],
    ):
        row_of(local_iso_date(money.key[0]), money.currency)["revenue"] = money.renewals
    for row in (
        ended.annotate(bucket=PERIODS[period]("ended_at", tzinfo=tz))
        .order_by()
        .values("bucket", "currency")
        .annotate(churned=Count("pk"))
    ):
        row_of(local_iso_date(row["bucket"]), row["currency"])["churned"] = row["churned"]
    return [rows[key] for key in sorted(rows)]


# (units, months): that many recurrence units last that many months. A contract's monthly
# amount is amount x units / (months x units per billing period).
UNITS_PER_MONTH = {
    "days": (Decimal("365.25"), 12),
    "weeks": (Decimal("52.1775"), 12),
    "months": (Decimal(1), 1),
    "years": (Decimal(1), 12),
}


def monthly_amount(amount, unit: str, count: int) -> Decimal:
    """An amount charged every `count` `unit`s, scaled to one month (not yet rounded)."""
    units, months = UNITS_PER_MONTH.get(unit, (Decimal(0), 1))
    return Decimal(amount) * units / (months * max(count, 1))


def active_contracts(*, subscription=None, currency=None):
    """Per currency: live contracts (active or past due) and their monthly recurring revenue,
    each contract's amount scaled to one month by the recurrence it was bought with. Summed in
    SQL per currency and recurrence, scaled in Python with Decimal (SQLite divides integers)."""
    live = RecurringContract.objects.filter(status__in=RecurringContract.LIVE_STATUSES)
    if subscription is not None:
        live = live.filter(subscription=subscription)
    if currency:
        live = live.filter(currency=currency)
    totals: dict[str, dict] = {}
    for row in (
        live.order_by()
        .values("currency", "recurrence_unit", "recurrence_count")
        .annotate(
            amount=Sum("amount"),
            contracts=Count("pk"),
            past_due=Count("pk", filter=Q(status=RecurringContract.Status.PAST_DUE)),
        )
        .order_by()
    ):
        total = totals.setdefault(
            row["currency"],
            {"currency": row["currency"], "contracts": 0, "past_due": 0, "mrr": Decimal(0)},
        )
        total["contracts"] += row["contracts"]
        total["past_due"] += row["past_due"]
        total["mrr"] += monthly_amount(
            row["amount"], row["recurrence_unit"], row["recurrence_count"]
        )
    for total in totals.values():
        total["mrr"] = quantize(total["mrr"], total["currency"])
    return [totals[code] for code in sorted(totals)]
