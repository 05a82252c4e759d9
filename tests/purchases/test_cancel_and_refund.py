from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from buyers import services as buyer_services
from buyers.models import WalletBalance
from purchases import errors
from purchases.models import Cancellation, Purchase, Refund, SandboxCharge
from purchases.services.cancellations import (
    cancel_purchase,
    find_purchase_for_cancel,
    refund_purchase,
)
from purchases.services.checkout import create_purchase
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer

pytestmark = pytest.mark.django_db


def bought(recurring=True, payment_type="wallet", price="30.00", **kwargs):
    subscription, pricing_model = offer_for_sale(price=price, recurring=recurring)
    buyer = wallet_buyer("100.00") if payment_type == "wallet" else BuyerFactory()
    return create_purchase(
        buyer=buyer,
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type=payment_type,
        **kwargs,
    )


def test_stop_renewing_at_period_end_keeps_the_access_until_then(staff_user):
    purchase = bought()
    view = cancel_purchase(purchase=purchase, mode="period_end", staff_user=staff_user)
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.CANCELLING
    assert view.can_watch and view.purchase_status == "cancelling"
    assert view.expiration == purchase.access.access_expire
    assert Refund.objects.count() == 0


def test_a_second_stop_at_period_end_is_refused():
    purchase = bought()
    cancel_purchase(purchase=purchase, mode="period_end")
    with pytest.raises(errors.PurchaseAlreadyInCancelling):
        cancel_purchase(purchase=purchase, mode="period_end")


def test_end_now_with_full_refund_credits_the_wallet_and_revokes_the_access(finance_user):
    purchase = bought()
    view = cancel_purchase(purchase=purchase, mode="now", refund="full", staff_user=finance_user)
    assert not view.can_watch and view.access_reason == "revoked"
    assert WalletBalance.objects.get(buyer=purchase.buyer).balance == Decimal("100.00")
    refund = Refund.objects.get()
    assert (refund.amount, refund.method) == (Decimal("30.00"), "wallet")
    assert Cancellation.objects.get().refund == refund
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.CANCELLED and purchase.amount == Decimal("30.00")
    with pytest.raises(errors.PurchaseAlreadyCancelled):
        cancel_purchase(purchase=purchase, mode="now")


def test_end_now_with_prorated_refund_gives_back_the_unused_share():
    from purchases.models import RecurringContract

    purchase = bought()
    # A 30-day period of which 20 days remain.
    now = timezone.now()
    RecurringContract.objects.filter(purchase=purchase).update(
        recurrence_unit="days",
        recurrence_count=30,
        anchor=now - timedelta(days=10),
        next_bill_date=now + timedelta(days=20),
    )
    purchase.refresh_from_db()
    cancel_purchase(purchase=purchase, mode="now", refund="prorated")
    refund = Refund.objects.get()
    assert Decimal("19.99") <= refund.amount <= Decimal("20.00")


def test_a_card_refund_goes_back_through_the_gateway():
    purchase = bought(payment_type="sandbox_card", instrument="tok_approve")
    cancel_purchase(purchase=purchase, mode="now", refund="full")
    refund = Refund.objects.get()
    assert refund.gateway_reference.startswith("SB")
    assert SandboxCharge.objects.get(pnref=refund.gateway_reference).refund_of.pnref == (
        purchase.gateway_reference
    )


def test_a_one_time_purchase_cannot_be_cancelled():
    with pytest.raises(errors.NonRenewableUserRight):
        cancel_purchase(purchase=bought(recurring=False), mode="now")


def test_a_pending_purchase_cannot_be_cancelled():
    purchase = bought(
        payment_type="sandbox_paypal",
        return_url="https://s.example/r",
        cancel_url="https://s.example/c",
    )
    with pytest.raises(errors.PurchaseAlreadyInPendingOBCancellation):
        cancel_purchase(purchase=purchase, mode="now")


