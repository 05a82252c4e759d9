"""Reconciliation: the journal's gateway money of a period against the gateway's settlements."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from purchases.gateways import GATEWAYS
from purchases.journal.reconciliation import reconcile
from purchases.models import SandboxCharge
from purchases.renewals import renew_due_contracts
from purchases.services.cancellations import refund_purchase
from purchases.services.checkout import create_purchase
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer

pytestmark = pytest.mark.django_db

RECONCILIATION = reverse("purchases:reports:reconciliation")


def buy(payment_type="sandbox_card", price="30.00", recurring=False, **kwargs):
    subscription, pricing_model = offer_for_sale(price=price, recurring=recurring)
    return create_purchase(
        buyer=kwargs.pop("buyer", None) or BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type=payment_type,
        instrument="tok_approve" if payment_type == "sandbox_card" else "",
        **kwargs,
    )


def today():
    return timezone.localdate()


def card(results):
    (result,) = [r for r in results if r.payment_type == "sandbox_card"]
    return result


def test_a_period_with_sales_renewals_and_refunds_reconciles_to_zero(finance_user):
    sold = buy()
    refund_purchase(purchase=sold, amount="10.00", reason="Part", staff_user=finance_user)
    renewing = buy(recurring=True, price="12.00")
    renew_due_contracts(now=timezone.now() + timedelta(days=40))
    buy("wallet", buyer=wallet_buyer("100.00"))  # no gateway money
    result = card(reconcile(today(), today() + timedelta(days=45), gateways=GATEWAYS))
    assert result.agrees and result.differences == []
    assert result.totals() == [("EUR", Decimal("44.00"), Decimal("44.00"), Decimal("0.00"))]
    assert renewing.contract.transactions.filter(status="approved").count() == 1
    assert all(r.payment_type != "wallet" for r in reconcile(today(), today(), gateways=GATEWAYS))


def test_a_settlement_missing_from_the_journal_and_a_row_the_gateway_lacks_are_listed():
    buy()
    stray = SandboxCharge.objects.create(
        gateway="sandbox_card",
        idempotency_key="made-outside-the-shop",
        kind="charge",
        amount=Decimal("5.00"),
        currency="EUR",
        status="approved",
    )
    SandboxCharge.objects.filter(idempotency_key__startswith="purchase:").update(
        amount=Decimal("29.00")
    )
    result = card(reconcile(today(), today(), gateways=GATEWAYS))
    reasons = sorted((d.reason, d.reference) for d in result.differences)
    assert [reason for reason, _ in reasons] == [
        "the gateway settled another amount",
        "the journal has no row for this transaction",
    ]
    assert stray.pnref in [reference for _, reference in reasons]
    (_, booked, settled, difference) = result.totals()[0]
    assert (booked, settled, difference) == (Decimal("30.00"), Decimal("34.00"), Decimal("-4.00"))


def test_a_charge_settled_the_day_before_is_a_timing_difference():
    purchase = buy()
    SandboxCharge.objects.filter(pnref=purchase.gateway_reference).update(
        created_at=timezone.now() - timedelta(days=1)
    )
    result = card(reconcile(today(), today(), gateways=GATEWAYS))
    (difference,) = result.differences
    assert difference.reason == "settled by the gateway outside this period (timing)"
    assert difference.gateway_amount == difference.journal_amount == Decimal("30.00")


def test_a_gateway_that_cannot_list_shows_the_journal_side_alone():
    class Unlisted:
        label = "Recurring service"

        def settlements(self, since, until):
            return None

    buy()
    (result,) = reconcile(today(), today(), gateways={"sandbox_card": Unlisted()})
    assert not result.can_list and not result.agrees
    assert result.totals() == [("EUR", Decimal("30.00"), None, None)]


def test_the_reconciliation_page(client, finance_user):
    buy()
    client.force_login(finance_user)
    page = client.get(RECONCILIATION)
    assert page.status_code == 200 and page.context["results"] is None
    day = today().isoformat()
    page = client.get(RECONCILIATION, {"start": day, "end": day})
    assert 'data-testid="agrees"' in page.content.decode()
    bad = client.get(RECONCILIATION, {"start": day, "end": "2020-01-01"})
    assert "The start date is after the end date." in bad.content.decode()
    too_long = client.get(RECONCILIATION, {"start": "2020-01-01", "end": day})
    assert "reconcile month by month" in too_long.content.decode()
