"""A recurring contract's plan changes (issue 19): one row per change a person asked for, now
(prorated: a credit for the unused time of the period, a charge for a new period of the new
pricing model starting at the proration time) or at the period's end (scheduled: the next
renewal charges the new pricing model). The row is the contract's history of plans, shown on
the contract page and the buyer's timeline; the money it moved is in the journal."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.codes import PublicCodeModel
from core.money import STORED_DECIMAL_PLACES, currency_choices
from subscriptions.models import MONEY_DIGITS, PricingModel


def money_field(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name, max_digits=MONEY_DIGITS, decimal_places=STORED_DECIMAL_PLACES, **kwargs
    )


class ContractChange(PublicCodeModel):
    """One plan change of a contract: what it was, what it became, and the money of it."""

    class Timing(models.TextChoices):
        NOW = "now", _("Now, prorated")
        PERIOD_END = "period_end", _("At the period's end")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        APPLIED = "applied", _("Applied")
        CANCELLED = "cancelled", _("Cancelled")
        DECLINED = "declined", _("Declined")

    contract = models.ForeignKey(
        "purchases.RecurringContract", on_delete=models.PROTECT, related_name="plan_changes"
    )
    timing = models.CharField(_("when"), max_length=10, choices=Timing.choices)
    status = models.CharField(_("status"), max_length=9, choices=Status.choices)
    from_pricing_model = models.ForeignKey(
        PricingModel, on_delete=models.PROTECT, related_name="+", verbose_name=_("from")
    )
    to_pricing_model = models.ForeignKey(
        PricingModel, on_delete=models.PROTECT, related_name="+", verbose_name=_("to")
    )
    from_amount = money_field(_("amount each period before"))
    to_amount = money_field(_("amount each period after"))
    currency = models.CharField(_("currency"), max_length=3, choices=currency_choices)
    # A change now: the proration time, what the unused time was worth (credit), the new
    # period's price (charge), what the buyer was charged (charge - credit, at least 0) and what
    # went to the e-wallet (credit - charge, at least 0).
    prorated_at = models.DateTimeField(_("prorated at"), null=True, blank=True)
    credit = money_field(_("credit"), default=0)
    charge = money_field(_("charge"), default=0)
    charged_now = money_field(_("charged now"), default=0)
    to_wallet = money_field(_("credited to the e-wallet"), default=0)
    new_next_bill_date = models.DateTimeField(_("next bill date after"), null=True, blank=True)
    # The gateway's answer to the charge (reference 003 terms).
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, blank=True)
    pnref = models.CharField("PNRef", max_length=40, blank=True)
    auth_code = models.CharField("AuthCode", max_length=12, blank=True)
    result_code = models.CharField("ResultCode", max_length=8, blank=True)
    response_message = models.CharField("ResponseMessage", max_length=200, blank=True)
    requested_at = models.DateTimeField(_("asked"), default=timezone.now)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    by_buyer = models.BooleanField(_("by the buyer"), default=False)
    api_key = models.CharField(_("API key"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("plan change")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # At most one change waits for a contract's period end.
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(status="scheduled", timing="period_end"),
                name="contract_one_scheduled_plan_change",
            ),
            models.CheckConstraint(
                condition=Q(credit__gte=0, charge__gte=0, charged_now__gte=0, to_wallet__gte=0),
                name="plan_change_amounts_not_negative",
            ),
        ]
        indexes = [
            models.Index(
                fields=["contract"],
                condition=Q(status="scheduled"),
                name="plan_change_scheduled_idx",
            ),
        ]

    def __str__(self):
        return f"Plan change {self.code}"
