from io import StringIO

import pytest
from django.core.management import call_command

from buyers import selectors
from buyers.models import Access, Buyer, WalletBalance, WalletEntry

pytestmark = pytest.mark.django_db


def test_demo_data_has_buyers_with_accesses_and_wallet_history_and_runs_twice():
    call_command("load_demo_data", stdout=StringIO())
    counts = (Buyer.objects.count(), Access.objects.count(), WalletEntry.objects.count())
    assert counts[0] >= 5
    assert counts[1] >= 5
    assert {"top_up", "purchase", "refund", "adjustment"} <= set(
        WalletEntry.objects.values_list("kind", flat=True)
    )
    assert {access.status for access in Access.objects.all()} >= {"active", "expired", "revoked"}
    for balance in WalletBalance.objects.all():
        ledger = selectors.ledger_balance(buyer=balance.buyer, currency=balance.currency)
        assert ledger == balance.balance

    call_command("load_demo_data", stdout=StringIO())
    assert (Buyer.objects.count(), Access.objects.count(), WalletEntry.objects.count()) == counts
