"""The PPV API beyond the samples: refusals name the parameter, bodies in XML or JSON, scopes,
and each method leaving the rules to the catalog's and buyers' services."""

from datetime import timedelta

import pytest
from defusedxml import ElementTree
from django.utils import timezone

from buyers import services as buyer_services
from buyers.models import Access
from subscriptions import services as catalog_services
from subscriptions.models import PricingModel, ShopContacts, Subscription


@pytest.fixture
def subscription(db):
    pricing_model = catalog_services.create_pricing_model(title="PPV", price="5.00", currency="EUR")
    return catalog_services.create_subscription(
        name="Concert", scope="group", period=7, pricing_models=[pricing_model]
    )


@pytest.fixture
def media(subscription):
    media = catalog_services.create_media(title="Encore", status="done")
    catalog_services.attach_media(subscription=subscription, media=media)
    return media


def call(client, api_key, method, **params):
    return client.get(f"/api/ppv/{method}", {"apikey": api_key, "format": "json", **params})


def refusal(response):
    body = response.json()
    assert body["Status"] == "Failure"
    return body


@pytest.mark.parametrize(
    ("params", "parameter", "code"),
    [
        ({"period": "1"}, "name", "required"),
        ({"name": "x"}, "period", "period_or_access_expire_required"),
        ({"name": "x", "period": "abc"}, "period", "invalid"),
        ({"name": "x", "period": "0"}, "period", "not_a_number_in_range"),
        ({"name": "x", "period": "1", "cost": "-1"}, "cost", "negative_amount"),
        ({"name": "x", "period": "1", "cost": "1.001"}, "cost", "amount_too_precise"),
        ({"name": "x", "period": "1", "cost": "lots"}, "cost", "invalid"),
        ({"name": "x", "period": "1", "type": "huge"}, "type", "invalid_choice"),
        (
            {"name": "x", "period": "1", "subscription_type": "free"},
            "subscription_type",
            "invalid_choice",
        ),
        ({"name": "x", "period": "1", "watermark": "1"}, "watermark", "drm_option_without_drm"),
        ({"name": "x", "period": "1", "ip_recovery": "maybe"}, "ip_recovery", "invalid"),
        ({"name": "x", "access_expire": "31/12/2030"}, "access_expire", "invalid"),
        (
            {"name": "x", "access_start": "2030-12-31", "access_expire": "2030-01-01"},
            "access_expire",
            "access_start_not_before_expire",
        ),
        ({"name": "x", "period": "1", "custom_url": "ftp://x"}, "custom_url", "invalid_url"),
    ],
)
@pytest.mark.django_db
def test_create_refusal_names_the_parameter_and_writes_nothing(
    client, api_key, params, parameter, code
):
    response = call(client, api_key, "create", **params)
    assert response.status_code == 400
    body = refusal(response)
    assert (body["Parameter"], body["Code"]) == (parameter, code)
    assert parameter in body["Message"]
    assert not Subscription.objects.exists()
    assert not PricingModel.objects.exists()


@pytest.mark.django_db
def test_create_reads_dates_in_the_ppv_api_time_zone_and_answers_them_so(client, api_key, settings):
    settings.PPV_API_TIME_ZONE = "Europe/Moscow"
    response = call(client, api_key, "create", name="x", access_expire="2030-12-31")
    item = response.json()["Items"][0]
    assert item["AccessExpirationDate"] == "2030-12-31 23:59:59"
    stored = Subscription.objects.get().access_expire
    assert stored.isoformat() == "2030-12-31T20:59:59+00:00"
    response = call(client, api_key, "create", name="y", access_expire="2030-12-31 14:01:55")
    assert response.json()["Items"][0]["AccessExpirationDate"] == "2030-12-31 14:01:55"


@pytest.mark.django_db
def test_create_with_cost_offers_a_pricing_model_in_the_shop_currency(client, api_key, settings):
    settings.SHOP_CURRENCY = "USD"
    response = call(client, api_key, "create", name="Match", period="1", cost="12.50")
    assert response.json()["Items"][0]["Cost"] == "12.50"
    offer = Subscription.objects.get().offers.get(is_default=True)
    assert (offer.pricing_model.price, offer.pricing_model.currency) == (12.5, "USD")


