"""Billing periods of recurring pricing models, month ends included.

Periods are counted from an anchor (the first period's start), not chained one after another,
so a subscription started on 31 January renews on 28 (or 29) February and on 31 March again:
period n ends at anchor + n x the recurrence, clamped to the month's last day by relativedelta.
"""

from datetime import datetime

from dateutil.relativedelta import relativedelta

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
