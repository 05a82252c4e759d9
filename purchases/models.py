"""Purchase sessions, purchases, refunds, recurring contracts, gateways and finance reports.

So far: the sandbox payment gateways' own ledger. Purchases arrive with the purchases issue.
"""

import secrets

from django.db import models
from django.urls import reverse

from subscriptions.money import STORED_DECIMAL_PLACES


def new_pnref() -> str:
    return "SB" + secrets.token_hex(8).upper()


class SandboxCharge(models.Model):
    """What a sandbox gateway charged or refunded: the provider's side of a payment, kept here
    because the sandbox has no provider. One row per gateway and idempotency key."""

    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"

    class Status(models.TextChoices):
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        PENDING = "pending", "Waiting for the buyer"
        CANCELLED = "cancelled", "Cancelled by the buyer"

    gateway = models.CharField(max_length=40)
    idempotency_key = models.CharField(max_length=120)
    kind = models.CharField(max_length=6, choices=Kind.choices)
    pnref = models.CharField("PNRef", max_length=20, unique=True, default=new_pnref)
    amount = models.DecimalField(max_digits=18, decimal_places=STORED_DECIMAL_PLACES)
    currency = models.CharField(max_length=3)
    instrument = models.CharField("card token", max_length=60, blank=True)
    status = models.CharField(max_length=9, choices=Status.choices)
    result_code = models.CharField(max_length=8, blank=True)
    response_message = models.CharField(max_length=200, blank=True)
    auth_code = models.CharField(max_length=12, blank=True)
    return_url = models.URLField(max_length=500, blank=True)
    cancel_url = models.URLField(max_length=500, blank=True)
    refund_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    answered = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "idempotency_key"], name="sandbox_charge_once_per_key"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="sandbox_amount_positive"
            ),
        ]

    def __str__(self):
        return f"{self.gateway} {self.pnref} {self.status}"

    def as_result(self):
        from .gateways import GatewayResult

        return GatewayResult(
            status=self.status,
            result_code=self.result_code,
            response_message=self.response_message,
            pnref=self.pnref,
            auth_code=self.auth_code,
            redirect_url=reverse("sandbox_checkout", kwargs={"pnref": self.pnref})
            if self.status == self.Status.PENDING
            else "",
        )
