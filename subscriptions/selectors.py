"""Read queries of the catalog that pages, exports and later apps share, each at a fixed count."""

from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from .models import (
    Coupon,
    Media,
    PricingModel,
    Subscription,
    SubscriptionPricingModel,
)

SUBSCRIPTION_STATUSES = (
    ("active", _("Active")),
    ("upcoming", _("Upcoming")),
    ("expired", _("Expired")),
    ("archived", _("Archived")),
)


def subscription_status_condition(status: str, now: datetime) -> Q:
    """The rows whose `Subscription.status_at(now)` is `status`, as one SQL condition."""
    live = Q(archived_at__isnull=True)
    upcoming = live & Q(sale_start__gt=now)
    over = Q(sale_end__lte=now) | Q(access_expire__lte=now)
    conditions = {
        "archived": Q(archived_at__isnull=False),
        "upcoming": upcoming,
        "expired": live & ~Q(sale_start__gt=now, sale_start__isnull=False) & over,
        "active": live
        & (Q(sale_start__isnull=True) | Q(sale_start__lte=now))
        & (Q(sale_end__isnull=True) | Q(sale_end__gt=now))
        & (Q(access_expire__isnull=True) | Q(access_expire__gt=now)),
    }
    return conditions[status]


def default_offers() -> Prefetch:
    """Prefetch of each subscription's default pricing model into `default_offer_list`."""
    return Prefetch(
        "offers",
        queryset=SubscriptionPricingModel.objects.filter(is_default=True).select_related(
            "pricing_model"
        ),
        to_attr="default_offer_list",
    )


def subscriptions_for_list() -> QuerySet[Subscription]:
    """Subscriptions with their media count and default pricing model, in a fixed number of
    queries. The buyer count is on each subscription's page: counting distinct buyers of live
    accesses reads every access of a subscription, 5.8 s for a page of 25 with 1M accesses
    (tests/bench/RESULTS.md), so a list needs a kept-up counter before it can show it."""
    return Subscription.objects.annotate(media_count=Count("media_links")).prefetch_related(
        default_offers()
    )


def media_for_list() -> QuerySet[Media]:
    return Media.objects.annotate(subscription_count=Count("subscription_links"))


def pricing_models_for_list() -> QuerySet[PricingModel]:
    return PricingModel.objects.annotate(subscription_count=Count("offers"))


def coupons_for_list() -> QuerySet[Coupon]:
    return Coupon.objects.annotate(subscription_count=Count("subscriptions"))


def mandatory_subscription() -> Subscription | None:
    """The subscription buyers must hold to buy anything else (reference 001), if the shop
    marked one; an archived one no longer counts."""
    return Subscription.objects.filter(mandatory=True, archived_at__isnull=True).first()


def offers_of(subscription: Subscription) -> QuerySet[SubscriptionPricingModel]:
    return subscription.offers.select_related("pricing_model").order_by("-is_default", "pk")


def media_of(subscription: Subscription) -> QuerySet:
    """The subscription's media links, oldest first (reference 004 `listmedia`)."""
    return subscription.media_links.select_related("media").order_by("added_at", "pk")


def media_to_attach(subscription: Subscription, search: str, limit: int = 10) -> list[Media]:
    """Media not yet in `subscription` whose title or code contains `search`."""
    queryset = Media.objects.exclude(subscription_links__subscription=subscription)
    if "\x00" in search:
        return []  # no title or code holds NUL, and PostgreSQL cannot even compare with one
    if search:
        queryset = queryset.filter(Q(title__icontains=search) | Q(code__icontains=search))
    return list(queryset.order_by("title", "pk")[:limit])
