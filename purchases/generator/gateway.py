"""The sandbox gateways' own ledger of the generated charges and refunds (the provider's side),
which the services consult: refunds need the charge, renewals the billing agreement."""

from ..gateways.sandbox import SandboxCardGateway
from ..models import SandboxCharge
from .codes import CodeSequence

CARD = SandboxCardGateway.name
REDIRECTS = ("sandbox_paypal", "sandbox_worldpay", "sandbox_webpay")
# The card tokens a decline is drawn from, with the sandbox card gateway's answer to each.
DECLINES = tuple(
    (token, *SandboxCardGateway.OUTCOMES[token][1:])
    for token in ("tok_decline", "tok_insufficient_funds")
)


class SandboxLedger:
    def __init__(self, run):
        self.run = run
        self.pnref_codes = CodeSequence(
            run.rng, SandboxCharge, "pnref", CodeSequence.HEX, 20, prefix_length=4
        )
        self.pnref_number = 0
        self.renewal_charges = {}  # contract transaction id -> its sandbox charge id

    def pnref(self):
        """A gateway reference: 20 hex digits, never like the sandbox's own (SB + 16)."""
        self.pnref_number += 1
        return self.pnref_codes(self.pnref_number)

    def record(
        self,
        *,
        gateway,
        idempotency_key,
        kind,
        pnref,
        amount,
        currency,
        instrument,
        status,
        result_code,
        response_message,
        auth_code,
        when,
        refund_of=None,
        answered=True,
        urls=("", ""),
    ):
        """Writes one charge or refund as the gateway recorded it; answers its id."""
        run = self.run
        charge_id = run.new_id(SandboxCharge)
        run.writer.add(
            SandboxCharge,
            {
                "id": charge_id,
                "gateway": gateway,
                "idempotency_key": idempotency_key,
                "kind": kind,
                "pnref": pnref,
                "amount": run.text.money(amount, currency),
                "currency": currency,
                "instrument": instrument,
                "status": status,
                "result_code": result_code,
                "response_message": response_message,
                "auth_code": auth_code,
                "return_url": urls[0],
                "cancel_url": urls[1],
                "refund_of_id": refund_of,
                "answered": answered,
                "created_at": run.text.ts(when),
            },
        )
        return charge_id
