"""The e-wallet: an append-only ledger whose balance never goes negative."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from buyers import errors, selectors, services
from buyers.models import WalletBalance, WalletEntry

from .factories import BuyerFactory

pytestmark = pytest.mark.django_db


def balance(buyer, currency="EUR"):
    row = WalletBalance.objects.filter(buyer=buyer, currency=currency).first()
    return row.balance if row else Decimal(0)


def test_top_up_debit_refund_and_adjust_keep_balance_equal_to_the_ledger(staff_user):
    buyer = BuyerFactory()
    services.top_up_wallet(
        buyer=buyer, amount=Decimal("50.00"), currency="EUR", created_by=staff_user
    )
    services.debit_wallet(buyer=buyer, amount=Decimal("19.99"), currency="EUR", reference="P1")
    services.refund_to_wallet(buyer=buyer, amount=Decimal("5.00"), currency="EUR")
    services.adjust_wallet(
        buyer=buyer,
        amount=Decimal("-10"),
        currency="EUR",
        reason="Goodwill fix",
        created_by=staff_user,
    )
    assert balance(buyer) == Decimal("25.01")
    assert selectors.ledger_balance(buyer=buyer, currency="EUR") == Decimal("25.01")
    kinds = list(WalletEntry.objects.order_by("pk").values_list("kind", "amount", "balance_after"))
    assert kinds == [
        ("top_up", Decimal("50"), Decimal("50")),
        ("purchase", Decimal("-19.99"), Decimal("30.01")),
        ("refund", Decimal("5"), Decimal("35.01")),
        ("adjustment", Decimal("-10"), Decimal("25.01")),
    ]


def test_debit_beyond_the_balance_is_refused_and_writes_nothing():
    buyer = BuyerFactory()
    services.top_up_wallet(buyer=buyer, amount=Decimal("10"), currency="EUR")
    with pytest.raises(errors.InsufficientBalance):
        services.debit_wallet(buyer=buyer, amount=Decimal("10.01"), currency="EUR")
    assert balance(buyer) == Decimal("10")
    assert WalletEntry.objects.count() == 1


def test_adjustment_below_zero_is_refused(staff_user):
    buyer = BuyerFactory()
    with pytest.raises(errors.InsufficientBalance):
        services.adjust_wallet(
            buyer=buyer, amount=Decimal("-1"), currency="EUR", reason="x", created_by=staff_user
        )
    assert not WalletEntry.objects.exists()


def test_balances_are_kept_per_currency():
    buyer = BuyerFactory()
    services.top_up_wallet(buyer=buyer, amount=Decimal("10"), currency="EUR")
    with pytest.raises(errors.InsufficientBalance):
        services.debit_wallet(buyer=buyer, amount=Decimal("1"), currency="USD")
    assert balance(buyer, "USD") == 0


@pytest.mark.parametrize(
    ("amount", "currency", "error"),
    [
        ("0", "EUR", errors.InvalidAmount),
        ("-5", "EUR", errors.InvalidAmount),
        ("abc", "EUR", errors.InvalidAmount),
        ("NaN", "EUR", errors.InvalidAmount),
        ("1.234", "EUR", errors.AmountTooPrecise),
        ("10.5", "JPY", errors.AmountTooPrecise),
        ("10", "XXX", errors.InvalidCurrency),
        ("1e20", "EUR", errors.InvalidAmount),
    ],
)
def test_bad_top_ups_are_refused(amount, currency, error):
    buyer = BuyerFactory()
    with pytest.raises(error):
        services.top_up_wallet(buyer=buyer, amount=amount, currency=currency)
    assert not WalletEntry.objects.exists()


def test_adjustment_needs_a_reason(staff_user):
    with pytest.raises(errors.ReasonRequired):
        services.adjust_wallet(
            buyer=BuyerFactory(), amount="5", currency="EUR", reason=" ", created_by=staff_user
        )
    assert not WalletEntry.objects.exists()


def test_ledger_entries_are_never_changed_or_deleted():
    buyer = BuyerFactory()
    entry = services.top_up_wallet(buyer=buyer, amount="5", currency="EUR")
    entry.amount = Decimal("500")
    with pytest.raises(ValueError, match="never changed"):
        entry.save()
    with pytest.raises(ValueError, match="never deleted"):
        entry.delete()
    assert WalletEntry.objects.get().amount == Decimal("5")


def test_database_refuses_a_negative_balance_even_without_the_service():
    buyer = BuyerFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        WalletBalance.objects.create(buyer=buyer, currency="EUR", balance=Decimal("-1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        WalletEntry.objects.create(
            buyer=buyer, kind="adjustment", amount=-1, currency="EUR", balance_after=-1
        )


def test_the_limit_on_staff_changes_is_in_each_currencys_own_units(staff_user, settings):
    settings.WALLET_ADJUSTMENT_LIMIT = {"*": Decimal("100"), "JPY": Decimal("15000")}
    buyer = BuyerFactory()
    services.top_up_wallet(buyer=buyer, amount="15000", currency="JPY", created_by=staff_user)
    with pytest.raises(errors.AmountAboveLimit, match="More than 15000 JPY"):
        services.top_up_wallet(buyer=buyer, amount="15001", currency="JPY", created_by=staff_user)
    with pytest.raises(errors.AmountAboveLimit, match="More than 100 USD"):
        services.adjust_wallet(
            buyer=buyer, amount="150", currency="USD", reason="x", created_by=staff_user
        )
    # Not staff: the services' own movements (payments, refunds) and jobs have no limit.
    services.top_up_wallet(buyer=buyer, amount="5000", currency="USD")
    assert balance(buyer, "JPY") == 15000 and balance(buyer, "USD") == 5000
