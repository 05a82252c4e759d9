"""What a buyer's self-service page shows: only that buyer's rows, in a fixed number of
queries whatever how many they have."""

from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.utils import timezone

from buyers.models import Access, Buyer

from ..gateways import describe_instrument, get_gateway
from ..models import WALLET, ContractTransaction, Purchase, RecurringContract, Refund

# A page for one person: the newest rows are what they come for.
SHOWN_ROWS = 50


@dataclass
class ContractView:
    contract: RecurringContract
    card: str
    live: bool
    can_stop: bool
    can_reactivate: bool
    can_change_card: bool
    can_pause: bool
    can_resume: bool

    def offers(self, action: str) -> bool:
        """Whether the page offers this action on this subscription now."""
        return {
            "card": self.can_change_card,
            "stop": self.can_stop,
            "reactivate": self.can_reactivate,
            "pause": self.can_pause,
            "resume": self.can_resume,
        }[action]

    # Filled by the page: each action's form, and why the last action was refused.
    forms: dict = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)


@dataclass
class BuyerOverview:
    buyer: Buyer
    contracts: list[ContractView] = field(default_factory=list)
    accesses: list[Access] = field(default_factory=list)
    purchases: list[Purchase] = field(default_factory=list)
    renewal_charges: list[ContractTransaction] = field(default_factory=list)


def buyer_contract(buyer: Buyer, code: str) -> RecurringContract | None:
    """`buyer`'s contract with this public code; None for anyone else's (or none)."""
    code = str(code or "")
    # Codes are letters and digits: anything else names nothing (and a NUL would not even
    # reach PostgreSQL as a query parameter).
    if not (code.isascii() and code.isalnum() and len(code) <= 20):
        return None
    return (
        RecurringContract.objects.select_related("purchase", "subscription", "access")
        .filter(buyer=buyer, code=code)
        .first()
    )


def pays_by_stored_card(contract: RecurringContract) -> bool:
    """Whether the page offers a new card (change_contract_card still decides)."""
    gateway = get_gateway(contract.payment_type)
    return contract.payment_type != WALLET and gateway is not None and not gateway.is_redirect


def buyer_overview(buyer: Buyer, *, now=None) -> BuyerOverview:
    """The buyer's contracts (newest first) with what they may do to each, their accesses and
    their receipts: purchases with refunds, and renewal charges."""
    now = now or timezone.now()
    refunds = Prefetch("refunds", queryset=Refund.objects.order_by("created_at", "pk"))
    contracts = (
        RecurringContract.objects.filter(buyer=buyer)
        .select_related("subscription", "pricing_model", "purchase")
        .order_by("-created_at", "-pk")[:SHOWN_ROWS]
    )
    overview = BuyerOverview(buyer=buyer)
    for contract in contracts:
        live = contract.status in RecurringContract.LIVE_STATUSES
        paused = contract.status == RecurringContract.Status.PAUSED
        overview.contracts.append(
            ContractView(
                contract=contract,
                card=describe_instrument(contract.payment_type, contract.instrument),
                live=live,
                can_stop=live and not contract.cancel_at_period_end,
                can_reactivate=live
                and contract.cancel_at_period_end
                and contract.next_bill_date > now,
                can_change_card=(live or paused) and pays_by_stored_card(contract),
                # As staff are offered them (purchases/pause_pages.py); the service decides.
                can_pause=contract.status == RecurringContract.Status.ACTIVE
                and not contract.cancel_at_period_end,
                can_resume=paused,
            )
        )
    overview.accesses = list(
        Access.objects.filter(buyer=buyer)
        .select_related("subscription")
        .order_by("-purchased_at", "-pk")[:SHOWN_ROWS]
    )
    overview.purchases = list(
        Purchase.objects.filter(buyer=buyer, status__in=Purchase.PAID_STATUSES)
        .select_related("subscription", "pricing_model")
        .prefetch_related(refunds)
        .order_by("-created_at", "-pk")[:SHOWN_ROWS]
    )
    overview.renewal_charges = list(
        ContractTransaction.objects.filter(
            contract__buyer=buyer, status=ContractTransaction.Status.APPROVED
        )
        .select_related("contract__subscription")
        .order_by("-transaction_date", "-pk")[:SHOWN_ROWS]
    )
    return overview
