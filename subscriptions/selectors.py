"""Read queries of the catalog that pages, exports and later apps share, each at a fixed count."""

from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.db.models import Count, Prefetch, Q, QuerySet

from core.money import format_amount

from .models import (
    Coupon,
    Media,
    PricingModel,
    Subscription,
    SubscriptionMedia,
    SubscriptionPricingModel,
)

SUBSCRIPTION_STATUSES = (
    ("active", "Active"),
    ("upcoming", "Upcoming"),
    ("expired", "Expired"),
    ("archived", "Archived"),
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


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime
    who: str
    action: str
    what: str
    changes: list[tuple[str, object, object]]


ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def shown_value(field, value, record):
    """A field's value as staff read it: money with its currency's digits and code, a choice's
    label, yes or no."""
    if value is None or value == "":
        return None
    currency = getattr(record, "currency", None)
    if isinstance(field, models.DecimalField) and currency:
        return format_amount(value, currency)
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(field, models.BooleanField):
        return "yes" if value else "no"
    return value


def history_of(instance, *, limit: int = 20, label=None) -> list[HistoryEntry]:
    """The latest changes of `instance`, newest first: who, when and each field's old and new."""
    records = list(
        instance.history.select_related("history_user").order_by("-history_date")[: limit + 1]
    )
    entries = []
    if not records:  # rows written without history (bulk loads, fixtures)
        return entries
    for newer, older in zip(records, [*records[1:], None], strict=True):
        if len(entries) == limit:
            break
        changes = []
        if older is not None and newer.history_type == "~":
            delta = newer.diff_against(older)
            for change in delta.changes:
                field = instance._meta.get_field(change.field)
                changes.append(
                    (
                        str(field.verbose_name),
                        shown_value(field, change.old, older),
                        shown_value(field, change.new, newer),
                    )
                )
        entries.append(
            HistoryEntry(
                when=newer.history_date,
                who=str(newer.history_user) if newer.history_user else "system",
                action=ACTIONS.get(newer.history_type, newer.history_type),
                what=label(newer) if label else "",
                changes=changes,
            )
        )
    return entries


def subscription_history_of(subscription: Subscription, *, limit: int = 20) -> list[HistoryEntry]:
    """The subscription's own changes and the media attached to it or detached, newest first."""
    entries = history_of(subscription, limit=limit) + media_history_of(subscription, limit=limit)
    return sorted(entries, key=lambda entry: entry.when, reverse=True)[:limit]


def media_history_of(subscription: Subscription, *, limit: int = 20) -> list[HistoryEntry]:
    """Media attached to `subscription` or detached from it, newest first."""
    records = list(
        SubscriptionMedia.history.filter(subscription_id=subscription.pk)
        .select_related("history_user")
        .order_by("-history_date")[:limit]
    )
    media = Media.objects.in_bulk({record.media_id for record in records})
    entries = []
    for record in records:
        if record.history_type not in ("+", "-"):
            continue
        item = media.get(record.media_id)
        name = f"“{item.title}” ({item.code})" if item else f"media #{record.media_id}"
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=str(record.history_user) if record.history_user else "system",
                action="attached media" if record.history_type == "+" else "detached media",
                what=name,
                changes=[],
            )
        )
    return entries


def offer_history_of(subscription: Subscription, *, limit: int = 20) -> list[HistoryEntry]:
    """Pricing models offered by `subscription` added, removed or made default, newest first."""
    records = (
        SubscriptionPricingModel.history.filter(subscription_id=subscription.pk)
        .select_related("history_user")
        .order_by("-history_date")[:limit]
    )
    pricing_models = PricingModel.objects.in_bulk({r.pricing_model_id for r in records})
    entries = []
    for record in records:
        pricing_model = pricing_models.get(record.pricing_model_id)
        name = str(pricing_model) if pricing_model else f"pricing model #{record.pricing_model_id}"
        action = {"+": "offered", "-": "withdrawn", "~": "changed"}[record.history_type]
        if record.history_type != "-" and record.is_default:
            action += " (default)"
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=str(record.history_user) if record.history_user else "system",
                action=action,
                what=name,
                changes=[],
            )
        )
    return entries
