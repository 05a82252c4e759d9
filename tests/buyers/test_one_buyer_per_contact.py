"""One buyer per e-mail and per phone (separators aside), kept by the database: parallel grants
for one new buyer make one buyer; buyers who shared a phone before are marked, not merged."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from buyers import errors, services
from buyers.models import Access, Buyer

from .factories import BuyerFactory, SubscriptionFactory
from .test_concurrency import run_together

pytestmark = pytest.mark.django_db


def test_a_phone_typed_with_other_separators_is_the_same_phone():
    first = services.create_buyer(phone="+33 1 23-45-67")
    with pytest.raises(errors.PhoneTaken) as refused:
        services.create_buyer(phone="+33 (1) 234.567", email="other@example.com")
    assert refused.value.field == "phone"
    assert services.find_buyer(phone="+331234567") == first
    assert Buyer.objects.count() == 1


def test_granting_to_a_known_phone_finds_its_buyer_and_another_e_mail_is_refused():
    buyer = services.create_buyer(phone="+1 555 0100", email="ann@example.com")
    access = services.grant_access(subscription=SubscriptionFactory(), phone="+1-555-0100")
    assert access.buyer == buyer
    with pytest.raises(errors.PhoneTaken):
        services.grant_access(
            subscription=SubscriptionFactory(), phone="+15550100", email="bob@example.com"
        )


def test_get_or_create_reads_the_buyer_written_by_a_concurrent_request():
    """The loser of the race meets the unique index and reads the winner's row back."""
    winner = BuyerFactory(email="", phone="+44 20 7946 0000")
    original_find = services.find_buyer
    calls = []

    def find_nothing_the_first_time(**contacts):
        calls.append(contacts)
        return None if len(calls) == 1 else original_find(**contacts)

    services.find_buyer = find_nothing_the_first_time
    try:
        buyer, created = services.get_or_create_buyer(phone="+44 20 7946 0000")
    finally:
        services.find_buyer = original_find
    assert (buyer, created) == (winner, False)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("contact", [{"phone": "+49 30 1234567"}, {"email": "new@example.com"}])
def test_ten_parallel_grants_for_one_new_buyer_make_one_buyer(contact):
    if connection.vendor != "postgresql":
        pytest.skip("races are tested on PostgreSQL: run `make test`")
    subscriptions = [SubscriptionFactory() for _ in range(10)]

    results = run_together(
        lambda n: services.grant_access(subscription=subscriptions[n], **contact), count=10
    )

    assert [r for r in results if not isinstance(r, Access)] == []
    assert Buyer.objects.count() == 1
    assert Access.objects.filter(buyer=Buyer.objects.get()).count() == 10


@pytest.mark.django_db(transaction=True)
def test_the_migration_marks_buyers_who_shared_a_phone_and_keeps_their_records():
    executor = MigrationExecutor(connection)
    before = [("buyers", "0008_access_hash_per_subscription")]
    after = [("buyers", "0009_one_buyer_per_phone")]
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    OldBuyer = old_apps.get_model("buyers", "Buyer")
    OldWalletBalance = old_apps.get_model("buyers", "WalletBalance")
    first = OldBuyer.objects.create(code="AAAAAAA1", phone="+33 1 23 45", email="a@example.com")
    second = OldBuyer.objects.create(code="AAAAAAA2", phone="+33-1-23-45", email="b@example.com")
    alone = OldBuyer.objects.create(code="AAAAAAA3", phone="+33 9 99 99")
    OldWalletBalance.objects.create(buyer=second, currency="EUR", balance=Decimal("5"))

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    marked = dict(Buyer.objects.values_list("code", "duplicate_of__code"))
    assert marked == {"AAAAAAA1": None, "AAAAAAA2": "AAAAAAA1", "AAAAAAA3": None}
    assert services.find_buyer(phone="+33 1 23 45").pk == first.pk
    assert Buyer.objects.get(pk=second.pk).wallet_balances.get().balance == Decimal("5")
    assert Buyer.objects.get(pk=alone.pk).duplicate_of is None
