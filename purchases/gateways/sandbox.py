"""The sandbox gateways: a stored-card gateway and redirect gateways whose outcomes are chosen
by test tokens, so every path of a payment can be shown and tested without a provider. What they
charged is kept in SandboxCharge, the provider's side of each payment.
"""

import secrets
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..journal.reconciliation import Settlement
from ..models import SandboxCharge
from .base import (
    APPROVED,
    APPROVED_STATUS,
    DECLINED_STATUS,
    GatewayResult,
    GatewayTimeout,
    PaymentGateway,
)


class SandboxLedgerSettlements:
    """The sandbox gateways' settlements: their own ledger's approved charges and refunds."""

    def settlements(self, since, until):
        return _settled(self.name, created_at__gte=since, created_at__lt=until)

    def settlements_for(self, references):
        return _settled(self.name, pnref__in=list(references)) if references else []


def _settled(gateway: str, **filters) -> list:
    return [
        Settlement(pnref, amount if kind == SandboxCharge.Kind.CHARGE else -amount, currency, at)
        for pnref, kind, amount, currency, at in SandboxCharge.objects.filter(
            gateway=gateway, status=SandboxCharge.Status.APPROVED, **filters
        )
        .order_by("created_at", "pk")
        .values_list("pnref", "kind", "amount", "currency", "created_at")
    ]


class SandboxCardGateway(SandboxLedgerSettlements, PaymentGateway):
    """A stored-card gateway whose outcome follows the card token.

    `tok_approve` approves, `tok_decline` declines, `tok_insufficient_funds` declines for funds,
    `tok_timeout` charges but loses the answer (GatewayTimeout; `lookup` then tells it was
    approved). Any other token is declined as an invalid card.
    """

    name = "sandbox_card"
    label = _("Card (sandbox)")

    OUTCOMES = {
        "tok_approve": (SandboxCharge.Status.APPROVED, APPROVED, "Approved"),
        "tok_timeout": (SandboxCharge.Status.APPROVED, APPROVED, "Approved"),
        "tok_decline": (SandboxCharge.Status.DECLINED, "12", "Declined"),
        "tok_insufficient_funds": (SandboxCharge.Status.DECLINED, "51", "Insufficient funds"),
    }
    INVALID_CARD = (SandboxCharge.Status.DECLINED, "14", "Invalid card")

    def charge(self, *, idempotency_key, amount, currency, instrument, description=""):
        status, code, message = self.OUTCOMES.get(instrument, self.INVALID_CARD)
        charge = _record_once(
            gateway=self.name,
            idempotency_key=idempotency_key,
            kind=SandboxCharge.Kind.CHARGE,
            amount=amount,
            currency=currency,
            instrument=instrument,
            status=status,
            result_code=code,
            response_message=message,
            auth_code=_auth_code() if status == SandboxCharge.Status.APPROVED else "",
        )
        if charge.instrument == "tok_timeout" and not charge.answered:
            SandboxCharge.objects.filter(pk=charge.pk).update(answered=True)
            raise GatewayTimeout("The card gateway did not answer in time.")
        return sandbox_result(charge)

    def refund(self, *, idempotency_key, pnref, amount, currency):
        return _refund(self.name, idempotency_key, pnref, amount, currency)

    DESCRIPTIONS = {
        "tok_approve": _("Visa •••• 4242, expires 12/2030 (test card: approves)"),
        "tok_timeout": _("Visa •••• 0341, expires 12/2030 (test card: answers late)"),
        "tok_decline": _("Visa •••• 0002, expires 12/2030 (test card: declines)"),
        "tok_insufficient_funds": _("Visa •••• 9995, expires 12/2030 (test card: no funds)"),
    }

    def describe(self, instrument):
        if not instrument:
            return ""
        return self.DESCRIPTIONS.get(instrument, "an unknown test card (declines)")

    def verify(self, *, idempotency_key, instrument, currency):
        """The card's token decides, as for a charge, but nothing is charged or recorded (an
        authorisation voided at once); `tok_timeout` answers nothing."""
        if instrument == "tok_timeout":
            raise GatewayTimeout("The card gateway did not answer in time.")
        status, code, message = self.OUTCOMES.get(instrument, self.INVALID_CARD)
        return GatewayResult(
            status=APPROVED_STATUS if status == SandboxCharge.Status.APPROVED else DECLINED_STATUS,
            result_code=code,
            response_message=message,
        )

    def lookup(self, *, idempotency_key):
        charge = SandboxCharge.objects.filter(
            gateway=self.name, idempotency_key=idempotency_key
        ).first()
        return sandbox_result(charge) if charge else None

    def charge_many(self, charges):
        """The batch API: one read and one insert for the whole batch, idempotent per key."""
        keys = [request.idempotency_key for request in charges]
        known = set(
            SandboxCharge.objects.filter(gateway=self.name, idempotency_key__in=keys).values_list(
                "idempotency_key", flat=True
            )
        )
        new = []
        for request in charges:
            if request.idempotency_key in known:
                continue
            status, code, message = self.OUTCOMES.get(request.instrument, self.INVALID_CARD)
            new.append(
                SandboxCharge(
                    gateway=self.name,
                    idempotency_key=request.idempotency_key,
                    kind=SandboxCharge.Kind.CHARGE,
                    amount=request.amount,
                    currency=request.currency,
                    instrument=request.instrument,
                    status=status,
                    result_code=code,
                    response_message=message,
                    auth_code=_auth_code() if status == SandboxCharge.Status.APPROVED else "",
                    answered=request.instrument != "tok_timeout",
                )
            )
        SandboxCharge.objects.bulk_create(new, ignore_conflicts=True)
        answers = {}
        stored = SandboxCharge.objects.filter(
            gateway=self.name, idempotency_key__in=keys
        ).values_list(
            "idempotency_key",
            "answered",
            "status",
            "result_code",
            "response_message",
            "pnref",
            "auth_code",
        )
        for key, answered, status, code, message, pnref, auth_code in stored:
            if not answered:
                answers[key] = GatewayTimeout("No answer in time.")
            else:
                answers[key] = GatewayResult(status, code, message, pnref, auth_code)
        unanswered = [key for key, answer in answers.items() if isinstance(answer, GatewayTimeout)]
        SandboxCharge.objects.filter(gateway=self.name, idempotency_key__in=unanswered).update(
            answered=True
        )
        return answers


