"""Billing periods of recurring pricing models, month ends included.

Periods are counted from an anchor (the first period's start), not chained one after another,
so a subscription started on 31 January renews on 28 (or 29) February and on 31 March again:
period n ends at anchor + n x the recurrence, clamped to the month's last day by relativedelta.
"""

from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings

from subscriptions.models import PricingModel

UNIT_TO_DELTA = {
    PricingModel.RecurrenceUnit.DAYS: "days",
    PricingModel.RecurrenceUnit.WEEKS: "weeks",
    PricingModel.RecurrenceUnit.MONTHS: "months",
    PricingModel.RecurrenceUnit.YEARS: "years",
}


def period_end(recurring, anchor: datetime, periods: int = 1) -> datetime:
    """The end of the `periods`-th billing period counted from `anchor`, for anything with a
    `recurrence_unit` and `recurrence_count` (a pricing model, or a contract's copy of it)."""
    unit = UNIT_TO_DELTA[recurring.recurrence_unit]
    return anchor + relativedelta(**{unit: recurring.recurrence_count * periods})


def next_period_end(pricing_model: PricingModel, start: datetime) -> datetime:
    """The end of the first billing period starting at `start`."""
    return period_end(pricing_model, start, 1)


def renewal_grace() -> timedelta:
    """How long a renewing contract's access outlasts its bill date (RENEWAL_GRACE_HOURS)."""
    return timedelta(hours=max(0, settings.RENEWAL_GRACE_HOURS))


def access_end_of_contract(next_bill_date: datetime, *, stopping: bool) -> datetime:
    """When a live contract's access ends: its next bill date plus the renewal grace while it
    renews (the buyer keeps watching until the renewal job has charged it), exactly its next
    bill date (the period's end) when it stops there."""
    return next_bill_date if stopping else next_bill_date + renewal_grace()
