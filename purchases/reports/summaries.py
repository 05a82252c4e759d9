"""Summary reports: revenue, renewals and live contracts, grouped in SQL.

Revenue per day, week or month and per currency; by subscription; by payment type. Money counted
as revenue is what was charged: purchases in a paid status (Purchase.PAID_STATUSES), and approved
renewal charges of recurring contracts. Each table is one grouped query over purchases (gross,
refunds, net, count) and one over contract transactions (renewals), joined by group in Python.
Refunds are booked against the purchase's period, so a period's purchase figures reconcile with
the purchases export of the same filters.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from core.csv_export import local_iso_date
from core.money import quantize

from ..models import ContractTransaction, Purchase, RecurringContract
from ..selectors import MONEY, refunded_amount

PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
GROUPINGS = {
    "period": "Revenue per period",
    "subscription": "Revenue by subscription",
    "payment_type": "Revenue by payment type",
}
# The columns that name a row's group, per grouping: (header, the row's key).
GROUP_COLUMNS = {
    "period": [("Period", "period")],
    "subscription": [
        ("Subscription code", "subscription__code"),
        ("Subscription", "subscription__name"),
    ],
    "payment_type": [("Payment type", "payment_type")],
}


def paid_purchases(*, start=None, end=None, subscription=None, currency=None):
    """Purchases whose money was taken, created between two local dates (both included)."""
    queryset = Purchase.objects.filter(status__in=Purchase.PAID_STATUSES)
    tz = timezone.get_current_timezone()
    if start is not None:
        queryset = queryset.filter(created_at__gte=datetime.combine(start, datetime.min.time(), tz))
    if end is not None:
        queryset = queryset.filter(created_at__lt=_next_midnight(end, tz))
    if subscription is not None:
        queryset = queryset.filter(subscription=subscription)
    if currency:
        queryset = queryset.filter(currency=currency)
    return queryset


def _next_midnight(day, tz):
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)


def revenue_summary(queryset, *, grouping="period", period="day", renewals=None):
    """Per group and currency: purchases' count, gross, refunds; renewals' count and revenue;
    and net (gross + renewal revenue - refunds). One grouped query per source.

    `queryset` is paid purchases (see `paid_purchases`), `renewals` approved renewal charges
    (see `approved_renewals`) or None. Rows come back as dicts with the group's key (`period`,
    or `subscription__code`/`subscription__name`, or `payment_type`), `currency`, `count`,
    `gross`, `refunds`, `renewals`, `renewal_revenue` and `net`.
    """
    if grouping == "period":
        keys = ["period"]
        queryset = queryset.annotate(
            period=PERIODS[period]("created_at", tzinfo=timezone.get_current_timezone())
        )
    elif grouping == "subscription":
        keys = ["subscription__code", "subscription__name"]
    else:
        keys = ["payment_type"]
    rows = list(
        queryset.annotate(refunded=refunded_amount())
        .order_by()
        .values(*keys, "currency")
        .annotate(
            count=Count("pk"),
            gross=Sum("amount"),
            refunds=Sum("refunded"),
            net=Sum(F("amount") - F("refunded"), output_field=MONEY),
        )
        # Ordered here, not in SQL: an ORDER BY makes the planner sort every row before
        # grouping, where unordered it hashes them into the few groups.
    )
    by_key = {}
    for row in rows:
        if "period" in row:
            row["period"] = local_iso_date(row["period"])
        row.update(renewals=0, renewal_revenue=Decimal(0))
        by_key[tuple(row[key] for key in [*keys, "currency"])] = row
    if renewals is not None:
        for row in _renewal_revenue(renewals, grouping=grouping, period=period):
            key = tuple(row[k] for k in [*keys, "currency"])
            target = by_key.setdefault(
                key,
                {
                    **dict(zip([*keys, "currency"], key, strict=True)),
                    "count": 0,
                    "gross": Decimal(0),
                    "refunds": Decimal(0),
                    "net": Decimal(0),
                    "renewals": 0,
                    "renewal_revenue": Decimal(0),
                },
            )
            target["renewals"] = row["renewals"]
            target["renewal_revenue"] = row["renewal_revenue"]
            target["net"] += row["renewal_revenue"]
    return sorted(
        by_key.values(), key=lambda row: tuple(str(row[key]) for key in [*keys, "currency"])
    )


def approved_renewals(*, start=None, end=None, subscription=None, currency=None):
    """Approved renewal charges of recurring contracts made between two local dates."""
    queryset = ContractTransaction.objects.filter(status=ContractTransaction.Status.APPROVED)
    tz = timezone.get_current_timezone()
    if start is not None:
        queryset = queryset.filter(
            transaction_date__gte=datetime.combine(start, datetime.min.time(), tz)
        )
    if end is not None:
        queryset = queryset.filter(transaction_date__lt=_next_midnight(end, tz))
    if subscription is not None:
        queryset = queryset.filter(contract__subscription=subscription)
    if currency:
        queryset = queryset.filter(currency=currency)
    return queryset


def _renewal_revenue(queryset, *, grouping, period):
    """One grouped query: approved renewal charges and their sum per group and currency, keyed
    as `revenue_summary` keys purchases."""
    if grouping == "period":
        queryset = queryset.annotate(
            bucket=PERIODS[period]("transaction_date", tzinfo=timezone.get_current_timezone())
        )
        keys = {"bucket": "period"}
    elif grouping == "subscription":
        keys = {
            "contract__subscription__code": "subscription__code",
            "contract__subscription__name": "subscription__name",
        }
    else:
        keys = {"contract__payment_type": "payment_type"}
    rows = []
    for row in (
        queryset.order_by()
        .values(*keys, "currency")
        .annotate(renewals=Count("pk"), renewal_revenue=Sum("amount"))
    ):
        out = {ours: row[theirs] for theirs, ours in keys.items()}
        if "period" in out:
            out["period"] = local_iso_date(out["period"])
        rows.append(
            {
                **out,
                "currency": row["currency"],
                "renewals": row["renewals"],
                "renewal_revenue": row["renewal_revenue"],
            }
        )
    return rows


def summary_totals(rows):
    """Per currency: the sums of a summary's rows (what the table's footer shows)."""
    figures = ("count", "gross", "refunds", "renewals", "renewal_revenue", "net")
    totals: dict[str, dict] = {}
    for row in rows:
        total = totals.setdefault(
            row["currency"], {"currency": row["currency"], **dict.fromkeys(figures, 0)}
        )
        for key in figures:
            total[key] += row[key]
    return [totals[code] for code in sorted(totals)]


# (units, months): that many recurrence units last that many months. MRR is each live contract's
# amount per month: amount x units / (months x units per billing period).
UNITS_PER_MONTH = {
    "days": (Decimal("365.25"), 12),
    "weeks": (Decimal("52.1775"), 12),
    "months": (Decimal(1), 1),
    "years": (Decimal(1), 12),
}


def renewal_summary(*, start, end, subscription=None, currency=None, period="day"):
    """Per period and currency: renewal charges attempted, succeeded, failed, recovered by a
    retry (approved on attempt 2 or later) and their revenue, in one grouped query over the
    contract transactions; churned (contracts that ended) in one grouped query over contracts."""
    tz = timezone.get_current_timezone()
    since = datetime.combine(start, datetime.min.time(), tz)
    until = _next_midnight(end, tz)
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
    rows = {}
    for row in (
        transactions.annotate(bucket=PERIODS[period]("transaction_date", tzinfo=tz))
        .order_by()
        .values("bucket", "currency")
        .annotate(
            attempted=Count("pk"),
            succeeded=Count("pk", filter=approved),
            failed=Count("pk", filter=~approved),
            recovered=Count("pk", filter=approved & Q(attempt__gt=1)),
            revenue=Coalesce(Sum("amount", filter=approved), Value(Decimal(0)), output_field=MONEY),
        )
    ):
        day = local_iso_date(row.pop("bucket"))
        rows[(day, row["currency"])] = {"period": day, **row, "churned": 0}
    for row in (
        ended.annotate(bucket=PERIODS[period]("ended_at", tzinfo=tz))
        .order_by()
        .values("bucket", "currency")
        .annotate(churned=Count("pk"))
    ):
        key = (local_iso_date(row["bucket"]), row["currency"])
        rows.setdefault(
            key,
            {
                "period": key[0],
                "currency": key[1],
                "attempted": 0,
                "succeeded": 0,
                "failed": 0,
                "recovered": 0,
                "revenue": Decimal(0),
                "churned": 0,
            },
        )["churned"] = row["churned"]
    return [rows[key] for key in sorted(rows)]


def active_contracts(*, subscription=None, currency=None):
    """Per currency: live contracts (active or past due) and their monthly recurring revenue,
    each contract's amount scaled to one month by its pricing model's recurrence."""
    live = RecurringContract.objects.filter(status__in=RecurringContract.LIVE_STATUSES)
    if subscription is not None:
        live = live.filter(subscription=subscription)
    if currency:
        live = live.filter(currency=currency)
    factor = DecimalField(max_digits=12, decimal_places=6)
    monthly = Case(
        *(
            When(
                pricing_model__recurrence_unit=unit,
                then=ExpressionWrapper(
                    F("amount")
                    * Value(units, output_field=factor)
                    / (Value(months, output_field=factor) * F("pricing_model__recurrence_count")),
                    output_field=MONEY,
                ),
            )
            for unit, (units, months) in UNITS_PER_MONTH.items()
        ),
        default=Value(Decimal(0)),
        output_field=MONEY,
    )
    rows = list(
        live.order_by()
        .values("currency")
        .annotate(
            contracts=Count("pk"),
            past_due=Count("pk", filter=Q(status=RecurringContract.Status.PAST_DUE)),
            mrr=Sum(monthly),
        )
        .order_by("currency")
    )
    for row in rows:
        row["mrr"] = quantize(Decimal(str(row["mrr"] or 0)), row["currency"])
    return rows
