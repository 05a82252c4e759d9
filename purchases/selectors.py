"""Read queries of purchases used by more than one place."""

from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from buyers.models import Access
from buyers.selectors import live_access_q
from core.money import STORED_DECIMAL_PLACES

from .models import Purchase, RecurringContract, Refund

PANEL_ROWS = 10
MONEY = DecimalField(max_digits=18, decimal_places=STORED_DECIMAL_PLACES)


def recent_purchases_of(buyer, limit: int = PANEL_ROWS):
    """The buyer's latest purchases, with what the panel shows, in one query."""
    return list(
        Purchase.objects.filter(buyer=buyer)
        .select_related("subscription")
        .order_by("-created_at", "-pk")[: limit + 1]
    )


def coupon_redemptions(coupon, limit: int = 20):
    """The latest paid purchases made with `coupon` (its uses), with their buyers, in one query;
    one more than `limit` tells that there are more."""
    return list(
        Purchase.objects.filter(coupon=coupon, status__in=Purchase.PAID_STATUSES)
        .select_related("buyer")
        .only(
            "code",
            "created_at",
            "completed_at",
            "status",
            "discount",
            "currency",
            "buyer__code",
            "buyer__email",
            "buyer__phone",
        )
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


def refunded_amount():
    """The sum of the refunds of a purchase's own payment (0 when none), as a correlated
    subquery: the purchases export's column. A refund of one of its renewal charges gives back
    that charge, not this."""
    refunds = (
        Refund.objects.filter(purchase=OuterRef("pk"), contract_transaction__isnull=True)
        .order_by()
        .values("purchase")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(refunds, output_field=MONEY), Value(Decimal(0)), output_field=MONEY)
