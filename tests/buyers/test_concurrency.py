"""Rules that must hold when requests race, proven with real threads on PostgreSQL.

Each thread has its own database connection and transaction; a barrier starts them together.
SQLite serialises writers by locking the whole file, so these tests only mean something on
PostgreSQL (`make test`).
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from buyers import errors, selectors, services
from buyers.models import AccessActivation, WalletBalance, WalletEntry
from buyers.services import AccessRefusal

from .factories import AccessFactory, BuyerFactory, SubscriptionFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks (SELECT ... FOR UPDATE) are tested on PostgreSQL: run `make test`",
    ),
]

THREADS = 12


def run_together(work, count=THREADS):
    """Run `work(n)` in `count` threads started at once; return each result or exception."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def target(n):
        try:
            barrier.wait(timeout=10)
            results[n] = work(n)
        except Exception as error:  # the refusals are the point
            results[n] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_debits_never_take_the_balance_below_zero():
    buyer = BuyerFactory()
    services.top_up_wallet(buyer=buyer, amount=Decimal("100"), currency="EUR")

    results = run_together(
        lambda n: services.debit_wallet(buyer=buyer, amount=Decimal("15"), currency="EUR")
    )

    succeeded = [r for r in results if isinstance(r, WalletEntry)]
    refused = [r for r in results if isinstance(r, errors.InsufficientBalance)]
    assert (len(succeeded), len(refused)) == (6, THREADS - 6)
    assert WalletBalance.objects.get(buyer=buyer).balance == Decimal("10")
    assert selectors.ledger_balance(buyer=buyer, currency="EUR") == Decimal("10")
    assert sorted(e.balance_after for e in succeeded) == [
        Decimal(v) for v in (10, 25, 40, 55, 70, 85)
    ]


def test_concurrent_checks_from_new_devices_never_exceed_the_activation_limit():
    access = AccessFactory(activation_limit=3)

    results = run_together(
        lambda n: services.check_access(
            subscription_code=access.subscription.code,
            access_password=access.hash,
            device_id=f"device-{n}",
        )
    )

    assert sum(r.granted for r in results) == 3
    assert {r.reason for r in results if not r.granted} == {AccessRefusal.ACTIVATION_LIMIT_REACHED}
    access.refresh_from_db()
    assert access.activations_used == 3
    assert AccessActivation.objects.filter(access=access).count() == 3


def test_concurrent_checks_from_one_device_count_one_activation():
    access = AccessFactory(activation_limit=5)

    results = run_together(
        lambda n: services.check_access(
            subscription_code=access.subscription.code,
            access_password=access.hash,
            device_id="the-same-tv",
        )
    )

    assert all(r.granted for r in results)
    access.refresh_from_db()
    assert access.activations_used == 1


def test_concurrent_grants_never_exceed_the_stock():
    subscription = SubscriptionFactory(stock=4)
    buyers = [BuyerFactory() for _ in range(THREADS)]

    results = run_together(
        lambda n: services.grant_access(subscription=subscription, buyer=buyers[n])
    )

    refused = [r for r in results if isinstance(r, errors.SubscriptionOutOfStock)]
    assert len(refused) == THREADS - 4
    assert subscription.accesses.count() == 4


def test_concurrent_wrong_pins_are_all_counted(settings):
    settings.PURCHASE_PIN_FAILURE_LIMIT = 100
    buyer = services.set_purchase_pin(buyer=BuyerFactory(), pin="1234")

    run_together(lambda n: services.verify_purchase_pin(buyer=buyer, pin="0000"))

    buyer.refresh_from_db()
    assert buyer.pin_failed_attempts == THREADS


def test_a_bulk_operation_run_by_two_workers_at_once_changes_each_access_once(settings):
    from datetime import timedelta

    from django.utils import timezone

    from buyers import bulk
    from buyers.models import Access, BulkItem, BulkOperation

    settings.BULK_CHUNK_SIZE = 3
    subscription = SubscriptionFactory()
    end = timezone.now() + timedelta(days=5)
    accesses = [AccessFactory(subscription=subscription, access_expire=end) for _ in range(20)]
    operation = bulk.start_operation(  # not handed to a worker: the threads are the workers
        action=BulkOperation.Action.EXTEND,
        access_ids=[access.pk for access in accesses],
        days=2,
        started_by=None,
    )
    results = run_together(lambda n: bulk.run_operation(operation.pk), count=4)
    assert not [result for result in results if isinstance(result, Exception)]
    operation.refresh_from_db()
    assert (operation.state, operation.done_count, operation.failed_count) == ("done", 20, 0)
    assert BulkItem.objects.filter(operation=operation).count() == 20
    assert set(Access.objects.values_list("access_expire", flat=True)) == {end + timedelta(days=2)}
