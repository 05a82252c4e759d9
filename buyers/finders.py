"""What the header search finds among buyers and accesses (core/site_search.py), with the same
search conditions as their list pages."""

from django.urls import reverse

from core.search import search_matches
from core.site_search import SHORTEST_PART, Finder, Found

from .filters import BuyerFilter
from .models import Access, Buyer


def find_buyers(text: str, limit: int) -> list[Found]:
    """Buyers by e-mail, phone or name (any part of at least SHORTEST_PART characters) or whole
    code, as the buyers list searches."""
    if len(text) < SHORTEST_PART:
        return []
    buyers = Buyer.objects.filter(
        search_matches(Buyer.objects.all(), BuyerFilter.search_fields, text, bound=limit).condition
    )
    return [
        Found(
            label=str(buyer),
            detail=" · ".join(part for part in (buyer.email, buyer.phone, buyer.code) if part),
            url=reverse("buyers:detail", args=[buyer.code]),
        )
        for buyer in buyers.order_by()[:limit]
    ]


def find_accesses(text: str, limit: int) -> list[Found]:
    """An access by its whole code."""
    accesses = Access.objects.filter(
        search_matches(Access.objects.all(), ("=code",), text, bound=limit).condition
    )
    return [
        Found(
            label=f"{access.code} · {access.subscription.name}",
            detail=str(access.buyer),
            url=reverse("accesses:detail", args=[access.code]),
        )
        for access in accesses.select_related("buyer", "subscription").order_by()[:limit]
    ]


FINDERS = {
    "buyers": Finder("Buyers", "buyers.view_buyer", find_buyers, "buyers:list"),
    "accesses": Finder("Accesses", "buyers.view_access", find_accesses, "accesses:list"),
}
