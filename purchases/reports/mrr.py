"""MRR movements and churn per month, per currency, for finance.

A contract's MRR is its amount each period scaled to one month by the recurrence it was bought
with (summaries.monthly_amount: the same scaling as the Renewals report's MRR; a yearly 120.00
is 10.00 a month, a weekly 10.00 is 43.48). Months are calendar months in the shop's time zone.

- New: contracts started in the month (created), at their amount, except win-backs.
- Reactivated: contracts started in the month by a buyer whose earlier contract for the same
  subscription had ended before (a buyer coming back). A stop at the period's end that is taken
  back (`reactivate_purchase`) is no movement: that contract never left the live MRR.
- Expansion / contraction: approved renewal charges in the month whose amount is above / below
  the same contract's approved charge of the period before (a price or plan change shows at the
  first charge at the new amount); the movement is the difference scaled to a month.
- Churned: contracts that ended in the month (cancelled, or expired after failed retries), at
  their amount when they ended.
- Net: new + reactivated + expansion - contraction - churned.
- Churn rate: contracts churned in the month / contracts live at the month's start (started
  before it and not ended before it); contracts started and ended within the month count as
  churned but not in the base.

Six queries whatever the number of contracts; money is summed per currency and
recurrence in SQL and scaled in Python with Decimal.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from core.csv_export import local_iso_date
from core.money import quantize

from ..journal.booking import shop_zone
from ..models import ContractTransaction, RecurringContract
from .summaries import monthly_amount

MONTH_CHOICES = (6, 12, 24)
MOVEMENTS = ("new", "reactivated", "expansion", "contraction", "churned")


@dataclass
class MonthMovements:
    """One month's MRR movements in one currency (amounts a month, not yet rounded)."""

    month: date
    currency: str
    live_at_start: int = 0
    new_count: int = 0
    new: Decimal = Decimal(0)
    reactivated_count: int = 0
    reactivated: Decimal = Decimal(0)
    expansion_count: int = 0
    expansion: Decimal = Decimal(0)
    contraction_count: int = 0
    contraction: Decimal = Decimal(0)
    churned_count: int = 0
    churned: Decimal = Decimal(0)

    @property
    def net(self) -> Decimal:
        return self.new + self.reactivated + self.expansion - self.contraction - self.churned

    @property
    def churn_rate(self) -> Decimal | None:
        """Percent of the contracts live at the month's start that ended in it."""
        if not self.live_at_start:
            return None
        return (Decimal(self.churned_count) * 100 / self.live_at_start).quantize(Decimal("0.01"))

    def as_row(self) -> dict:
        row = {"month": self.month, "currency": self.currency, "live_at_start": self.live_at_start}
        for name in MOVEMENTS:
            row[f"{name}_count"] = getattr(self, f"{name}_count")
            row[name] = quantize(getattr(self, name), self.currency)
        row["net"] = quantize(self.net, self.currency)
        row["churn_rate"] = self.churn_rate
        return row


def month_starts(last: date, months: int) -> list[date]:
    """The first days of the `months` calendar months ending with `last`'s month."""
    year, month = last.year, last.month
    firsts = []
    for _ in range(months):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return firsts[::-1]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), shop_zone())


def _month_of(value) -> date:
    return date.fromisoformat(local_iso_date(value))