@pytest.mark.django_db
def test_update_cost_of_a_shared_pricing_model_leaves_the_other_subscription_alone(
    client, api_key, subscription
):
    shared = subscription.offers.get().pricing_model
    other = catalog_services.create_subscription(name="Other", period=1, pricing_models=[shared])
    response = call(client, api_key, "update", code=subscription.code, cost="9.00")
    assert response.json()["Items"][0]["Cost"] == "9.00"
    shared.refresh_from_db()
    assert shared.price == 5
    assert other.offers.get().pricing_model == shared
    default = subscription.offers.get(is_default=True).pricing_model
    assert (default.price, default.currency) == (9, "EUR")
    assert subscription.offers.count() == 2


@pytest.mark.django_db
def test_update_of_an_archived_subscription_is_refused(client, api_key, subscription):
    buyer_services.grant_access(subscription=subscription, email="a@example.com")
    call(client, api_key, "delete", code=subscription.code)
    response = call(client, api_key, "update", code=subscription.code, name="New")
    assert refusal(response)["Code"] == "subscription_archived"
    assert call(client, api_key, "list").json()["Items"] == []


@pytest.mark.django_db
def test_unknown_codes_answer_404_naming_the_parameter(client, api_key, subscription, media):
    body = refusal(call(client, api_key, "listmedia", code="NOPE0000"))
    assert (body["Parameter"], body["Code"]) == ("code", "not_found")
    response = call(client, api_key, "addmedia", code=subscription.code, media="NOPE0000")
    assert response.status_code == 404
    assert refusal(response)["Parameter"] == "media"
    response = call(client, api_key, "updatebuyer", code=subscription.code, hash="nope")
    assert response.status_code == 404
    assert refusal(response)["Parameter"] == "hash"


@pytest.mark.django_db
def test_media_rules_come_from_the_catalog(client, api_key, subscription, media):
    body = refusal(call(client, api_key, "addmedia", code=subscription.code, media=media.code))
    assert (body["Parameter"], body["Code"]) == ("media", "media_already_attached")
    single = catalog_services.create_subscription(name="One", period=1)
    other = catalog_services.create_media(title="Two")
    assert call(client, api_key, "addmedia", code=single.code, media=media.code).status_code == 200
    body = refusal(call(client, api_key, "addmedia", code=single.code, media=other.code))
    assert body["Code"] == "single_subscription_holds_one_media"


@pytest.mark.django_db
def test_listmedia_pages_with_limit_and_offset(client, api_key, subscription):
    for title in ("A", "B", "C"):
        media = catalog_services.create_media(title=title)
        catalog_services.attach_media(subscription=subscription, media=media)
    page = call(client, api_key, "listmedia", code=subscription.code, limit="2", offset="1")
    assert [item["Title"] for item in page.json()["Medias"]] == ["B", "C"]
    body = refusal(call(client, api_key, "listmedia", code=subscription.code, limit="0"))
    assert body["Parameter"] == "limit"


@pytest.mark.django_db
def test_addbuyer_rules_come_from_the_buyers_service(client, api_key, subscription, media):
    body = refusal(
        call(client, api_key, "addbuyer", code=subscription.code, media=media.code, name="Ann")
    )
    assert body["Code"] == "buyer_not_found"
    outsider = catalog_services.create_media(title="Elsewhere")
    body = refusal(
        call(
            client, api_key, "addbuyer", code=subscription.code, media=outsider.code, email="a@b.c"
        )
    )
    assert (body["Parameter"], body["Code"]) == ("media", "media_not_attached")
    catalog_services.update_subscription(subscription=subscription, stock=0)
    body = refusal(
        call(
            client,
            api_key,
            "addbuyer",
            code=subscription.code,
            media=media.code,
            email="a@example.com",
        )
    )
    assert (body["Parameter"], body["Code"]) == ("code", "subscription_out_of_stock")
    assert not Access.objects.exists()


