"""The buyer takes back a stop at the period's end through the JSON API (issue 19)."""

import pytest

from purchases.models import Cancellation, Purchase

from .test_purchases_api import bought as bought_through_api
from .test_purchases_api import post as api_post

pytestmark = pytest.mark.django_db


def test_the_buyer_takes_a_stop_back_through_the_api_with_the_pin(client, api_key):
    buyer, subscription = bought_through_api(client, api_key, pin="1234")
    product = {"userId": buyer.code, "productId": subscription.code}
    assert api_post(client, api_key, "cancel", **product, pin="1234").status_code == 200
    url = "/api/purchases/reactivate"
    headers = {"Authorization": f"Bearer {api_key}"}
    wrong = client.post(
        url, {**product, "pin": "0000"}, content_type="application/json", headers=headers
    )
    assert wrong.status_code == 400
    assert wrong.json()["Error"]["Name"] == "UserPurchasePinValueNoMatch"
    assert Purchase.objects.get().status == Purchase.Status.CANCELLING

    answer = client.post(
        url, {**product, "pin": "1234"}, content_type="application/json", headers=headers
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["Content"]["CanWatch"]["PurchaseStatus"] == "completed"
    again = client.post(
        url, {**product, "pin": "1234"}, content_type="application/json", headers=headers
    )
    assert again.json()["Error"]["Name"] == "PurchaseNotCancelling"
    assert Cancellation.objects.get().undone_by_buyer


def test_the_openapi_document_describes_reactivate(client):
    document = client.get("/api/schema/").json()
    operation = document["paths"]["/api/purchases/reactivate"]["post"]
    assert "renews" in operation["summary"]


def test_a_crashed_reactivation_is_answered_on_retry_not_refused(client, api_key):
    from datetime import timedelta

    from django.utils import timezone

    from api.idempotency import request_digest
    from api.models import ApiKey, IdempotentRequest
    from purchases.services import cancellations

    buyer, subscription = bought_through_api(client, api_key)
    product = {"userId": buyer.code, "productId": subscription.code}
    assert api_post(client, api_key, "cancel", **product).status_code == 200

    class Request:
        method, path = "POST", "/api/purchases/reactivate"

    IdempotentRequest.objects.create(
        api_key=ApiKey.objects.get(prefix=api_key.split(".")[0]),
        key="r",
        request_digest=request_digest(Request, product),
        locked_until=timezone.now() - timedelta(seconds=1),
    )
    # The first attempt took the stop back, then its worker died before answering.
    cancellations.reactivate_purchase(purchase=Purchase.objects.get(), by_buyer=True)
    response = client.post(
        "/api/purchases/reactivate",
        product,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": "r"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["Content"]["CanWatch"]["PurchaseStatus"] == "completed"
