"""Many due contracts at once, written with bulk inserts (for process tests and benchmarks)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from buyers.models import Access, Buyer
from purchases.models import Purchase, RecurringContract
from tests.purchases.factories import offer_for_sale


def due_contracts(count, *, card="tok_approve", batch=5000):
    """`count` active contracts of one recurring product, all due a minute ago."""
    subscription, pricing_model = offer_for_sale(price="10.00", recurring=True)
    now = timezone.now()
    anchor = now - timedelta(days=31)
    due = now - timedelta(minutes=1)
    for start in range(0, count, batch):
        size = min(batch, count - start)
        buyers = Buyer.objects.bulk_create(
            [Buyer(email=f"renew{start + i}@example.com") for i in range(size)]
        )
        accesses = Access.objects.bulk_create(
            [
                Access(buyer=b, subscription=subscription, access_start=anchor, access_expire=due)
                for b in buyers
            ]
        )
        purchases = Purchase.objects.bulk_create(
            [
                Purchase(
                    buyer=b,
                    subscription=subscription,
                    pricing_model=pricing_model,
                    list_price=Decimal("10.00"),
                    amount=Decimal("10.00"),
                    currency="EUR",
                    is_recurring=True,
                    payment_type="sandbox_card",
                    instrument=card,
                    status=Purchase.Status.COMPLETED,
                    access=a,
                    created_at=anchor,
                    completed_at=anchor,
                )
                for b, a in zip(buyers, accesses, strict=True)
            ]
        )
        RecurringContract.objects.bulk_create(
            [
                RecurringContract(
                    purchase=p,
                    buyer=p.buyer,
                    subscription=subscription,
                    pricing_model=pricing_model,
                    access=p.access,
                    amount=Decimal("10.00"),
                    currency="EUR",
                    payment_type="sandbox_card",
                    instrument=card,
                    recurrence_unit="months",
                    recurrence_count=1,
                    anchor=anchor,
                    periods_paid=1,
                    next_bill_date=due,
                    created_at=anchor,
                )
                for p in purchases
            ]
        )
    return subscription
