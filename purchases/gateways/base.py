"""The one small interface every payment gateway implements.

A gateway charges and refunds; a redirect gateway (PayPal, WebPay, WorldPay) instead starts a
payment the buyer completes on the provider's page and is then confirmed. Every call carries an
idempotency key: calling again with the same key returns the first answer and never moves money
twice, which is what makes retries after a timeout safe. `lookup` asks what happened to a key
whose answer was lost.
"""

from dataclasses import dataclass
from decimal import Decimal

APPROVED = "0"  # reference 003 ResultCode of an approved transaction

# What a result's status says happened to the money.
APPROVED_STATUS = "approved"
DECLINED_STATUS = "declined"


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
        return self.status == APPROVED_STATUS


class GatewayError(Exception):
    """The gateway could not be reached or refused the call itself (not a decline)."""


class GatewayTimeout(GatewayError):
    """No answer came back: the charge may or may not have happened. Ask `lookup` first."""


@dataclass(frozen=True)
class ChargeRequest:
    idempotency_key: str
    amount: Decimal
    currency: str
    instrument: str


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

    def describe(self, instrument: str) -> str:
        """The stored payment method as the gateway describes it (brand, last four, expiry
        where it gives them) for people to read; never the stored token itself."""
        return "card on file" if instrument else ""

    def verify(self, *, idempotency_key, instrument, currency) -> GatewayResult | None:
        """Check a stored card without moving money (an authorisation voided at once, or the
        gateway's own verify call): approved or declined, GatewayTimeout when no answer came
        (never taken as approved). None: this gateway cannot check a card without charging it,
        so its first charge checks it."""
        return None

    def void(self, *, idempotency_key) -> None:
        """Close a redirect payment the buyer has not paid, so it can no longer be paid."""

    def settlements(self, since, until) -> list | None:
        """The transactions this gateway settled from `since` until `until` (Settlement: its
        reference, the amount signed + for a charge and - for a refund, currency, time), for
        reconciliation; None when the gateway cannot list them for a period."""
        return None

    def settlements_for(self, references) -> list:
        """The settled transactions with these references, whenever they were settled."""
        return []

    def charge_many(self, charges: list[ChargeRequest]) -> dict:
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
