"""The data generator's output does not drift: the same seed and `now` give the very same rows.

A digest of every row a small generated shop holds is compared with the one recorded when the
output was last changed on purpose. A change that moves one value (a refactoring, a new draw from
the random generator) changes the digest. When a change to the generator's output is intended,
say so in its commit and record the new digest printed by the failing assertion.
"""

import hashlib
from datetime import UTC, datetime

import pytest
from django.db import models

from buyers.models import Access, AccessActivation, Buyer, WalletBalance, WalletEntry
from purchases.generator import generate_data
from purchases.journal.models import JournalDay, JournalEntry, JournalShopDay
from purchases.models import (
    Cancellation,
    ContractTransaction,
    Purchase,
    PurchaseSession,
    RecurringContract,
    Refund,
    SandboxCharge,
)
from subscriptions.models import (
    Coupon,
    Media,
    PricingModel,
    ShopContacts,
    Subscription,
    SubscriptionMedia,
    SubscriptionPricingModel,
)

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
DIGEST = "8abfaf1d971b10c84ba2135fea0161da08a8a86292d9c164a6f55cb363ddd501"

# Written by the ORM, which sets these columns to the clock's time (or numbers them from a
# sequence that a rolled-back test does not reset); the generator's own values are kept.
CLOCK_OR_SEQUENCE = {
    Coupon: {"created_at"},
    ShopContacts: {"updated_at"},
    Subscription: {"updated_at"},
    PricingModel: {"updated_at"},
    SubscriptionMedia: {"id", "added_at"},
    SubscriptionPricingModel: {"id"},
    Subscription.history.model: {"history_id", "updated_at"},
    PricingModel.history.model: {"history_id", "updated_at"},
    SubscriptionPricingModel.history.model: {"history_id", "id"},
    # The journal's codes are drawn from the seed in SQL on PostgreSQL and in Python elsewhere
    # (both reproducible, not equal); its ids and the days' ids are the database's.
    JournalEntry: {"id", "code", "corrects_id"},
    JournalDay: {"id"},
    JournalShopDay: {"id"},
}
TABLES = [
    Media,
    PricingModel,
    Subscription,
    SubscriptionMedia,
    SubscriptionPricingModel,
    Coupon,
    Coupon.subscriptions.through,
    ShopContacts,
    Subscription.history.model,
    PricingModel.history.model,
    SubscriptionPricingModel.history.model,
    SandboxCharge,
    Buyer,
    Access,
    AccessActivation,
    PurchaseSession,
    Purchase,
    RecurringContract,
    ContractTransaction,
    Refund,
    Cancellation,
    WalletEntry,
    WalletBalance,
    JournalEntry,
    JournalDay,
    JournalShopDay,
]


def plain(value):
    """One text for a value whatever the database (a time in UTC, a decimal as stored)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return repr(value)


def shop_digest():
    digest = hashlib.sha256()
    for model in TABLES:
        skip = CLOCK_OR_SEQUENCE.get(model, set())
        fields = [f for f in model._meta.concrete_fields if f.column not in skip]
        names = [f.attname for f in fields]
        rows = model._default_manager.values_list(*names)
        lines = []
        for row in rows:
            values = []
            for field, value in zip(fields, row, strict=True):
                if field.attname == "pin_hash":  # the hasher's cost moves with Django releases
                    value = bool(value)
                elif isinstance(field, models.JSONField):
                    value = sorted(value)
                values.append(plain(value))
            lines.append("\t".join(values))
        digest.update(f"{model._meta.db_table}\n".encode())
        digest.update("\n".join(sorted(lines)).encode())
    return digest.hexdigest()


@pytest.mark.django_db
def test_same_seed_and_now_give_the_rows_recorded_for_them():
    generate_data(purchases=400, buyers=80, contracts=40, seed=5, now=NOW)
    assert Purchase.objects.count() == 400
    digest = shop_digest()
    assert digest == DIGEST, f"The generated rows changed: their digest is now {digest}."
