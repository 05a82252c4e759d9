"""Read queries on buyers and accesses used by more than one place, at a fixed query count."""

from decimal import Decimal

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Access, Buyer, WalletBalance, WalletEntry


def live_access_q(now=None, prefix: str = "") -> Q:
    """Accesses neither revoked nor expired at `now` (those not started yet count as live)."""
    now = now or timezone.now()
    return Q(**{f"{prefix}revoked_at__isnull": True}) & (
        Q(**{f"{prefix}access_expire__isnull": True}) | Q(**{f"{prefix}access_expire__gt": now})
    )


def live_access_of(*, buyer, subscription, now=None) -> Access | None:
    """The buyer's live access to the subscription (the oldest, should there be several)."""
    return (
        Access.objects.filter(live_access_q(now), buyer=buyer, subscription=subscription)
        .order_by("purchased_at", "pk")
        .first()
    )


def access_status_q(status: str, now=None) -> Q:
    """The accesses whose status (as `Access.status_at` computes it) is `status`."""
    now = now or timezone.now()
    if status == Access.Status.REVOKED:
        return Q(revoked_at__isnull=False)
    if status == Access.Status.EXPIRED:
        return Q(revoked_at__isnull=True, access_expire__lte=now)
    return live_access_q(now)


def with_wallet_money_q() -> Q:
    """Buyers with money in an e-wallet (a positive balance in any currency)."""
    return Q(Exists(WalletBalance.objects.filter(buyer=OuterRef("pk"), balance__gt=0)))


def buyers_for_list() -> QuerySet[Buyer]:
    """Buyers with what the list shows: live access count and wallet balances (no query per row)."""
    live = Access.objects.filter(live_access_q(), buyer=OuterRef("pk"))
    return Buyer.objects.annotate(
        live_access_count=Coalesce(
            Subquery(
                live.order_by().values("buyer").annotate(n=Count("pk")).values("n"),
                output_field=IntegerField(),
            ),
            0,
        ),
    ).prefetch_related(
        Prefetch(
            "wallet_balances",
            queryset=WalletBalance.objects.filter(balance__gt=0),
            to_attr="positive_balances",
        )
    )


def accesses_for_list() -> QuerySet[Access]:
    return Access.objects.select_related("buyer", "subscription", "granted_by", "revoked_by")


def accesses_by_email(*, subscription, email: str) -> QuerySet[Access]:
    """Reference 004 `listbuyers`: a subscription's accesses whose buyer has this e-mail (any
    letter case). Several may match: a buyer may hold several accesses."""
    return accesses_for_list().filter(subscription=subscription, buyer__email__iexact=email.strip())


def buyer_counts_by_subscription(subscription_ids=None) -> dict[int, int]:
    """{subscription id: number of distinct buyers holding a live access} in one query."""
    accesses = Access.objects.filter(live_access_q())
    if subscription_ids is not None:
        accesses = accesses.filter(subscription_id__in=list(subscription_ids))
    rows = (
        accesses.order_by()
        .values("subscription_id")
        .annotate(buyers=Count("buyer_id", distinct=True))
        .values_list("subscription_id", "buyers")
    )
    return dict(rows)


def with_buyer_count(subscriptions: QuerySet, name: str = "buyer_count") -> QuerySet:
    """Annotate a Subscription queryset with the number of distinct buyers holding a live access,
    as a subquery, so a list page shows it without a query per row and can sort by it."""
    counts = (
        Access.objects.filter(live_access_q(), subscription=OuterRef("pk"))
        .order_by()
        .values("subscription")
        .annotate(n=Count("buyer_id", distinct=True))
        .values("n")
    )
    return subscriptions.annotate(
        **{name: Coalesce(Subquery(counts, output_field=IntegerField()), 0)}
    )


def wallet_balances(buyer: Buyer) -> list[WalletBalance]:
    return list(buyer.wallet_balances.order_by("currency"))


def ledger_balance(*, buyer: Buyer, currency: str) -> Decimal:
    """The balance as the sum of the ledger: what WalletBalance must always equal."""
    total = WalletEntry.objects.filter(buyer=buyer, currency=currency).aggregate(
        total=Sum("amount")
    )["total"]
    return total if total is not None else Decimal(0)


PANEL_ROWS = 20


def subscription_accesses_panel(subscription, *, email: str = "", user=None) -> dict:
    """The context `buyers/partials/subscription_accesses.html` needs for one subscription: its
    latest accesses (or those of the buyers with `email`, `listbuyers`), in two queries."""
    accesses = accesses_for_list().filter(subscription=subscription)
    email = (email or "").strip()
    if "\x00" in email:
        # No stored e-mail holds NUL, and PostgreSQL cannot even compare with one.
        accesses = accesses.none()
    elif email:
        accesses = accesses.filter(buyer__email__iexact=email)
    rows = list(accesses[: PANEL_ROWS + 1])
    return {
        "subscription_accesses": rows[:PANEL_ROWS],
        "subscription_accesses_more": len(rows) > PANEL_ROWS,
        "subscription_accesses_email": email,
        "subscription_buyer_count": buyer_counts_by_subscription([subscription.pk]).get(
            subscription.pk, 0
        ),
        "may_grant_access": bool(user and user.has_perm("buyers.add_access")),
    }
