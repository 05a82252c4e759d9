"""What the header search finds among purchases and contracts (core/site_search.py): by whole
code or gateway reference, which their list pages' search matches whole through an index."""

from django.urls import reverse

from core.search import search_matches
from core.site_search import Finder, Found

from .models import Purchase, RecurringContract


def find_purchases(text: str, limit: int) -> list[Found]:
    """A purchase by its code or its gateway reference (PNRef)."""
    condition = search_matches(
        Purchase.objects.all(), ("=code", "=gateway_reference"), text, bound=limit
    ).condition
    purchases = Purchase.objects.filter(condition).select_related("buyer", "subscription")
    return [
        Found(
            label=str(purchase),
            detail=f"{purchase.buyer} · {purchase.get_status_display()}",
            url=reverse("purchases:detail", args=[purchase.code]),
        )
        for purchase in purchases.order_by()[:limit]
    ]


def find_contracts(text: str, limit: int) -> list[Found]:
    """A contract by its code, or by the gateway reference (PNRef) of one of its charges."""
    condition = search_matches(
        RecurringContract.objects.all(), ("=code", "=transactions__pnref"), text, bound=limit
    ).condition
    contracts = RecurringContract.objects.filter(condition).select_related("buyer", "subscription")
    return [
        Found(
            label=f"{contract} · {contract.subscription.name}",
            detail=f"{contract.buyer} · {contract.get_status_display()}",
            url=reverse("contracts:detail", args=[contract.code]),
        )
        for contract in contracts.order_by()[:limit]
    ]


FINDERS = {
    "purchases": Finder("Purchases", "purchases.view_purchase", find_purchases, "purchases:list"),
    "contracts": Finder(
        "Contracts", "purchases.view_recurringcontract", find_contracts, "contracts:list"
    ),
}