def test_a_buyer_cancelling_needs_their_pin():
    purchase = bought()
    buyer_services.set_purchase_pin(buyer=purchase.buyer, pin="4321")
    with pytest.raises(errors.UserPurchasePinValueNoMatch):
        cancel_purchase(purchase=purchase, mode="period_end", by_buyer=True, pin="0000")
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.COMPLETED
    cancel_purchase(purchase=purchase, mode="period_end", by_buyer=True, pin="4321")


def test_cancel_names_missing_purchases():
    with pytest.raises(errors.PurchaseNotFound):
        cancel_purchase(purchase=None, mode="now")
    subscription, _ = offer_for_sale()
    with pytest.raises(errors.UserHasNoRightsToThisProduct):
        find_purchase_for_cancel(buyer=BuyerFactory(), subscription=subscription)


def test_partial_refunds_add_up_to_the_amount_and_no_further(finance_user):
    purchase = bought(recurring=False)
    refund_purchase(
        purchase=purchase, amount="10.00", reason="Late stream", staff_user=finance_user
    )
    with pytest.raises(errors.RefundRefused):
        refund_purchase(
            purchase=purchase, amount="20.01", reason="Too much", staff_user=finance_user
        )
    refund_purchase(purchase=purchase, amount="20.00", reason="Rest", staff_user=finance_user)
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert purchase.access.revoked_at is not None
    assert sum(r.amount for r in purchase.refunds.all()) == purchase.amount


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1.234", "NaN"])
def test_a_bad_refund_amount_is_refused_and_changes_nothing(amount, finance_user):
    purchase = bought(recurring=False)
    with pytest.raises(errors.RefundRefused):
        refund_purchase(purchase=purchase, amount=amount, reason="x", staff_user=finance_user)
    assert Refund.objects.count() == 0


def test_a_refund_needs_a_reason(finance_user):
    with pytest.raises(errors.RefundRefused):
        refund_purchase(
            purchase=bought(recurring=False), amount="1", reason=" ", staff_user=finance_user
        )


@pytest.mark.parametrize(
    "reason", ["Stream\r\nBcc: all@example.com", "Late\tstream", "Esc\x1b[31m", "NUL\x00here"]
)
def test_a_refund_reason_with_control_characters_is_refused_and_changes_nothing(
    reason, finance_user
):
    purchase = bought(recurring=False)
    balance = WalletBalance.objects.get(buyer=purchase.buyer).balance
    with pytest.raises(errors.RefundRefused, match="on one line") as refused:
        refund_purchase(purchase=purchase, amount="1.00", reason=reason, staff_user=finance_user)
    assert refused.value.field == "reason"
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.COMPLETED
    assert Refund.objects.count() == 0
    assert WalletBalance.objects.get(buyer=purchase.buyer).balance == balance
    assert purchase.access.revoked_at is None


def test_a_refund_reason_longer_than_its_column_is_refused(finance_user):
    purchase = bought(recurring=False)
    with pytest.raises(errors.RefundRefused, match="255 characters at most"):
        refund_purchase(purchase=purchase, amount="1.00", reason="x" * 256, staff_user=finance_user)
    assert Refund.objects.count() == 0


def test_a_wrong_pin_on_cancel_is_counted():
    purchase = bought()
    buyer_services.set_purchase_pin(buyer=purchase.buyer, pin="4321")
    with pytest.raises(errors.UserPurchasePinValueNoMatch):
        cancel_purchase(purchase=purchase, mode="period_end", by_buyer=True, pin="0000")
    purchase.buyer.refresh_from_db()
    assert purchase.buyer.pin_failed_attempts == 1


def test_shop_staff_cannot_refund_by_cancelling(staff_user):
    purchase = bought()
    with pytest.raises(errors.RefundRefused):
        cancel_purchase(purchase=purchase, mode="now", refund="full", staff_user=staff_user)
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.COMPLETED and Refund.objects.count() == 0


def test_a_full_refund_of_a_recurring_purchase_ends_its_contract(finance_user):
    from purchases.renewals import renew_due_contracts

    purchase = bought()
    refund_purchase(
        purchase=purchase, amount=purchase.amount, reason="Never used", staff_user=finance_user
    )
    contract = purchase.contract
    contract.refresh_from_db()
    assert contract.status == "cancelled"
    assert renew_due_contracts(now=contract.next_bill_date).claimed == 0


