"""The PPV API's creations (`addbuyer`, `create`) take an `Idempotency-Key` as the JSON API's
purchases do: a client retrying after a lost answer gets the first answer again and nothing is
made twice; the same key with another request is refused with `idempotency_key_reused` and
changes nothing."""

import pytest
from defusedxml import ElementTree

from api.formats import XML_CONTENT_TYPE
from api.models import IdempotentRequest
from buyers import services as buyer_services
from buyers.models import Access, Buyer
from subscriptions import services as catalog_services
from subscriptions.models import Subscription


@pytest.fixture
def subscription(db):
    return catalog_services.create_subscription(name="Concert", scope="group", period=7)


@pytest.fixture
def media(subscription):
    media = catalog_services.create_media(title="Encore", status="done")
    catalog_services.attach_media(subscription=subscription, media=media)
    return media


def call(client, api_key, method, key=None, **params):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(f"/api/ppv/{method}", {"apikey": api_key, **params}, headers=headers)


def add_fan(client, api_key, subscription, media, key, **more):
    params = {"code": subscription.code, "media": media.code, "email": "fan@example.com"}
    return call(client, api_key, "addbuyer", key, format="json", **params | more)


def test_a_retried_addbuyer_answers_the_first_answer_and_grants_nothing_new(
    client, api_key, subscription, media
):
    first = add_fan(client, api_key, subscription, media, "grant-1")
    assert first.status_code == 200 and first.json()["Status"] == "Success"
    access = Access.objects.get()
    # Meanwhile staff revoke the access: a second grant would make a new one, a retry must not.
    buyer_services.revoke_access(access=access)
    retry = add_fan(client, api_key, subscription, media, "grant-1")
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Access.objects.count() == 1 and Buyer.objects.count() == 1
    # Without a key (or with a new one) it is a new request.
    again = add_fan(client, api_key, subscription, media, "grant-2")
    assert again.json()["Hash"] != first.json()["Hash"]
    assert Access.objects.count() == 2


def test_the_same_key_with_another_addbuyer_is_refused_and_changes_nothing(
    client, api_key, subscription, media
):
    add_fan(client, api_key, subscription, media, "grant-1")
    other = add_fan(client, api_key, subscription, media, "grant-1", email="other@example.com")
    assert other.status_code == 422
    body = other.json()
    assert (body["Status"], body["Code"]) == ("Failure", "idempotency_key_reused")
    assert "another request" in body["Message"]
    assert not Buyer.objects.filter(email="other@example.com").exists()
    assert Access.objects.count() == 1


def test_a_retried_xml_addbuyer_answers_the_first_xml(client, api_key, subscription, media):
    params = {"code": subscription.code, "media": media.code, "email": "fan@example.com"}
    first = call(client, api_key, "addbuyer", "xml-1", **params)
    retry = call(client, api_key, "addbuyer", "xml-1", **params)
    assert retry["Content-Type"] == first["Content-Type"] == XML_CONTENT_TYPE
    assert retry.content == first.content
    assert ElementTree.fromstring(retry.content).findtext(".//Status") == "Success"


def test_a_retried_create_makes_one_subscription(client, api_key, db):
    first = call(client, api_key, "create", "new-1", name="Live", period="7", format="json")
    retry = call(client, api_key, "create", "new-1", name="Live", period="7", format="json")
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert Subscription.objects.filter(name="Live").count() == 1
    call(client, api_key, "create", None, name="Live", period="7", format="json")
    assert Subscription.objects.filter(name="Live").count() == 2


def test_a_refusal_is_the_first_answer_too(client, api_key, db):
    first = call(client, api_key, "create", "bad-1", name="Live", format="json")
    assert first.status_code == 400
    retry = call(client, api_key, "create", "bad-1", name="Live", format="json")
    assert retry.json() == first.json()
    assert not Subscription.objects.exists()
    assert IdempotentRequest.objects.get().status_code == 400


def test_a_key_longer_than_255_characters_is_refused(client, api_key, subscription, media):
    response = add_fan(client, api_key, subscription, media, "k" * 256)
    assert response.status_code == 400
    assert response.json()["Code"] == "idempotency_key_too_long"
    assert not Access.objects.exists()


def test_methods_that_only_read_ignore_the_key(client, api_key, subscription):
    response = call(client, api_key, "list", "read-1", format="json")
    assert response.status_code == 200
    assert not IdempotentRequest.objects.exists()


def test_the_openapi_document_names_the_header_and_its_refusals(client):
    document = client.get("/api/schema/").json()
    operation = document["paths"]["/api/ppv/addbuyer"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]
    assert {"409", "422"} <= set(operation["responses"])
    listing = document["paths"]["/api/ppv/list"]["get"]
    assert "Idempotency-Key" not in [p["name"] for p in listing["parameters"]]
