"""The data generator (purchases/generator/): every generated row keeps the services' rules."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from buyers.models import (
    ACCESS_HASH_ALPHABET,
    Access,
    AccessActivation,
    Buyer,
    WalletBalance,
    WalletEntry,
)
from core.codes import CODE_ALPHABET
from core.money import quantize
from purchases.gateways.sandbox import pay_on_sandbox_page
from purchases.generator import ShopHasPurchases, generate_data
from purchases.models import (
    Cancellation,
    ContractTransaction,
    Purchase,
    PurchaseSession,
    RecurringContract,
    Refund,
    SandboxCharge,
)
from purchases.recurrence import period_end
from purchases.renewals import renew_due_contracts
from purchases.services.cancellations import refund_purchase
from purchases.services.checkout import confirm_purchase
from subscriptions.models import Coupon, PricingModel, Subscription

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
PURCHASES, BUYERS, CONTRACTS = 2000, 300, 200
PAID = ("completed", "cancelling", "cancelled", "refunded")

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return generate_data(purchases=PURCHASES, buyers=BUYERS, contracts=CONTRACTS, seed=7, now=NOW)


# The generator makes no paused contracts yet (pauses are new this step; their pages and rules
# are tested in tests/purchases/test_contract_pause*.py on contracts made for those tests).
GENERATED_CONTRACT_STATUSES = [
    status for status in RecurringContract.Status.values if status != "paused"
]


def test_counts_and_every_status_and_kind_present(shop):
    assert Purchase.objects.count() == PURCHASES
    assert Buyer.objects.count() == BUYERS
    assert RecurringContract.objects.count() == CONTRACTS
    assert set(Purchase.objects.values_list("status", flat=True)) == set(Purchase.Status.values)
    assert set(RecurringContract.objects.values_list("status", flat=True)) == set(
        GENERATED_CONTRACT_STATUSES
    )
    assert set(ContractTransaction.objects.values_list("status", flat=True)) == {
        "approved",
        "declined",
    }
    assert ContractTransaction.objects.filter(attempt__gt=1, status="approved").exists()
    assert set(Subscription.objects.values_list("kind", flat=True)) == set(Subscription.Kind.values)
    assert set(Subscription.objects.values_list("scope", flat=True)) == {"single", "group"}
    assert set(PricingModel.objects.values_list("currency", flat=True)) == {"EUR", "USD", "JPY"}
    assert {True, False} == set(PricingModel.objects.values_list("is_recurring", flat=True))
    assert set(Purchase.objects.values_list("currency", flat=True)) == {"EUR", "USD", "JPY"}
    assert Buyer.objects.filter(email="").exclude(phone="").exists()  # phone-only buyers
    assert Buyer.objects.filter(name__regex=r"[А-Яа-я]").exists()  # Cyrillic names
    assert set(WalletEntry.objects.values_list("kind", flat=True)) == set(WalletEntry.Kind.values)
    assert Purchase.objects.exclude(coupon=None).exists()
    assert Refund.objects.exclude(contract_transaction=None).exists()  # a renewal given back
    assert Access.objects.filter(purchase__isnull=True).exists()  # granted by staff
    assert AccessActivation.objects.exists()
    first, last = Purchase.objects.order_by("created_at").values_list("created_at", flat=True)[
        :: PURCHASES - 1
    ]
    assert first < NOW - timedelta(days=600) and NOW - timedelta(days=5) < last <= NOW


def test_one_access_per_paid_purchase_and_none_otherwise(shop):
    for purchase in Purchase.objects.select_related("access"):
        if purchase.status in PAID:
            access = purchase.access
            assert access is not None, purchase.status
            assert (access.buyer_id, access.subscription_id) == (
                purchase.buyer_id,
                purchase.subscription_id,
            )
            if purchase.status == "refunded":
                assert access.revoked_at is not None
            if purchase.status == "cancelled":  # ended now, or at the period's end
                assert access.revoked_at is not None or (
                    purchase.contract.status == "expired" and access.access_expire <= NOW
                )
        else:
            assert purchase.access_id is None
            assert purchase.completed_at is None
    # No purchase of a product while the buyer held it (UserAlreadyHasProduct).
    held = defaultdict(list)
    for access in Access.objects.all():
        held[access.buyer_id, access.subscription_id].append(access)
    for purchase in Purchase.objects.all():
        for access in held[purchase.buyer_id, purchase.subscription_id]:
            if access.pk == purchase.access_id:
                continue
            start = access.purchased_at
            end = access.revoked_at or access.access_expire
            assert not (start <= purchase.created_at and (end is None or purchase.created_at < end))


def test_amounts_reconcile_in_each_currencys_minor_units(shop):
    for purchase in Purchase.objects.select_related("pricing_model"):
        currency = purchase.currency
        assert currency == purchase.pricing_model.currency
        for value in (purchase.list_price, purchase.discount, purchase.amount):
            assert value >= 0 and quantize(value, currency) == value
        assert purchase.amount == purchase.list_price - purchase.discount
        assert purchase.list_price == purchase.pricing_model.price
        assert purchase.is_recurring == purchase.pricing_model.is_recurring
    for coupon in Coupon.objects.all():
        used = Purchase.objects.filter(coupon=coupon, status__in=PAID).count()
        assert coupon.uses == used
        assert coupon.use_limit is None or coupon.uses <= coupon.use_limit


def test_refunds_never_exceed_what_was_paid(shop):
    for purchase in Purchase.objects.annotate(n=Count("refunds")).filter(n__gt=0):
        own = purchase.refunds.filter(contract_transaction=None).aggregate(s=Sum("amount"))["s"]
        assert (own or 0) <= purchase.amount
        if purchase.status == "refunded":
            assert own == purchase.amount
        for refund in purchase.refunds.all():
            assert refund.currency == purchase.currency and refund.amount > 0
            assert refund.created_at >= purchase.created_at
            if refund.contract_transaction_id:
                assert refund.amount <= refund.contract_transaction.amount
                assert refund.contract_transaction.status == "approved"
    assert Purchase.objects.filter(status="completed", refunds__isnull=False).exists()
    for cancellation in Cancellation.objects.select_related("purchase"):
        assert cancellation.purchase.is_recurring
        assert cancellation.purchase.status in ("cancelling", "cancelled")


def test_wallet_balances_equal_their_ledgers_and_never_go_negative(shop):
    running = {}
    for entry in WalletEntry.objects.order_by("buyer_id", "currency", "created_at", "pk"):
        key = (entry.buyer_id, entry.currency)
        running[key] = running.get(key, Decimal(0)) + entry.amount
        assert entry.balance_after == running[key] >= 0
        assert quantize(entry.amount, entry.currency) == entry.amount
    balances = {(b.buyer_id, b.currency): b.balance for b in WalletBalance.objects.all()}
    assert balances == running
    # Every wallet purchase and renewal is on the ledger, every wallet refund too.
    for purchase in Purchase.objects.filter(payment_type="wallet", status__in=PAID, amount__gt=0):
        debit = WalletEntry.objects.get(reference=purchase.code, kind="purchase")
        assert debit.amount == -purchase.amount
    for refund in Refund.objects.filter(method="wallet"):
        assert WalletEntry.objects.filter(
            reference=refund.purchase.code, kind="refund", amount=refund.amount
        ).exists()


def test_contracts_match_their_purchases_and_transaction_histories(shop):
    recurring_paid = Purchase.objects.filter(is_recurring=True, status__in=PAID)
    assert RecurringContract.objects.count() == recurring_paid.count()
    for contract in RecurringContract.objects.select_related("purchase"):
        purchase = contract.purchase
        assert contract.access_id == purchase.access_id
        assert (contract.buyer_id, contract.subscription_id) == (
            purchase.buyer_id,
            purchase.subscription_id,
        )
        approved = contract.transactions.filter(status="approved")
        first_paid_by_purchase = 0 if purchase.trial_ends_at else 1
        assert contract.periods_paid == approved.count() + first_paid_by_purchase
        assert sorted(approved.values_list("period", flat=True)) == list(
            range(1 + first_paid_by_purchase, contract.periods_paid + 1)
        )
        for charge in contract.transactions.all():
            assert charge.idempotency_key == (
                f"contract:{contract.code}:period:{charge.period}:attempt:{charge.attempt}"
            )
            assert charge.amount == contract.amount and charge.currency == contract.currency
            assert charge.transaction_date <= NOW
            if contract.payment_type == "wallet" and charge.status == "approved":
                assert WalletEntry.objects.filter(reference=charge.idempotency_key).exists()
        if contract.status == "past_due":
            assert contract.failed_attempts >= 1 and contract.next_retry_at > NOW
        if contract.status == "active":
            assert contract.next_bill_date > NOW or contract.next_bill_date >= NOW
        if contract.status in ("cancelled", "expired"):
            assert contract.ended_at is not None
        if purchase.status == "cancelling":
            assert contract.cancel_at_period_end and contract.status == "active"


def test_billing_periods_are_the_products_own(shop):
    contracts = RecurringContract.objects.all()
    assert {c.recurrence_unit for c in contracts} >= {"weeks", "months"}
    for contract in contracts:
        assert contract.next_bill_date == period_end(
            contract, contract.anchor, contract.periods_paid
        )


def test_the_shops_pending_minutes_session_minutes_and_dunning_days_are_followed(settings):
    settings.PENDING_PURCHASE_MINUTES = 12
    settings.PURCHASE_SESSION_MINUTES = 20
    settings.RENEWAL_RETRY_DAYS = [2, 5]
    generate_data(purchases=600, buyers=100, contracts=150, seed=3, now=NOW)
    for purchase in Purchase.objects.all():
        assert purchase.expires_at == purchase.created_at + timedelta(minutes=12)
    assert NOW - timedelta(minutes=12) < Purchase.objects.get(status="pending").created_at
    for session in PurchaseSession.objects.all():
        assert session.expires_at == session.created_at + timedelta(minutes=20)
    past_due = RecurringContract.objects.filter(status="past_due")
    assert past_due.exists()
    for contract in past_due:
        declined = contract.transactions.latest("transaction_date")
        wait = timedelta(days=[2, 5][contract.failed_attempts - 1])
        assert declined.status == "declined"
        assert contract.next_retry_at == declined.transaction_date + wait
    expired = RecurringContract.objects.filter(status="expired")
    assert {c.failed_attempts for c in expired} <= {0, 3}  # at the period's end, or dunned out
    assert expired.filter(failed_attempts=3).exists()


def test_purchase_sessions_are_used_once_by_their_own_purchase(shop):
    used = PurchaseSession.objects.exclude(consumed_at=None)
    assert used.exists() and PurchaseSession.objects.filter(consumed_at=None).exists()
    for session in PurchaseSession.objects.select_related("purchase"):
        assert session.created_at < session.expires_at
        purchase = getattr(session, "purchase", None)
        if session.consumed_at is not None:
            assert purchase.status in PAID and session.consumed_at == purchase.completed_at
        if purchase is not None:
            assert (session.buyer_id, session.subscription_id) == (
                purchase.buyer_id,
                purchase.subscription_id,
            )
            assert session.created_at <= purchase.created_at < session.expires_at
            assert session.currency == purchase.currency
            assert session.coupon_id == purchase.coupon_id
            if purchase.trial_ends_at is None:
                assert session.price == purchase.amount


def test_the_sandbox_gateways_ledger_matches_the_payments(shop):
    gateway_paid = Purchase.objects.filter(status__in=PAID, trial_ends_at=None).exclude(
        payment_type="wallet"
    )
    assert gateway_paid.exists()
    for purchase in gateway_paid:
        charge = SandboxCharge.objects.get(
            gateway=purchase.payment_type, idempotency_key=f"purchase:{purchase.code}"
        )
        assert charge.status == "approved" and charge.pnref == purchase.gateway_reference
        assert charge.amount == purchase.amount
    for refund in Refund.objects.exclude(method="wallet").select_related("purchase"):
        given = SandboxCharge.objects.get(pnref=refund.gateway_reference, kind="refund")
        paid = refund.contract_transaction or refund.purchase
        original = SandboxCharge.objects.get(
            pk=given.refund_of_id, pnref=getattr(paid, "pnref", None) or paid.gateway_reference
        )
        assert given.amount == refund.amount <= original.amount
    for charge in ContractTransaction.objects.exclude(payment_pref="wallet"):
        assert SandboxCharge.objects.filter(
            idempotency_key=charge.idempotency_key, status=charge.status, pnref=charge.pnref
        ).exists()
    pending = Purchase.objects.get(status="pending")
    assert SandboxCharge.objects.get(idempotency_key=f"purchase:{pending.code}").status == (
        "pending"
    )


def test_the_services_work_on_generated_data(finance_user):
    generate_data(purchases=800, buyers=150, contracts=120, seed=11)  # up to the clock's now
    by_card = Purchase.objects.filter(
        status="completed", payment_type="sandbox_card", is_recurring=False, amount__gt=1
    ).first()
    half = quantize(by_card.amount / 2, by_card.currency)
    refund_purchase(purchase=by_card, amount=half, reason="Test", staff_user=finance_user)
    by_wallet = Purchase.objects.filter(
        status="completed", payment_type="wallet", is_recurring=False, amount__gt=0
    ).first()
    before = WalletBalance.objects.get(buyer=by_wallet.buyer, currency=by_wallet.currency)
    refund_purchase(
        purchase=by_wallet, amount=by_wallet.amount, reason="Test", staff_user=finance_user
    )
    after = WalletBalance.objects.get(buyer=by_wallet.buyer, currency=by_wallet.currency)
    assert after.balance == before.balance + by_wallet.amount

    pending = Purchase.objects.get(status="pending")
    pay_on_sandbox_page(
        SandboxCharge.objects.get(idempotency_key=f"purchase:{pending.code}"), paid=True
    )
    assert confirm_purchase(purchase=pending).status in ("completed", "failed")

    run = renew_due_contracts(now=timezone.now() + timedelta(days=40))
    assert run.renewed > 0
    for contract in RecurringContract.objects.select_related("purchase"):
        approved = contract.transactions.filter(status="approved").count()
        assert contract.periods_paid == approved + (0 if contract.purchase.trial_ends_at else 1)
    redirect_renewals = ContractTransaction.objects.filter(
        payment_pref__in=["sandbox_paypal", "sandbox_worldpay"], attempt=1
    ).exclude(transaction_date__lt=timezone.now())
    assert redirect_renewals.exists()
    assert not redirect_renewals.filter(status="declined").exists()  # billing agreements found


def test_codes_are_unique_public_codes(shop):
    for model in (Buyer, Access, Purchase, RecurringContract, Refund, Subscription):
        codes = list(model.objects.values_list("code", flat=True))
        assert len(set(codes)) == len(codes)
        assert all(len(c) == 8 and set(c) <= set(CODE_ALPHABET) for c in codes)
    hashes = list(Access.objects.values_list("hash", flat=True))
    assert len(set(hashes)) == len(hashes)
    assert all(len(h) == 12 and set(h) <= set(ACCESS_HASH_ALPHABET) for h in hashes)
    emails = [e.lower() for e in Buyer.objects.exclude(email="").values_list("email", flat=True)]
    assert len(set(emails)) == len(emails)


def test_rows_pass_model_validation(shop):
    for model in (Buyer, Purchase, Access, RecurringContract, Subscription, Coupon):
        for row in model.objects.order_by("?")[:40]:
            row.full_clean(validate_unique=False, validate_constraints=True)


def snapshot():
    tables = {
        Buyer: None,
        Purchase: None,
        Access: None,
        WalletEntry: None,
        ContractTransaction: None,
        Refund: None,
        Subscription: ["created_at", "updated_at"],
    }
    data = {}
    for model, skip in tables.items():
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in (skip or ())]
        data[model.__name__] = list(model.objects.order_by("pk").values_list(*fields))
    return data


class Rollback(Exception):
    pass


def generate_and_snapshot(seed):
    try:
        with transaction.atomic():
            generate_data(purchases=300, buyers=60, contracts=30, seed=seed, now=NOW)
            taken = snapshot()
            raise Rollback
    except Rollback:
        return taken


def test_same_seed_gives_the_same_data_and_another_seed_other_data():
    first, again, other = (
        generate_and_snapshot(3),
        generate_and_snapshot(3),
        generate_and_snapshot(4),
    )
    assert len(first["Purchase"]) == 300
    assert first == again
    assert first["Purchase"] != other["Purchase"]


def test_refuses_a_database_with_purchases_and_writes_nothing(shop):
    counts = [m.objects.count() for m in (Buyer, Purchase, Subscription, WalletEntry)]
    with pytest.raises(ShopHasPurchases):
        generate_data(purchases=50, seed=1)
    with pytest.raises(CommandError, match="--append"):
        call_command("generate_data", "--purchases", "50")
    assert [m.objects.count() for m in (Buyer, Purchase, Subscription, WalletEntry)] == counts


def test_append_adds_with_new_unique_codes_and_emails(shop):
    call_command("generate_data", "--purchases", "200", "--seed", "7", "--append", stdout=None)
    assert Purchase.objects.count() == PURCHASES + 200
    assert Buyer.objects.count() == BUYERS + 40
    codes = list(Purchase.objects.values_list("code", flat=True))
    assert len(set(codes)) == len(codes)


def test_command_reports_what_it_wrote(capsys):
    call_command("generate_data", "--purchases", "120", "--seed", "2", "--now", NOW.isoformat())
    out = capsys.readouterr()
    assert "120 purchases" in out.out and "Generated in" in out.out
    assert "100%" in out.err
    assert Purchase.objects.count() == 120


def test_staff_pages_show_generated_data(shop, admin_client):
    pages = [
        "/",
        "/subscriptions/",
        "/media/",
        "/pricing-models/",
        "/coupons/",
        "/buyers/",
        "/buyers/wallet-ledger/",
        "/accesses/",
        "/purchases/",
        "/purchases/sessions/",
        "/purchases/reports/",
        "/purchases/reports/refunds/",
        "/purchases/reports/renewals/",
        "/renewals/",
    ]
    for status in Purchase.Status.values:
        pages.append(f"/purchases/{Purchase.objects.filter(status=status).first().code}/")
    for status in GENERATED_CONTRACT_STATUSES:
        contract = RecurringContract.objects.filter(status=status).first()
        pages.append(f"/renewals/{contract.code}/")
    busiest = Buyer.objects.annotate(n=Count("purchases")).order_by("-n").first()
    pages += [f"/buyers/{busiest.code}/", f"/accesses/{Access.objects.first().code}/"]
    pages += [f"/subscriptions/{s.code}/" for s in Subscription.objects.all()[:6]]
    pages += [f"/coupons/{c.code}/" for c in Coupon.objects.all()[:2]]
    for page in pages:
        assert admin_client.get(page).status_code == 200, page


@pytest.mark.django_db(transaction=True)
def test_the_load_leaves_every_index_and_foreign_key_as_it_found_them():
    if connection.vendor != "postgresql":
        pytest.skip("indexes and keys are dropped for the load on PostgreSQL only")

    def schema():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
                "WHERE indrelid::regclass::text LIKE ANY (ARRAY['buyers_%', 'purchases_%']) "
                "UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' ORDER BY 1"
            )
            return cursor.fetchall()

    before = schema()
    assert any("gin_trgm_ops" in definition for _, definition in before)
    generate_data(purchases=50, seed=4)

    assert schema() == before
