"""A storefront previews and confirms a buyer's plan change through the JSON API (issue 19):
the preview answers the amounts and a token; the confirm with the token and PIN charges exactly
them, once per Idempotency-Key; refusals are named; the OpenAPI document describes both."""

from decimal import Decimal

import pytest

from buyers import services as buyer_services
from purchases.contract_changes import ContractChange
from purchases.models import RecurringContract
from tests.purchases.test_plan_changes import contract_with_plans

pytestmark = pytest.mark.django_db

PREVIEW, CONFIRM = "/api/purchases/plan-change/preview", "/api/purchases/plan-change"


def call(client, key, url, headers=None, **params):
    return client.post(
        url,
        params,
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", **(headers or {})},
    )


def test_preview_then_confirm_with_the_pin_charges_exactly_the_preview(client, api_key):
    contract, other = contract_with_plans(price="10.00", other="30.00")
    buyer_services.set_purchase_pin(buyer=contract.buyer, pin="1234")
    product = {
        "userId": contract.buyer.code,
        "productId": contract.subscription.code,
        "pricingModelId": other.code,
    }
    preview = call(client, api_key, PREVIEW, **product, timing="now")
    assert preview.status_code == 200, preview.content
    shown = preview.json()["Content"]
    assert shown["Charge"] == "30.00" and shown["Currency"] == "EUR"
    assert Decimal(shown["ChargedNow"]) == Decimal("30.00") - Decimal(shown["Credit"])
    assert not ContractChange.objects.exists()

    wrong_pin = call(
        client, api_key, CONFIRM, **product, previewToken=shown["PreviewToken"], pin="0000"
    )
    assert wrong_pin.json()["Error"]["Name"] == "UserPurchasePinValueNoMatch"
    assert not ContractChange.objects.exists()

    headers = {"Idempotency-Key": "change-1"}
    params = {**product, "previewToken": shown["PreviewToken"], "pin": "1234"}
    done = call(client, api_key, CONFIRM, headers, **params)
    assert done.status_code == 201, done.content
    answer = done.json()["Content"]
    assert answer["Status"] == "applied" and answer["ChargedNow"] == shown["ChargedNow"]
    assert answer["NextBillDate"] == shown["NextBillDate"]
    again = call(client, api_key, CONFIRM, headers, **params)
    assert again.status_code == 201 and again.json()["Content"]["ChangeId"] == answer["ChangeId"]
    assert ContractChange.objects.count() == 1
    assert RecurringContract.objects.get().pricing_model == other


def test_refusals_are_named_with_their_parameter(client, api_key):
    contract, other = contract_with_plans()
    product = {"userId": contract.buyer.code, "productId": contract.subscription.code}
    same = call(
        client, api_key, PREVIEW, **product, pricingModelId=contract.pricing_model.code
    ).json()
    assert same["Error"]["Name"] == "PlanChangeSamePricingModel"
    assert same["Error"]["Parameter"] == "pricingModelId"
    bad_timing = call(
        client, api_key, PREVIEW, **product, pricingModelId=other.code, timing="later"
    ).json()
    assert bad_timing["Error"]["Name"] == "PlanChangeTiming"
    forged = call(
        client, api_key, CONFIRM, **product, pricingModelId=other.code, previewToken="x"
    ).json()
    assert forged["Error"]["Name"] == "PlanChangePreviewOutdated"
    assert forged["Error"]["Parameter"] == "previewToken"
    nobody = call(client, api_key, PREVIEW, productId=contract.subscription.code).json()
    assert nobody["Error"]["Name"] == "AuthenticationRequired"
    assert not ContractChange.objects.exists()


def test_a_scheduled_change_through_the_api(client, api_key):
    contract, other = contract_with_plans()
    product = {
        "userId": contract.buyer.code,
        "productId": contract.subscription.code,
        "pricingModelId": other.code,
        "timing": "period_end",
    }
    shown = call(client, api_key, PREVIEW, **product).json()["Content"]
    assert shown["ChargedNow"] == "0.00" and shown["Credit"] == "0.00"
    done = call(client, api_key, CONFIRM, **product, previewToken=shown["PreviewToken"])
    assert done.status_code == 201 and done.json()["Content"]["Status"] == "scheduled"


def test_the_openapi_document_describes_preview_and_confirm(client):
    paths = client.get("/api/schema/").json()["paths"]
    preview = paths[PREVIEW]["post"]
    confirm = paths[CONFIRM]["post"]
    assert "RenewalInFlight" in preview["description"]
    assert "PlanChangePreviewOutdated" in confirm["description"]
    assert "201" in confirm["responses"] and "409" in confirm["responses"]
