"""A request to the API past Django's limits on what it reads (DATA_UPLOAD_MAX_MEMORY_SIZE,
DATA_UPLOAD_MAX_NUMBER_FIELDS) is refused in the API's own error shape, with a named code, and
changes nothing: never the site's HTML page, never a 500."""

import json
from urllib.parse import urlencode

import pytest
from defusedxml import ElementTree
from django.urls import reverse

from buyers.models import Access, Buyer
from subscriptions import services as catalog_services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20


@pytest.fixture
def offer():
    subscription = catalog_services.create_subscription(name="Concert", scope="group", period=7)
    media = catalog_services.create_media(title="Encore", status="done")
    catalog_services.attach_media(subscription=subscription, media=media)
    return subscription, media


def many_fields(api_key, **params):
    return {"apikey": api_key, **params, **{f"extra{i}": "1" for i in range(30)}}


def post_form(client, path, fields):
    return client.post(path, urlencode(fields), content_type="application/x-www-form-urlencoded")


def json_api_refusal(response, code):
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["StatusCode"] == 1
    assert body["Error"]["Code"] == code
    return body


@pytest.mark.parametrize("path", ["/api/purchases", "/api/purchases/cancel", "/api/access/check"])
def test_a_json_body_over_the_limit_is_a_named_json_refusal(client, api_key, path):
    body = json.dumps({"apikey": api_key, "note": "x" * 3_000})
    response = client.post(path, body, content_type="application/json")
    refusal = json_api_refusal(response, "request_too_large")
    assert "2000 bytes at most" in refusal["StatusMessage"]
    assert refusal["Error"]["Name"] == "RequestDataTooBig"


@pytest.mark.parametrize("path", ["/api/purchases", "/api/purchases/sessions"])
def test_a_form_with_too_many_fields_is_a_named_json_refusal(client, api_key, path):
    response = post_form(client, path, many_fields(api_key))
    body = json_api_refusal(response, "too_many_fields")
    assert "20 at most" in body["StatusMessage"]


def test_the_players_check_with_too_many_query_parameters_is_a_json_refusal(client, api_key):
    response = client.get("/api/access/check", many_fields(api_key, productId="X", hash="y"))
    json_api_refusal(response, "too_many_fields")


def test_a_ppv_addbuyer_over_the_limit_is_refused_in_its_format_and_grants_nothing(
    client, api_key, offer
):
    subscription, media = offer
    params = {"code": subscription.code, "media": media.code, "email": "fan@example.com"}
    as_json = client.post(
        "/api/ppv/addbuyer?format=json",
        json.dumps({"apikey": api_key, **params, "name": "x" * 3_000}),
        content_type="application/json",
    )
    assert as_json.status_code == 400
    assert as_json.json()["Status"] == "Failure"
    assert as_json.json()["Code"] == "request_too_large"
    as_xml = post_form(client, "/api/ppv/addbuyer", many_fields(api_key, **params))
    assert as_xml.status_code == 400
    assert as_xml["Content-Type"].startswith("application/xml")
    root = ElementTree.fromstring(as_xml.content)
    assert (root.findtext("Status"), root.findtext("Code")) == ("Failure", "too_many_fields")
    assert not Buyer.objects.exists() and not Access.objects.exists()


def test_under_the_limits_the_api_answers_as_before(client, api_key, offer):
    subscription, media = offer
    params = {"code": subscription.code, "media": media.code, "email": "fan@example.com"}
    response = client.post("/api/ppv/addbuyer?format=json", {"apikey": api_key, **params})
    assert response.status_code == 200 and response.json()["Status"] == "Success"


def test_staff_pages_keep_django_s_own_answer(client, staff_user):
    client.force_login(staff_user)
    response = post_form(client, reverse("buyers:create"), {f"f{i}": "1" for i in range(30)})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_the_limits_are_read_before_any_other_middleware_reads_the_request(settings):
    order = settings.MIDDLEWARE
    limits = order.index("api.middleware.ApiRequestLimitsMiddleware")
    assert limits < order.index("api.middleware.PlayersFastPathMiddleware")
    assert limits < order.index("django.middleware.csrf.CsrfViewMiddleware")
