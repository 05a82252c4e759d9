"""What the header search finds in the catalog (core/site_search.py): subscriptions, with the
same search condition as their list page."""

from django.urls import reverse

from core.search import search_matches
from core.site_search import Finder, Found

from .filters import SubscriptionFilter
from .models import Subscription


def find_subscriptions(text: str, limit: int) -> list[Found]:
    """Subscriptions by name or code, as the subscriptions list searches."""
    condition = search_matches(
        Subscription.objects.all(), SubscriptionFilter.search_fields, text, bound=limit
    ).condition
    return [
        Found(
            label=subscription.name,
            detail=subscription.code,
            url=reverse("subscriptions:detail", args=[subscription.code]),
        )
        for subscription in Subscription.objects.filter(condition).order_by()[:limit]
    ]


FINDERS = {
    "subscriptions": Finder(
        "Subscriptions",
        "subscriptions.view_subscription",
        find_subscriptions,
        "subscriptions:list",
    ),
}
