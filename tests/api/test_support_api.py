"""The support tools' explain operation: every rule with its answer, named refusals for codes
that name nothing, and the support scope."""

import pytest
from django.urls import reverse

from purchases.models import Purchase
from tests.purchases.factories import offer_for_sale, wallet_buyer, written
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

URL = reverse("api:support_explain")


def ask(client, key, **params):
    return client.get(URL, params, headers={"Authorization": f"Bearer {key}"})


def test_explain_answers_every_rule_and_whether_the_buyer_can_buy_and_watch(client, make_api_key):
    SubscriptionFactory(name="Basic membership", mandatory=True)
    subscription, pricing_model = offer_for_sale(price="30.00")
    buyer = wallet_buyer(balance="5.00")
    before = written()
    response = ask(
        client,
        make_api_key("support"),
        userId=buyer.code,
        productId=subscription.code,
        pricingModelId=pricing_model.code,
    )
    assert response.status_code == 200
    content = response.json()["Content"]
    assert content["CanBuy"] is False and content["CanWatch"] is False
    failed = {r["Rule"]: r for r in content["Purchase"] if r["Outcome"] == "failed"}
    assert set(failed) == {"mandatory", "balance"}
    assert failed["mandatory"]["Code"] == "user_does_not_have_mandatory_subscription"
    assert "Basic membership" in failed["mandatory"]["Reason"]
    assert "25.00 EUR" in failed["balance"]["Fix"]
    assert content["Watch"][0]["Code"] == "unknown"
    assert written() == before


def test_explain_says_can_buy_when_every_rule_passes(client, make_api_key):
    subscription, _ = offer_for_sale(price="3.00")
    buyer = wallet_buyer(balance="5.00")
    response = ask(client, make_api_key("support"), userId=buyer.email, productId=subscription.code)
    content = response.json()["Content"]
    assert content["CanBuy"] is True
    assert all(r["Outcome"] == "passed" for r in content["Purchase"])
    assert Purchase.objects.count() == 0


@pytest.mark.parametrize(
    "params, code, parameter",
    [
        ({"productId": "{sub}"}, "buyer_not_found", "userId"),
        ({"userId": "NOBODY12", "productId": "{sub}"}, "buyer_not_found", "userId"),
        ({"userId": "{buyer}", "productId": "NOPE1234"}, "product_does_not_exist", "productId"),
        (
            {"userId": "{buyer}", "productId": "{sub}", "pricingModelId": "NOPE"},
            "invalid_pricing_model",
            "pricingModelId",
        ),
    ],
)
def test_explain_refuses_codes_that_name_nothing(client, make_api_key, params, code, parameter):
    subscription, _ = offer_for_sale()
    buyer = wallet_buyer()
    params = {k: v.format(buyer=buyer.code, sub=subscription.code) for k, v in params.items()}
    response = ask(client, make_api_key("support"), **params)
    assert response.status_code == 400
    error = response.json()["Error"]
    assert (error["Code"], error["Parameter"]) == (code, parameter)


def test_explain_needs_the_support_scope(client, make_api_key):
    subscription, _ = offer_for_sale()
    buyer = wallet_buyer()
    key = make_api_key("purchases", "buyers", "access_check", "catalog")
    response = ask(client, key, userId=buyer.code, productId=subscription.code)
    assert response.status_code == 403
    assert response.json()["Error"]["Code"] == "api_key_scope"
