"""Read queries of purchases used by more than one page."""

from django.utils import timezone

from buyers.models import Access
from buyers.selectors import live_access_q

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


def buyer_products(buyer, now=None):
    """What the buyer can watch now: each access live and started, soonest to end first, with
    its subscription and the purchase that made it (None when granted), in one query."""
    now = now or timezone.now()
    return (
        Access.objects.filter(live_access_q(now), buyer=buyer)
        .exclude(access_start__gt=now)
        .select_related("subscription", "purchase__pricing_model")
        .order_by("access_expire", "pk")
    )
