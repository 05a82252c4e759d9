"""Read queries of purchases used by more than one page."""

from .models import Purchase, RecurringContract

PANEL_ROWS = 10


def recent_purchases_of(buyer, limit: int = PANEL_ROWS):
    """The buyer's latest purchases, with what the panel shows, in one query."""
    return list(
        Purchase.objects.filter(buyer=buyer)
        .select_related("subscription")
        .order_by("-created_at", "-pk")[: limit + 1]
    )


def contracts_of(buyer, limit: int = PANEL_ROWS):
    return list(
        RecurringContract.objects.filter(buyer=buyer)
        .select_related("subscription")
        .order_by("-created_at", "-pk")[: limit + 1]
    )
