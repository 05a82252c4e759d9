"""Concurrent purchases on PostgreSQL, with real threads and connections."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from buyers.models import WalletBalance, WalletEntry
from purchases import errors
from purchases.models import Purchase
from purchases.services.checkout import create_purchase
from tests.purchases.factories import offer_for_sale, wallet_buyer

pytestmark = pytest.mark.django_db(transaction=True)


def run_at_once(count, action):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (make test)")
    barrier, outcomes = threading.Barrier(count), []

    def attempt(index):
        barrier.wait()
        try:
            outcomes.append(action(index))
        except errors.PurchaseError as refusal:
            outcomes.append(refusal)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_twenty_attempts_to_buy_one_product_end_with_exactly_one_purchase():
    subscription, pricing_model = offer_for_sale(price="5.00")
    buyer = wallet_buyer("100.00")
    outcomes = run_at_once(
        20,
        lambda _: create_purchase(
            buyer=buyer,
            subscription=subscription,
            pricing_model=pricing_model,
            payment_type="wallet",
        ),
    )
    bought = [o for o in outcomes if isinstance(o, Purchase)]
    assert len(outcomes) == 20 and len(bought) == 1
    assert all(
        isinstance(o, (errors.UserAlreadyHasProduct, errors.PendingProductCanNotBePurchased))
        for o in outcomes
        if o not in bought
    )
    assert Purchase.objects.count() == 1
    assert WalletBalance.objects.get(buyer=buyer).balance == Decimal("95.00")


def test_concurrent_wallet_purchases_never_overdraw():
    products = [offer_for_sale(price="10.00") for _ in range(8)]
    buyer = wallet_buyer("35.00")
    outcomes = run_at_once(
        8,
        lambda i: create_purchase(
            buyer=buyer,
            subscription=products[i][0],
            pricing_model=products[i][1],
            payment_type="wallet",
        ),
    )
    completed = Purchase.objects.filter(status=Purchase.Status.COMPLETED).count()
    assert completed == 3
    assert WalletBalance.objects.get(buyer=buyer).balance == Decimal("5.00")
    ledger = sum(WalletEntry.objects.filter(buyer=buyer).values_list("amount", flat=True))
    assert ledger == Decimal("5.00")
    assert len(outcomes) == 8
