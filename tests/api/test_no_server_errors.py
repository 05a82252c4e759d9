"""Bad input never answers 500: every PPV method and every JSON endpoint, each parameter given
odd values (empty, too long, not a number, a negative or huge number, a bad date, markup, NUL)."""

import pytest

from api.openapi import PARAMETERS_OF
from api.ppv import METHODS
from buyers import services as buyer_services
from subscriptions import services as catalog_services
from tests.purchases.factories import offer_for_sale, wallet_buyer

PPV_PARAMETERS = [
    "name", "subscription_type", "type", "description", "collection_type", "cost", "currency",
    "period", "access_start", "access_expire", "activation", "materials", "buy_redirect_url",
    "custom_url", "ip_recovery", "device_ban", "buyer_commission", "drm", "downloadable_origin",
    "preview", "watermark", "code", "media", "hash", "email", "phone", "notification",
    "use_subscription_custom_url", "limit", "offset", "site",
]  # fmt: skip
# Each JSON endpoint gets the parameters it declares (an unknown one is refused before any).
JSON_ENDPOINTS = {
    "/api/purchases/sessions": "purchase_session",
    "/api/purchases": "purchase_create",
    "/api/purchases/cancel": "purchase_cancel",
    "/api/purchases/reactivate": "purchase_reactivate",
    "/api/purchases/plan-change/preview": "plan_change_preview",
    "/api/purchases/plan-change": "plan_change",
    "/api/buyers/products": "buyer_products",
    "/api/access/check": "access_check",
    "/api/support/explain": "support_explain",
}
ODD_VALUES = [
    "",
    " ",
    "x" * 5000,
    "-1",
    "99999999999999999999999",
    "1e400",
    "NaN",
    "2018-02-30",
    "9999-12-31 23:59:59",
    "0000-00-00",
    "<b>&amp;</b>",
    "\x00",
    "１２",
]


@pytest.fixture
def shop(db):
    subscription, pricing_model = offer_for_sale()
    media = catalog_services.create_media(title="Clip")
    catalog_services.attach_media(subscription=subscription, media=media)
    buyer = wallet_buyer()
    access = buyer_services.grant_access(subscription=subscription, buyer=buyer)
    return {
        "code": subscription.code,
        "media": media.code,
        "hash": access.hash,
        "buyer": buyer.code,
        "userId": buyer.code,
        "ip": "203.0.113.5",
        "productId": subscription.code,
        "pricingModelId": pricing_model.code,
        "name": "Shop",
        "period": "3",
        "email": "fan@example.com",
        "paymentType": "wallet",
    }


@pytest.mark.parametrize("method", sorted(METHODS))
def test_ppv_method_never_answers_500(client, api_key, shop, method):
    for parameter in PPV_PARAMETERS:
        for value in ODD_VALUES:
            params = {"apikey": api_key, **shop, parameter: value}
            response = client.get(f"/api/ppv/{method}", params)
            assert response.status_code < 500, (parameter, value, response.content[:300])


@pytest.mark.parametrize("url", sorted(JSON_ENDPOINTS))
def test_json_endpoint_never_answers_500(client, api_key, shop, url):
    declared = [name for name in PARAMETERS_OF[JSON_ENDPOINTS[url]].model_fields]
    given = {name: value for name, value in shop.items() if name in declared}
    for parameter in declared:
        for value in ODD_VALUES:
            response = client.post(
                url,
                {**given, parameter: value},
                content_type="application/json",
                headers={"Authorization": f"Bearer {api_key}"},
            )
            assert response.status_code < 500, (parameter, value, response.content[:300])
            if response.status_code >= 400:
                assert response.json()["Error"]["Code"] != "unknown_parameter"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [b"{", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"name": {"nested": 1}}', b"null"],
)
def test_unreadable_json_bodies_are_refused_plainly(client, api_key, body):
    response = client.post(
        "/api/purchases",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code < 500