def test_a_contract_cannot_be_cancelled_while_its_charge_runs():
    purchase = bought()
    from purchases.models import RecurringContract

    RecurringContract.objects.filter(purchase=purchase).update(
        claimed_until=timezone.now() + timedelta(minutes=5)
    )
    with pytest.raises(errors.PurchaseError, match="renewal charge"):
        cancel_purchase(purchase=purchase, mode="now")
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.COMPLETED


def test_a_prorated_refund_gives_back_the_unused_part_of_the_current_renewal(finance_user):
    from purchases.models import ContractTransaction, RecurringContract
    from purchases.recurrence import period_end
    from purchases.renewals import renew_due_contracts

    purchase = bought(payment_type="sandbox_card", instrument="tok_approve", price="10.00")
    contract = purchase.contract
    for _ in range(5):  # five renewals: the buyer is in the sixth period
        contract.refresh_from_db()
        renew_due_contracts(now=contract.next_bill_date)
    contract.refresh_from_db()
    start = period_end(contract, contract.anchor, contract.periods_paid - 1)
    halfway = start + (contract.next_bill_date - start) / 2
    RecurringContract.objects.filter(pk=contract.pk).update(
        anchor=contract.anchor - (halfway - timezone.now()),
        next_bill_date=contract.next_bill_date - (halfway - timezone.now()),
    )
    purchase.refresh_from_db()
    cancel_purchase(purchase=purchase, mode="now", refund="prorated", staff_user=finance_user)
    refund = Refund.objects.get()
    last = ContractTransaction.objects.filter(contract=contract, status="approved").latest("period")
    assert refund.contract_transaction == last
    contract.refresh_from_db()
    start = period_end(contract, contract.anchor, contract.periods_paid - 1)
    unused = (contract.next_bill_date - timezone.now()) / (contract.next_bill_date - start)
    assert abs(refund.amount - Decimal(10) * Decimal(unused)) < Decimal("0.05")
    assert Decimal("4") < refund.amount < Decimal("6")
    assert SandboxCharge.objects.get(pnref=refund.gateway_reference).refund_of.pnref == last.pnref


def test_the_buyer_is_mailed_each_refund_once_after_it_commits(
    finance_user, mailoutbox, django_capture_on_commit_callbacks
):
    purchase = bought(recurring=False, payment_type="sandbox_card", instrument="tok_approve")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_purchase(
            purchase=purchase, amount="12.50", reason="Late stream", staff_user=finance_user
        )
    assert len(mailoutbox) == 1
    subject = mailoutbox[0].subject
    assert subject.startswith("Your refund from ") and subject.endswith(purchase.subscription.name)
    message = mailoutbox[0]
    assert message.to == [purchase.buyer.email]
    assert "We have refunded 12.50 EUR to the card or account you paid with." in message.body
    assert refund.code in message.body and purchase.code in message.body
    from purchases.notifications import send_refund_confirmation

    assert send_refund_confirmation(refund.pk) is False  # a repeated delivery mails nothing
    assert len(mailoutbox) == 1


def test_a_refused_refund_mails_nothing(
    finance_user, mailoutbox, django_capture_on_commit_callbacks
):
    purchase = bought(recurring=False)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(errors.RefundRefused):
        refund_purchase(
            purchase=purchase, amount="99.00", reason="Too much", staff_user=finance_user
        )
    assert mailoutbox == []


def test_a_wallet_refund_tells_the_buyer_it_went_to_their_e_wallet(
    mailoutbox, django_capture_on_commit_callbacks
):
    purchase = bought()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        cancel_purchase(purchase=purchase, mode="now", refund="full")
    refund_mail = [m for m in mailoutbox if "refund" in m.subject.lower()]
    assert len(refund_mail) == 1
    assert "We have refunded 30.00 EUR to your e-wallet." in refund_mail[0].body