@pytest.mark.django_db
def test_addbuyer_with_notification_mails_the_access_password(
    client, api_key, subscription, media, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = call(
            client,
            api_key,
            "addbuyer",
            code=subscription.code,
            media=media.code,
            email="fan@example.com",
            notification="1",
            activation="3",
        )
    item = response.json()["Items"][0]
    access = Access.objects.get()
    assert (item["Email"], item["Hash"], item["Period"]) == ("fan@example.com", access.hash, 7)
    assert access.activation_limit == 3
    assert len(mailoutbox) == 1
    assert access.hash in mailoutbox[0].body


@pytest.mark.django_db
def test_listbuyers_filters_by_email_and_leaves_out_deleted_ones(
    client, api_key, subscription, media
):
    now = timezone.now()
    first = buyer_services.grant_access(
        subscription=subscription,
        email="Fan@example.com",
        access_start=now - timedelta(days=9),
        access_expire=now - timedelta(days=1),
    )
    second = buyer_services.grant_access(subscription=subscription, email="fan@example.com")
    revoked = buyer_services.grant_access(subscription=subscription, email="other@example.com")
    call(client, api_key, "deletebuyer", code=subscription.code, hash=revoked.hash)
    listed = call(client, api_key, "listbuyers", code=subscription.code, media=media.code)
    assert len(listed.json()["Items"]) == 2
    by_email = call(
        client,
        api_key,
        "listbuyers",
        code=subscription.code,
        media=media.code,
        email="FAN@example.com",
    )
    assert {item["Hash"] for item in by_email.json()["Items"]} == {first.hash, second.hash}


@pytest.mark.django_db
def test_updatebuyer_refuses_a_limit_below_the_activations_used(client, api_key, subscription):
    access = buyer_services.grant_access(subscription=subscription, email="a@example.com")
    for device in ("tv", "phone"):
        buyer_services.check_access(
            subscription_code=subscription.code, access_password=access.hash, device_id=device
        )
    body = refusal(
        call(
            client, api_key, "updatebuyer", code=subscription.code, hash=access.hash, activation="1"
        )
    )
    assert (body["Parameter"], body["Code"]) == ("activation", "activation_limit_below_used")


@pytest.mark.django_db
def test_updatecontacts_keeps_what_it_is_not_given(client, api_key):
    catalog_services.update_shop_contacts(
        name="Alex", email="shop@example.com", site="https://x.io"
    )
    response = call(client, api_key, "updatecontacts", name="Alexandra", phone="+1 555 0100")
    body = response.json()
    assert body["Message"] == "Updated success"
    contacts = ShopContacts.objects.get()
    assert (contacts.name, contacts.phone, contacts.email, contacts.site) == (
        "Alexandra",
        "+1 555 0100",
        "shop@example.com",
        "https://x.io",
    )
    body = refusal(call(client, api_key, "updatecontacts", name="A", phone="", email=""))
    assert (body["Parameter"], body["Code"]) == ("phone", "phone_or_email_required")


@pytest.mark.django_db
def test_post_form_and_xml_and_json_bodies_are_read(client, api_key):
    form = client.post("/api/ppv/create", {"apikey": api_key, "name": "Form", "period": "1"})
    assert form.status_code == 200
    xml = client.post(
        "/api/ppv/create",
        f"<Request><apikey>{api_key}</apikey><name>Xml &amp; co</name><period>2</period></Request>",
        content_type="application/xml",
    )
    assert xml.status_code == 200, xml.content
    assert ElementTree.fromstring(xml.content).findtext("Items/Item/Name") == "Xml & co"
    json_body = client.post(
        "/api/ppv/create?format=json",
        {"name": "Json", "period": 3, "ip_recovery": True},
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert json_body.status_code == 200, json_body.content
    assert Subscription.objects.get(name="Json").ip_recovery is True


@pytest.mark.django_db
def test_xml_with_entity_expansion_is_refused(client, api_key):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f"<Request><apikey>{api_key}</apikey><name>&b;</name><period>1</period></Request>"
    )
    response = client.post("/api/ppv/create", bomb, content_type="application/xml")
    assert response.status_code == 400
    assert ElementTree.fromstring(response.content).findtext("Code") == "unreadable_body"
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_text_is_escaped_in_xml_answers(client, api_key):
    call(client, api_key, "create", name="<b>Tom & Jerry</b>", period="1")
    response = client.get("/api/ppv/list", {"apikey": api_key})
    assert b"&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in response.content
    assert ElementTree.fromstring(response.content).findtext("Items/Item/Name") == (
        "<b>Tom & Jerry</b>"
    )


@pytest.mark.django_db
def test_unknown_method_and_other_http_methods(client, api_key):
    response = client.get("/api/ppv/purge", {"apikey": api_key})
    assert response.status_code == 404
    assert ElementTree.fromstring(response.content).findtext("Code") == "unknown_method"
    response = client.put(f"/api/ppv/list?apikey={api_key}")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"


@pytest.mark.django_db
def test_buyer_methods_need_the_buyers_scope(client, make_api_key, subscription, media):
    catalog_only = make_api_key("catalog")
    response = call(client, catalog_only, "listbuyers", code=subscription.code, media=media.code)
    assert response.status_code == 403
    buyers_only = make_api_key("buyers", name="Buyers")
    assert call(client, buyers_only, "list").status_code == 403
    response = call(client, buyers_only, "listbuyers", code=subscription.code, media=media.code)
    assert response.status_code == 200
