import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from purchases.gateways import GATEWAYS, enabled_gateways, get_gateway
from purchases.gateways.base import GatewayTimeout
from purchases.models import SandboxCharge

pytestmark = pytest.mark.django_db

card = GATEWAYS["sandbox_card"]


def charge(token, key="k1", amount="10.00"):
    return card.charge(
        idempotency_key=key, amount=Decimal(amount), currency="EUR", instrument=token
    )


def test_an_approving_card_answers_a_pnref_auth_code_and_result_code_zero():
    result = charge("tok_approve")
    assert result.approved
    assert result.result_code == "0" and result.response_message == "Approved"
    assert result.pnref.startswith("SB") and len(result.auth_code) == 6


@pytest.mark.parametrize(
    ("token", "code", "message"),
    [
        ("tok_decline", "12", "Declined"),
        ("tok_insufficient_funds", "51", "Insufficient funds"),
        ("4111111111111111", "14", "Invalid card"),
    ],
)
def test_declining_cards_answer_their_result_code(token, code, message):
    result = charge(token)
    assert not result.approved
    assert (result.result_code, result.response_message) == (code, message)
    assert result.auth_code == ""


def test_the_same_idempotency_key_charges_once_and_answers_the_same():
    first, second = charge("tok_approve"), charge("tok_approve")
    assert first == second
    assert SandboxCharge.objects.count() == 1


def test_a_timeout_charges_but_loses_the_answer_and_lookup_tells_the_outcome():
    with pytest.raises(GatewayTimeout):
        charge("tok_timeout", key="renewal-1")
    found = card.lookup(idempotency_key="renewal-1")
    assert found.approved
    # Retrying with the same key answers the stored charge and charges nothing new.
    assert charge("tok_timeout", key="renewal-1") == found
    assert SandboxCharge.objects.filter(kind="charge").count() == 1


def test_lookup_of_an_unknown_key_answers_none():
    assert card.lookup(idempotency_key="never-used") is None


def test_refunds_are_new_rows_and_never_exceed_the_charge():
    original = charge("tok_approve", amount="10.00")
    first = card.refund(
        idempotency_key="r1", pnref=original.pnref, amount=Decimal("4.00"), currency="EUR"
    )
    again = card.refund(
        idempotency_key="r1", pnref=original.pnref, amount=Decimal("4.00"), currency="EUR"
    )
    assert first.approved and first == again
    too_much = card.refund(
        idempotency_key="r2", pnref=original.pnref, amount=Decimal("6.01"), currency="EUR"
    )
    assert not too_much.approved and too_much.response_message == "Refund exceeds the charge"
    assert SandboxCharge.objects.get(pnref=original.pnref).status == "approved"
    assert SandboxCharge.objects.filter(kind="refund").count() == 1


def test_a_refund_of_a_declined_charge_is_refused():
    declined = charge("tok_decline")
    result = card.refund(
        idempotency_key="r", pnref=declined.pnref, amount=Decimal(1), currency="EUR"
    )
    assert not result.approved


def test_only_the_configured_gateways_are_enabled(settings):
    settings.PAYMENT_GATEWAYS = ["sandbox_paypal", "no_such_gateway"]
    assert list(enabled_gateways()) == ["sandbox_paypal"]
    assert get_gateway("sandbox_card") is None


def test_webpay_cannot_take_recurring_payments():
    assert not GATEWAYS["sandbox_webpay"].supports_recurring
    assert GATEWAYS["sandbox_paypal"].supports_recurring


def start_paypal(key="p1"):
    return GATEWAYS["sandbox_paypal"].start(
        idempotency_key=key,
        amount=Decimal("7.50"),
        currency="USD",
        return_url="https://shop.example/return",
        cancel_url="https://shop.example/cancel",
    )


def test_a_redirect_payment_waits_for_the_buyer_then_confirms_when_paid(client):
    started = start_paypal()
    assert started.status == "pending" and started.redirect_url.startswith("/sandbox/pay/")
    page = client.get(started.redirect_url)
    assert page.status_code == 200 and b"Pay 7.50 USD" in page.content

    response = client.post(started.redirect_url, {"pay": "1"})
    assert response["Location"] == "https://shop.example/return"
    confirmed = GATEWAYS["sandbox_paypal"].confirm(idempotency_key="p1")
    assert confirmed.approved and confirmed.pnref == started.pnref


def test_a_redirect_payment_cancelled_by_the_buyer_returns_to_the_cancel_url(client):
    started = start_paypal()
    response = client.post(started.redirect_url, {"cancel": "1"})
    assert response["Location"] == "https://shop.example/cancel"
    assert GATEWAYS["sandbox_paypal"].confirm(idempotency_key="p1").status == "cancelled"
    # Paying after cancelling changes nothing.
    client.post(started.redirect_url, {"pay": "1"})
    assert GATEWAYS["sandbox_paypal"].confirm(idempotency_key="p1").status == "cancelled"


def test_the_sandbox_page_is_gone_when_its_gateway_is_disabled(client, settings):
    started = start_paypal()
    settings.PAYMENT_GATEWAYS = ["sandbox_card"]
    assert client.get(started.redirect_url).status_code == 404
    assert client.get(reverse("sandbox_checkout", kwargs={"pnref": "SBNOPE"})).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_with_one_key_charge_once():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (make test)")
    results, barrier = [], threading.Barrier(10)

    def attempt():
        barrier.wait()
        try:
            results.append(charge("tok_approve", key="same"))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 10 and len({result.pnref for result in results}) == 1
    assert SandboxCharge.objects.count() == 1
