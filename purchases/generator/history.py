"""A buyer's history while it is generated: what the rules about their next move depend on
(what they hold, a pending purchase), their wallet's movements, and the refunds and the
cancellation that follow a purchase. Times are epoch seconds, amounts minor units."""

from typing import NamedTuple


class WalletEvent(NamedTuple):
    """A movement of the buyer's e-wallet, posted to the ledger in time order at the end."""

    when: int
    kind: str  # a WalletEntry.Kind
    amount: int  # minor units, negative for a debit
    currency: str
    reason: str
    reference: str


class BuyerState:
    __slots__ = ("buyer_id", "created", "holding", "pending", "wallet")

    def __init__(self, buyer_id, created):
        self.buyer_id, self.created = buyer_id, created
        self.holding = {}  # subscription id -> until when the buyer holds it (None: no end)
        self.pending = False  # one pending purchase at most
        self.wallet = []  # WalletEvents, in any order

    def is_free(self, product, t):
        """The buyer does not hold `product` at `t` (UserAlreadyHasProduct otherwise)."""
        until = self.holding.get(product.id, 0)
        return until is not None and until <= t


class RefundEvent(NamedTuple):
    when: int
    amount: int
    renewal_id: int | None  # the contract transaction given back, else the purchase's charge
    reason: str


class CancelEvent(NamedTuple):
    when: int
    mode: str  # a Cancellation.Mode
    with_refund: bool  # the refund just before it came with it