class SandboxRedirectGateway(SandboxLedgerSettlements, PaymentGateway):
    """A redirect gateway: `start` answers the provider page's URL; the buyer pays or cancels
    there and comes back to the shop's return or cancel URL; `confirm` then tells the outcome."""

    is_redirect = True

    def __init__(self, name, label, supports_recurring=True):
        self.name, self.label, self.supports_recurring = name, label, supports_recurring

    def start(self, *, idempotency_key, amount, currency, return_url, cancel_url, description=""):
        charge = _record_once(
            gateway=self.name,
            idempotency_key=idempotency_key,
            kind=SandboxCharge.Kind.CHARGE,
            amount=amount,
            currency=currency,
            status=SandboxCharge.Status.PENDING,
            result_code="",
            response_message="Waiting for the buyer",
            return_url=return_url,
            cancel_url=cancel_url,
        )
        return sandbox_result(charge)

    def confirm(self, *, idempotency_key):
        return self.lookup(idempotency_key=idempotency_key)

    def void(self, *, idempotency_key):
        SandboxCharge.objects.filter(
            gateway=self.name, idempotency_key=idempotency_key, status=SandboxCharge.Status.PENDING
        ).update(status=SandboxCharge.Status.CANCELLED, result_code="V", response_message="Expired")

    def charge(self, *, idempotency_key, amount, currency, instrument, description=""):
        """A renewal under the billing agreement the buyer approved with their first payment
        (`instrument` is that payment's PNRef)."""
        agreed = SandboxCharge.objects.filter(
            gateway=self.name, pnref=instrument, status=SandboxCharge.Status.APPROVED
        ).exists()
        status, code, message = (
            (SandboxCharge.Status.APPROVED, APPROVED, "Approved")
            if agreed
            else (SandboxCharge.Status.DECLINED, "12", "No billing agreement")
        )
        charge = _record_once(
            gateway=self.name,
            idempotency_key=idempotency_key,
            kind=SandboxCharge.Kind.CHARGE,
            amount=amount,
            currency=currency,
            instrument=instrument,
            status=status,
            result_code=code,
            response_message=message,
            auth_code=_auth_code() if agreed else "",
            answered=True,
        )
        return sandbox_result(charge)

    def lookup(self, *, idempotency_key):
        charge = SandboxCharge.objects.filter(
            gateway=self.name, idempotency_key=idempotency_key
        ).first()
        return sandbox_result(charge) if charge else None

    def refund(self, *, idempotency_key, pnref, amount, currency):
        return _refund(self.name, idempotency_key, pnref, amount, currency)


