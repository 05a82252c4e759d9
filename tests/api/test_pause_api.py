"""The buyer pauses and resumes a recurring purchase through the JSON API (issue 19): with the
PIN, with Idempotency-Key retries answering the first outcome (also after a crash), named
refusals that change nothing, and the OpenAPI document describing both."""

from datetime import timedelta

import pytest
from django.utils import timezone

from purchases.models import ContractPause, RecurringContract

from .test_purchases_api import bought

pytestmark = pytest.mark.django_db


def call(client, key, what, headers=None, **params):
    return client.post(
        f"/api/purchases/{what}",
        params,
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", **(headers or {})},
    )


def test_the_buyer_pauses_for_two_periods_and_resumes_with_the_pin(client, api_key):
    buyer, subscription = bought(client, api_key, pin="1234")
    product = {"userId": buyer.code, "productId": subscription.code}
    wrong = call(client, api_key, "pause", **product, pin="0000", periods="2")
    assert wrong.status_code == 400
    assert wrong.json()["Error"]["Name"] == "UserPurchasePinValueNoMatch"
    assert not ContractPause.objects.exists()

    answer = call(client, api_key, "pause", **product, pin="1234", periods="2")
    assert answer.status_code == 200, answer.content
    content = answer.json()["Content"]
    contract = RecurringContract.objects.get()
    assert content["Status"] == "paused" and content["Code"] == contract.code
    assert content["ResumeDate"] == int(contract.resume_at.timestamp())
    assert ContractPause.objects.get().by_buyer

    again = call(client, api_key, "pause", **product, pin="1234")
    assert again.status_code == 400
    assert again.json()["Error"]["Code"] == "contract_already_paused"

    resumed = call(client, api_key, "resume", **product, pin="1234")
    assert resumed.status_code == 200, resumed.content
    assert resumed.json()["Content"]["Status"] == "active"
    assert resumed.json()["Content"]["ResumeDate"] == 0
    not_paused = call(client, api_key, "resume", **product, pin="1234")
    assert not_paused.json()["Error"]["Name"] == "ContractNotPaused"


@pytest.mark.parametrize(
    ("params", "status", "code", "parameter"),
    [
        ({"periods": "0"}, 400, "invalid_pause_length", "periods"),
        ({"periods": "two"}, 400, "invalid", "periods"),
        ({"until": "2020-01-01"}, 400, "pause_date_in_past", "until"),
        ({"until": "01/02/2030"}, 400, "invalid", "until"),
        ({"until": "2099-01-01"}, 400, "pause_too_long", "until"),
        ({"start": "later"}, 400, "invalid_pause_start", "start"),
    ],
)
def test_a_refused_pause_names_its_parameter_and_changes_nothing(
    client, api_key, params, status, code, parameter
):
    buyer, subscription = bought(client, api_key)
    answer = call(
        client, api_key, "pause", userId=buyer.code, productId=subscription.code, **params
    )
    assert answer.status_code == status, answer.content
    error = answer.json()["Error"]
    assert (error["Code"], error["Parameter"]) == (code, parameter)
    assert RecurringContract.objects.get().status == "active"
    assert not ContractPause.objects.exists()


def test_a_one_time_purchase_cannot_be_paused(client, api_key):
    buyer, subscription = bought(client, api_key, recurring=False)
    answer = call(client, api_key, "pause", userId=buyer.code, productId=subscription.code)
    assert answer.json()["Error"]["Name"] == "NonRenewableUserRight"


def test_a_retried_pause_answers_the_first_outcome(client, api_key):
    buyer, subscription = bought(client, api_key)
    product = {"userId": buyer.code, "productId": subscription.code, "periods": "1"}
    headers = {"Idempotency-Key": "pause-1"}
    first = call(client, api_key, "pause", headers=headers, **product)
    second = call(client, api_key, "pause", headers=headers, **product)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert ContractPause.objects.count() == 1


def test_a_crashed_pause_is_answered_on_retry_not_refused(client, api_key):
    from api.idempotency import request_digest
    from api.models import ApiKey, IdempotentRequest
    from purchases.services.pauses import pause_contract

    buyer, subscription = bought(client, api_key)
    product = {"userId": buyer.code, "productId": subscription.code}

    class Request:
        method, path = "POST", "/api/purchases/pause"

    IdempotentRequest.objects.create(
        api_key=ApiKey.objects.get(prefix=api_key.split(".")[0]),
        key="p",
        request_digest=request_digest(Request, product),
        locked_until=timezone.now() - timedelta(seconds=1),
    )
    # The first attempt paused the contract, then its worker died before answering.
    pause_contract(contract=RecurringContract.objects.get(), by_buyer=True)
    response = call(client, api_key, "pause", headers={"Idempotency-Key": "p"}, **product)
    assert response.status_code == 200, response.content
    assert response.json()["Content"]["Status"] == "paused"


def test_the_openapi_document_describes_pause_and_resume(client):
    document = client.get("/api/schema/").json()
    pause = document["paths"]["/api/purchases/pause"]["post"]
    resume = document["paths"]["/api/purchases/resume"]["post"]
    assert "no access" in pause["summary"] and "moves" in resume["summary"]
    body = pause["requestBody"]["content"]["application/json"]["schema"]
    ref = body.get("$ref") or body["anyOf"][0]["$ref"]
    fields = document["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert {"userId", "productId", "pin", "start", "periods", "until"} <= set(fields)
    for operation in (pause, resume):
        assert {"200", "400", "409", "422"} <= set(operation["responses"])


def test_the_players_access_check_answers_no_while_paused(client, api_key, make_api_key):
    buyer, subscription = bought(client, api_key)
    access = RecurringContract.objects.get().access
    player = make_api_key("access_check")

    def granted():
        answer = client.get(
            "/api/access/check",
            {"productId": subscription.code, "hash": access.hash, "udid": "tv"},
            headers={"Authorization": f"Bearer {player}"},
        )
        return answer.json()["Content"]["Granted"]

    assert granted()
    call(client, api_key, "pause", userId=buyer.code, productId=subscription.code)
    assert not granted()
    call(client, api_key, "resume", userId=buyer.code, productId=subscription.code)
    assert granted()
