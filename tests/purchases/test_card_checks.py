"""Card checks (issue 19): a trial that renews on a stored card, and a new card for a contract,
are verified with the gateway without charging, so a bad card is found on day one; a gateway
that does not answer (the sandbox's timeout token) is never taken as approval."""

import pytest

from buyers.models import Access
from purchases import errors
from purchases.models import Purchase, RecurringContract, SandboxCharge
from purchases.services.checkout import create_purchase
from purchases.services.contracts import change_contract_card
from tests.purchases.factories import BuyerFactory, offer_for_sale
from tests.purchases.test_renewals import subscribe

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("card", "code", "said"),
    [
        ("tok_decline", "12", "declined when checked: Declined"),
        ("tok_insufficient_funds", "51", "declined when checked: Insufficient funds"),
        ("tok_nonsense", "14", "declined when checked: Invalid card"),
        ("tok_timeout", "", "could not be checked"),
    ],
)
def test_a_trial_on_a_card_that_does_not_check_out_fails_with_nothing_granted(card, code, said):
    subscription, pricing_model = offer_for_sale(price="10.00", recurring=True)
    pricing_model.trial_days = 14
    pricing_model.save()
    purchase = create_purchase(
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="sandbox_card",
        instrument=card,
    )
    assert purchase.status == Purchase.Status.FAILED
    assert purchase.result_code == code and said in purchase.response_message
    assert not Access.objects.exists() and not RecurringContract.objects.exists()
    assert not SandboxCharge.objects.exists()  # nothing charged, nothing to give back


def test_a_trial_on_a_good_card_starts_with_nothing_charged():
    contract = subscribe(card="tok_approve", trial_days=14)
    assert contract.purchase.status == Purchase.Status.COMPLETED
    assert contract.purchase.trial_ends_at is not None
    assert not SandboxCharge.objects.exists()


@pytest.mark.parametrize(
    ("card", "said"),
    [("tok_decline", "declined when checked"), ("tok_timeout", "could not be checked")],
)
def test_a_new_card_that_does_not_check_out_is_refused_and_the_old_one_kept(card, said):
    contract = subscribe()
    with pytest.raises(errors.InvalidCard, match=said):
        change_contract_card(contract=contract, instrument=card)
    contract.refresh_from_db()
    assert contract.instrument == "tok_approve"


def test_a_good_new_card_is_kept_without_a_charge():
    contract = subscribe()
    charges = SandboxCharge.objects.count()
    change_contract_card(contract=contract, instrument="tok_approve")
    assert SandboxCharge.objects.count() == charges


def test_the_contract_page_shows_the_card_as_the_gateway_describes_it_not_its_token(
    client, staff_user
):
    from django.urls import reverse

    contract = subscribe(card="tok_approve")
    client.force_login(staff_user)
    page = client.get(reverse("contracts:detail", kwargs={"code": contract.code})).content.decode()
    assert "Visa •••• 4242, expires 12/2030" in page
    assert "tok_approve" not in page


def test_a_gateway_that_describes_nothing_shows_a_card_on_file_never_the_token():
    from purchases.gateways.base import PaymentGateway

    assert PaymentGateway().describe("PNREF-SECRET-1") == "card on file"
    assert PaymentGateway().describe("") == ""