def pay_on_sandbox_page(charge: SandboxCharge, *, paid: bool) -> str:
    """What the buyer does on the sandbox provider's page; answers where the buyer goes next."""
    with transaction.atomic():
        charge = SandboxCharge.objects.select_for_update().get(pk=charge.pk)
        if charge.status == SandboxCharge.Status.PENDING:
            if paid:
                charge.status, charge.result_code = SandboxCharge.Status.APPROVED, APPROVED
                charge.response_message, charge.auth_code = "Approved", _auth_code()
            else:
                charge.status, charge.result_code = SandboxCharge.Status.CANCELLED, "C"
                charge.response_message = "Cancelled by the buyer"
            charge.save(update_fields=["status", "result_code", "response_message", "auth_code"])
    return (
        charge.return_url if charge.status == SandboxCharge.Status.APPROVED else charge.cancel_url
    )


def _record_once(*, gateway, idempotency_key, **fields) -> SandboxCharge:
    """The charge stored under this key; the first call writes it, later calls read it back."""
    existing = SandboxCharge.objects.filter(gateway=gateway, idempotency_key=idempotency_key)
    charge = existing.first()
    if charge is not None:
        return charge
    try:
        with transaction.atomic():
            return SandboxCharge.objects.create(
                gateway=gateway, idempotency_key=idempotency_key, **fields
            )
    except IntegrityError:  # a concurrent call with the same key won the race
        return existing.get()


def _refund(gateway, idempotency_key, pnref, amount, currency) -> GatewayResult:
    original = SandboxCharge.objects.filter(gateway=gateway, pnref=pnref).first()
    if original is None or original.status != SandboxCharge.Status.APPROVED:
        return GatewayResult(SandboxCharge.Status.DECLINED, "19", "No such approved transaction")
    earlier = SandboxCharge.objects.filter(refund_of=original).exclude(
        idempotency_key=idempotency_key
    )
    refunded = sum((refund.amount for refund in earlier), Decimal(0))
    if refunded + Decimal(amount) > original.amount:
        return GatewayResult(SandboxCharge.Status.DECLINED, "13", "Refund exceeds the charge")
    refund = _record_once(
        gateway=gateway,
        idempotency_key=idempotency_key,
        kind=SandboxCharge.Kind.REFUND,
        refund_of=original,
        amount=amount,
        currency=currency,
        status=SandboxCharge.Status.APPROVED,
        result_code=APPROVED,
        response_message="Refunded",
        auth_code=_auth_code(),
    )
    return sandbox_result(refund)


def sandbox_result(charge: SandboxCharge) -> GatewayResult:
    """What the sandbox provider answers about one of its charges or refunds."""
    return GatewayResult(
        status=charge.status,
        result_code=charge.result_code,
        response_message=charge.response_message,
        pnref=charge.pnref,
        auth_code=charge.auth_code,
        redirect_url=reverse("sandbox_checkout", kwargs={"pnref": charge.pnref})
        if charge.status == SandboxCharge.Status.PENDING
        else "",
    )


def _auth_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"
