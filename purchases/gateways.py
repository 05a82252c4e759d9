"""Payment gateways behind one small interface.

A gateway charges and refunds; a redirect gateway (PayPal, WebPay, WorldPay) instead starts a
payment the buyer completes on the provider's page and is then confirmed. Every call carries an
idempotency key: calling again with the same key returns the first answer and never moves money
twice, which is what makes retries after a timeout safe. `lookup` asks what happened to a key
whose answer was lost.

Built in: sandbox gateways whose outcomes are chosen by test tokens, so every path can be shown
and tested. A real gateway is one more `PaymentGateway` subclass registered in GATEWAYS; which
are enabled is the PAYMENT_GATEWAYS setting. The e-wallet is a payment type handled by the
purchase service against the buyer's ledger, not a gateway.
"""

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from .models import SandboxCharge

APPROVED = "0"  # reference 003 ResultCode of an approved transaction


@dataclass(frozen=True)
class GatewayResult:
    """A gateway's answer in reference 003's terms: PNRef, ResultCode, ResponseMessage, AuthCode."""

    status: str  # approved, declined, pending (redirect started) or cancelled (by the buyer)
    result_code: str
    response_message: str
    pnref: str = ""
    auth_code: str = ""
    redirect_url: str = ""

    @property
    def approved(self) -> bool:
        return self.status == SandboxCharge.Status.APPROVED


class GatewayError(Exception):
    """The gateway could not be reached or refused the call itself (not a decline)."""


class GatewayTimeout(GatewayError):
    """No answer came back: the charge may or may not have happened. Ask `lookup` first."""


class PaymentGateway:
    name = ""
    label = ""
    is_redirect = False
    supports_recurring = True

    def charge(self, *, idempotency_key, amount, currency, instrument, description=""):
        raise NotImplementedError

    def refund(self, *, idempotency_key, pnref, amount, currency):
        raise NotImplementedError

    def lookup(self, *, idempotency_key) -> GatewayResult | None:
        raise NotImplementedError

    def start(self, *, idempotency_key, amount, currency, return_url, cancel_url, description=""):
        raise NotImplementedError

    def confirm(self, *, idempotency_key) -> GatewayResult:
        raise NotImplementedError

    def void(self, *, idempotency_key) -> None:
        """Close a redirect payment the buyer has not paid, so it can no longer be paid."""

    def charge_many(self, charges: list["ChargeRequest"]) -> dict:
        """Charge several stored instruments at once: {idempotency key: GatewayResult, or the
        GatewayError raised for it}. Gateways with a batch API override this; the default
        charges one by one."""
        answers = {}
        for request in charges:
            try:
                answers[request.idempotency_key] = self.charge(
                    idempotency_key=request.idempotency_key,
                    amount=request.amount,
                    currency=request.currency,
                    instrument=request.instrument,
                )
            except GatewayError as failure:
                answers[request.idempotency_key] = failure
        return answers


@dataclass(frozen=True)
class ChargeRequest:
    idempotency_key: str
    amount: Decimal
    currency: str
    instrument: str


class SandboxCardGateway(PaymentGateway):
    """A stored-card gateway whose outcome follows the card token.

    `tok_approve` approves, `tok_decline` declines, `tok_insufficient_funds` declines for funds,
    `tok_timeout` charges but loses the answer (GatewayTimeout; `lookup` then tells it was
    approved). Any other token is declined as an invalid card.
    """

    name = "sandbox_card"
    label = "Card (sandbox)"

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
        return charge.as_result()

    def refund(self, *, idempotency_key, pnref, amount, currency):
        return _refund(self.name, idempotency_key, pnref, amount, currency)

    def lookup(self, *, idempotency_key):
        charge = SandboxCharge.objects.filter(
            gateway=self.name, idempotency_key=idempotency_key
        ).first()
        return charge.as_result() if charge else None

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


class SandboxRedirectGateway(PaymentGateway):
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
        return charge.as_result()

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
        return _record_once(
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
        ).as_result()

    def lookup(self, *, idempotency_key):
        charge = SandboxCharge.objects.filter(
            gateway=self.name, idempotency_key=idempotency_key
        ).first()
        return charge.as_result() if charge else None

    def refund(self, *, idempotency_key, pnref, amount, currency):
        return _refund(self.name, idempotency_key, pnref, amount, currency)


GATEWAYS: dict[str, PaymentGateway] = {
    gateway.name: gateway
    for gateway in (
        SandboxCardGateway(),
        SandboxRedirectGateway("sandbox_paypal", "PayPal (sandbox)"),
        SandboxRedirectGateway("sandbox_webpay", "WebPay (sandbox)", supports_recurring=False),
        SandboxRedirectGateway("sandbox_worldpay", "WorldPay (sandbox)"),
    )
}
# Adds "recurring003" (the reference-003 Recurring web service) to GATEWAYS.
from . import recurring_gateway  # noqa: E402, F401


def enabled_gateways() -> dict[str, PaymentGateway]:
    """The gateways this shop accepts, in the order PAYMENT_GATEWAYS lists them; a gateway that
    needs settings (`is_configured` False) is left out until they are set."""
    return {
        name: GATEWAYS[name]
        for name in settings.PAYMENT_GATEWAYS
        if name in GATEWAYS and getattr(GATEWAYS[name], "is_configured", True)
    }


def get_gateway(name: str) -> PaymentGateway | None:
    """The enabled gateway called `name`, or None when it is unknown or not enabled."""
    return enabled_gateways().get(name)


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
    return refund.as_result()


def _auth_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"
