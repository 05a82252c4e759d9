"""The JSON API reads like one API: one naming style (the references' camelCase, the buyer
always `userId`), an unknown parameter refused by name instead of silently ignored, and the API
key accepted as a header, a query parameter or a body field alike."""

import re

import pytest

from buyers import services as buyer_services
from purchases.models import Purchase
from tests.purchases.factories import offer_for_sale, wallet_buyer

pytestmark = pytest.mark.django_db


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def schema_parameters(client):
    """{(method, path): {name: deprecated}} for every JSON operation of the OpenAPI document."""
    document = client.get("/api/schema/").json()
    found = {}
    for path, operations in document["paths"].items():
        if path.startswith("/api/ppv/"):
            continue
        for method, operation in operations.items():
            names = {p["name"]: p.get("deprecated", False) for p in operation.get("parameters", [])}
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                refs = [option["$ref"] for option in body["schema"]["anyOf"] if "$ref" in option]
                ref = refs[0].rsplit("/", 1)[-1]
                properties = document["components"]["schemas"][ref]["properties"]
                names |= {name: spec.get("deprecated", False) for name, spec in properties.items()}
            found[(method, path)] = names
    return found


def test_every_operation_names_its_parameters_in_one_style(client):
    operations = schema_parameters(client)
    assert len(operations) == 14  # with pause, resume, and the plan change's two
    for (method, path), names in operations.items():
        current = {name for name, deprecated in names.items() if not deprecated}
        for name in current:
            assert re.fullmatch(r"[a-z]+(?:[A-Z][a-zA-Z]*)*", name), (method, path, name)
        # The buyer is `userId`, the subscription `productId`, in every operation naming them.
        assert not current & {"buyer", "code", "couponCode", "ip"}, (method, path)
    assert all("userId" in names for (_, path), names in operations.items() if "access" not in path)


def test_an_unknown_body_parameter_is_refused_by_name_and_nothing_is_bought(client, api_key):
    subscription, pricing_model = offer_for_sale()
    buyer = wallet_buyer()
    response = client.post(
        "/api/purchases",
        {
            "userId": buyer.code,
            "productID": subscription.code,  # a typo of productId
            "pricingModelId": pricing_model.code,
            "paymentType": "wallet",
        },
        content_type="application/json",
        headers=bearer(api_key),
    )
    assert response.status_code == 400
    error = response.json()["Error"]
    assert (error["Code"], error["Parameter"]) == ("unknown_parameter", "productID")
    assert "“productID”" in response.json()["StatusMessage"]
    assert "productId" in response.json()["StatusMessage"]  # what it takes instead
    assert not Purchase.objects.exists()


def test_an_unknown_query_parameter_is_refused_instead_of_answering_unknown(client, make_api_key):
    key = make_api_key("access_check")
    subscription, _ = offer_for_sale()
    access = buyer_services.grant_access(subscription=subscription, email="a@example.com")
    response = client.get(
        "/api/access/check",
        {"productId": subscription.code, "hsah": access.hash},
        headers=bearer(key),
    )
    assert response.status_code == 400
    assert response.json()["Error"] == {
        "Code": "unknown_parameter",
        "Name": "",
        "Parameter": "hsah",
    }
    assert "takes apikey, productId, hash, udid, userIP." in response.json()["StatusMessage"]


def test_query_parameters_on_a_post_operation_are_refused_and_said_where_they_go(client, api_key):
    response = client.post(
        "/api/purchases?userId=X&productId=Y",
        {},
        content_type="application/json",
        headers=bearer(api_key),
    )
    assert response.status_code == 400
    assert response.json()["Error"]["Code"] == "unknown_parameter"
    assert "query string" in response.json()["StatusMessage"]


def test_the_old_parameter_names_are_still_read(client, api_key):
    subscription, pricing_model = offer_for_sale(price="4.00")
    buyer = wallet_buyer("10.00")
    bought = client.post(
        "/api/purchases",
        {
            "buyer": buyer.code,
            "productId": subscription.code,
            "pricingModelId": pricing_model.code,
            "paymentType": "wallet",
        },
        content_type="application/json",
        headers=bearer(api_key),
    )
    assert bought.status_code == 201, bought.content
    access = Purchase.objects.get().access
    check = client.get(
        "/api/access/check",
        {"code": subscription.code, "hash": access.hash, "ip": "203.0.113.9"},
        headers=bearer(api_key),
    )
    assert check.json()["Content"]["Granted"] is True
    assert access.activations.get().ip_address == "203.0.113.9"
    products = client.get("/api/buyers/products", {"buyer": buyer.code}, headers=bearer(api_key))
    assert [item["ProductId"] for item in products.json()["Content"]] == [subscription.code]


@pytest.fixture
def checkable(make_api_key):
    key = make_api_key("access_check")
    subscription, _ = offer_for_sale()
    access = buyer_services.grant_access(subscription=subscription, email="a@example.com")
    return key, {"productId": subscription.code, "hash": access.hash}


def test_the_key_is_read_from_a_header_the_query_a_json_body_or_a_form_alike(client, checkable):
    key, check = checkable
    url = "/api/access/check"
    answers = [
        client.get(url, check, headers=bearer(key)),
        client.get(url, {**check, "apikey": key}),
        client.post(url, {**check, "apikey": key}, content_type="application/json"),
        client.post(url, {**check, "apikey": key}),  # a form
        client.post(f"{url}?apikey={key}", check, content_type="application/json"),
    ]
    assert [answer.status_code for answer in answers] == [200] * 5
    assert all(answer.json()["Content"]["Granted"] for answer in answers)


@pytest.mark.parametrize(
    "send",
    [
        lambda client, url, check: client.get(url, {**check, "apikey": "wrong.key"}),
        lambda client, url, check: client.post(
            url, {**check, "apikey": "wrong.key"}, content_type="application/json"
        ),
        lambda client, url, check: client.post(url, {**check, "apikey": "wrong.key"}),
    ],
    ids=["query", "json body", "form"],
)
def test_a_wrong_key_is_refused_wherever_it_is_sent(client, checkable, send):
    _, check = checkable
    response = send(client, "/api/access/check", check)
    assert response.status_code == 401
    assert response.json()["Error"]["Code"] == "api_key_invalid"


def test_a_purchase_can_be_posted_as_a_form(client, api_key):
    subscription, pricing_model = offer_for_sale(price="2.00")
    buyer = wallet_buyer("5.00")
    response = client.post(
        "/api/purchases",
        {
            "apikey": api_key,
            "userId": buyer.code,
            "productId": subscription.code,
            "pricingModelId": pricing_model.code,
            "paymentType": "wallet",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["Content"]["Status"] == "completed"