def mrr_movements(
    *, months: int = 12, currency: str | None = None, now: datetime | None = None
) -> list[MonthMovements]:
    """The MRR movements of the last `months` calendar months (this one so far included), per
    month and currency, oldest first."""
    now = now or timezone.now()
    zone = shop_zone()
    firsts = month_starts(timezone.localdate(now, zone), months)
    since = _midnight(firsts[0])
    next_month = firsts[-1] + timedelta(days=32)
    until = _midnight(next_month.replace(day=1))
    contracts = RecurringContract.objects.all()
    charges = ContractTransaction.objects.filter(status=ContractTransaction.Status.APPROVED)
    if currency:
        contracts = contracts.filter(currency=currency)
        charges = charges.filter(currency=currency)

    rows: dict[tuple, MonthMovements] = {}

    def row_of(month: date, code: str) -> MonthMovements:
        return rows.setdefault((month, code), MonthMovements(month, code))

    def add(month, code, name, count, amount):
        row = row_of(month, code)
        setattr(row, f"{name}_count", getattr(row, f"{name}_count") + count)
        setattr(row, name, getattr(row, name) + amount)

    live = {
        row["currency"]: row["live"]
        for row in contracts.filter(created_at__lt=since)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=since))
        .order_by()
        .values("currency")
        .annotate(live=Count("pk"))
    }
    # All the contracts started, then the win-backs among them (a hash semi-join over the ended
    # contracts, rare): the new ones are the rest, so no anti-join runs over all of them.
    came_back = Exists(
        RecurringContract.objects.filter(
            buyer=OuterRef("buyer"),
            subscription=OuterRef("subscription"),
            ended_at__isnull=False,
            ended_at__lte=OuterRef("created_at"),
        )
    )
    started = contracts.filter(created_at__gte=since, created_at__lt=until)
    for name, chosen in (("new", started), ("reactivated", started.filter(came_back))):
        for row in (
            chosen.annotate(month=TruncMonth("created_at", tzinfo=zone))
            .order_by()
            .values("month", "currency", "recurrence_unit", "recurrence_count")
            .annotate(count=Count("pk"), amount=Sum("amount"))
        ):
            month, amount = (
                _month_of(row["month"]),
                monthly_amount(row["amount"], row["recurrence_unit"], row["recurrence_count"]),
            )
            add(month, row["currency"], name, row["count"], amount)
            if name == "reactivated":  # counted among all started: not new
                add(month, row["currency"], "new", -row["count"], -amount)
    for row in (
        contracts.filter(ended_at__gte=since, ended_at__lt=until)
        .annotate(month=TruncMonth("ended_at", tzinfo=zone))
        .order_by()
        .values("month", "currency", "recurrence_unit", "recurrence_count")
        .annotate(count=Count("pk"), amount=Sum("amount"))
    ):
        add(
            _month_of(row["month"]),
            row["currency"],
            "churned",
            row["count"],
            monthly_amount(row["amount"], row["recurrence_unit"], row["recurrence_count"]),
        )
    for month, code, change in _amount_changes(charges, since, until):
        name = "expansion" if change > 0 else "contraction"
        add(month, code, name, 1, abs(change))

    codes = sorted(set(live) | {code for _, code in rows})
    for code in codes:
        running = live.get(code, 0)
        for first in firsts:
            row = row_of(first, code)
            row.live_at_start = running
            running += row.new_count + row.reactivated_count - row.churned_count
    return [rows[key] for key in sorted(rows) if key[0] in firsts]


# How far before the first month a contract's previous charge can lie: a yearly period, and
# its retries.
LOOKBACK = timedelta(days=400)


def _amount_changes(charges, since: datetime, until: datetime):
    """(month, currency, change a month) of each approved renewal charge in since..until at
    another amount than the same contract's charge of the period before. Only contracts with a
    charge in the window (and the lookback) at another amount than their amount today can have
    one (a change shows as a charge unlike today's amount, before or after it): they are found
    in one join, then their charges are compared in period order."""
    window = charges.filter(transaction_date__gte=since - LOOKBACK, transaction_date__lt=until)
    changed = window.exclude(amount=F("contract__amount")).values("contract_id").distinct()
    previous: dict[int, tuple] = {}
    for row in (
        window.filter(contract_id__in=changed)
        .order_by("contract_id", "period")
        .values_list(
            "contract_id",
            "period",
            "amount",
            "transaction_date",
            "currency",
            "contract__recurrence_unit",
            "contract__recurrence_count",
        )
    ):
        contract_id, period, amount, when, code, unit, count = row
        before = previous.get(contract_id)
        previous[contract_id] = (period, amount)
        if before is None or before[0] != period - 1 or before[1] == amount or when < since:
            continue
        yield (
            _month_of(when).replace(day=1),
            code,
            monthly_amount(amount - before[1], unit, count),
        )


def movement_totals(rows: list[MonthMovements]) -> list[dict]:
    """Per currency: the movements of all the months together."""
    totals: dict[str, MonthMovements] = {}
    for row in rows:
        total = totals.setdefault(row.currency, MonthMovements(row.month, row.currency))
        for name in MOVEMENTS:
            setattr(
                total,
                f"{name}_count",
                getattr(total, f"{name}_count") + getattr(row, f"{name}_count"),
            )
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return [totals[code].as_row() for code in sorted(totals)]
