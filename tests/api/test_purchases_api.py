"""The JSON purchase API: every refusal of references 001 and 002 reachable with its code, the
cancel answer in reference 002's Example2 shape, Idempotency-Key, buyer's products, access check."""

import json
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from buyers import services as buyer_services
from buyers.models import Access
from purchases.models import Purchase, PurchaseSession
from purchases.services.checkout import confirm_purchase
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer
from tests.subscriptions.factories import CouponFactory, PricingModelFactory

pytestmark = pytest.mark.django_db

URLS = {
    "create": "/api/purchases",
    "cancel": "/api/purchases/cancel",
    "session": "/api/purchases/sessions",
    "products": "/api/buyers/products",
    "check": "/api/access/check",
}
REDIRECT = {"returnURL": "https://shop.example/r", "cancelURL": "https://shop.example/c"}


def post(client, key, what, headers=None, **params):
    return client.post(
        URLS[what],
        params,
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", **(headers or {})},
    )


def purchase_params(buyer, subscription, pricing_model, payment_type="wallet", **extra):
    return {
        "userId": buyer.code if buyer else "",
        "productId": subscription.code if subscription else "",
        "productType": "subscription",
        "pricingModelId": pricing_model.code if pricing_model else "",
        "paymentType": payment_type,
        **extra,
    }


# Each case makes what the refusal needs and answers the request's parameters.
def no_buyer():
    subscription, pricing_model = offer_for_sale()
    return purchase_params(None, subscription, pricing_model)


def wrong_pin():
    subscription, pricing_model = offer_for_sale()
    buyer = wallet_buyer()
    buyer_services.set_purchase_pin(buyer=buyer, pin="1234")
    return purchase_params(buyer, subscription, pricing_model, pin="9999")


def unknown_payment_type():
    subscription, pricing_model = offer_for_sale()
    return purchase_params(wallet_buyer(), subscription, pricing_model, "bitcoin")


def mandatory_missing():
    offer_for_sale(mandatory=True)
    subscription, pricing_model = offer_for_sale()
    return purchase_params(wallet_buyer(), subscription, pricing_model)


def redirect_without_urls():
    subscription, pricing_model = offer_for_sale()
    return purchase_params(BuyerFactory(), subscription, pricing_model, "sandbox_paypal")


def wallet_too_low():
    subscription, pricing_model = offer_for_sale(price="99.00")
    return purchase_params(wallet_buyer("1.00"), subscription, pricing_model)


def unknown_product():
    _, pricing_model = offer_for_sale()
    params = purchase_params(wallet_buyer(), None, pricing_model)
    params["productId"] = "NOPE0000"
    return params


def already_has_it():
    subscription, pricing_model = offer_for_sale()
    buyer = wallet_buyer()
    buyer_services.grant_access(subscription=subscription, buyer=buyer)
    return purchase_params(buyer, subscription, pricing_model)


def pricing_model_not_offered():
    subscription, _ = offer_for_sale()
    return purchase_params(wallet_buyer(), subscription, PricingModelFactory())


def pending_purchase(client, key):
    subscription, pricing_model = offer_for_sale()
    buyer = wallet_buyer()
    params = purchase_params(buyer, subscription, pricing_model, "sandbox_paypal", **REDIRECT)
    assert post(client, key, "create", **params).json()["Content"]["Status"] == "pending"
    return purchase_params(buyer, subscription, pricing_model)


def not_on_sale_yet():
    subscription, pricing_model = offer_for_sale(sale_start=timezone.now() + timedelta(days=1))
    return purchase_params(wallet_buyer(), subscription, pricing_model)


def sale_over():
    now = timezone.now()
    subscription, pricing_model = offer_for_sale(
        sale_start=now - timedelta(days=9), sale_end=now - timedelta(days=1)
    )
    return purchase_params(wallet_buyer(), subscription, pricing_model)


def out_of_stock():
    subscription, pricing_model = offer_for_sale(stock=1)
    buyer_services.grant_access(subscription=subscription, buyer=BuyerFactory())
    return purchase_params(wallet_buyer(), subscription, pricing_model)


def provisioning_only():
    subscription, pricing_model = offer_for_sale(provisioning_only=True)
    return purchase_params(wallet_buyer(), subscription, pricing_model)


def webpay_recurring():
    subscription, pricing_model = offer_for_sale(recurring=True)
    return purchase_params(
        BuyerFactory(), subscription, pricing_model, "sandbox_webpay", **REDIRECT
    )


def no_pricing_model():
    subscription, _ = offer_for_sale()
    return purchase_params(wallet_buyer(), subscription, None)


CREATE_REFUSALS = [
    ("AuthenticationRequired", "authentication_required", "userId", no_buyer),
    ("UserPurchasePinValueNoMatch", "user_purchase_pin_value_no_match", "pin", wrong_pin),
    ("InvalidPaymentType", "invalid_payment_type", "paymentType", unknown_payment_type),
    (
        "UserDoesNotHaveMandatorySubscription",
        "user_does_not_have_mandatory_subscription",
        "productId",
        mandatory_missing,
    ),
    (
        "InvalidReturnOrCancelURL",
        "invalid_return_or_cancel_url",
        "returnURL",
        redirect_without_urls,
    ),
    ("InsufficientBalance", "insufficient_balance", "paymentType", wallet_too_low),
    ("ProductDoesNotExist", "product_does_not_exist", "productId", unknown_product),
    ("UserAlreadyHasProduct", "user_already_has_product", "productId", already_has_it),
    (
        "InvalidPricingModelForThisProduct",
        "invalid_pricing_model_for_this_product",
        "pricingModelId",
        pricing_model_not_offered,
    ),
    (
        "PendingProductCanNotBePurchased",
        "pending_product_can_not_be_purchased",
        "productId",
        pending_purchase,
    ),
    ("ProductNotAvailableYet", "product_not_available_yet", "productId", not_on_sale_yet),
    ("ProductExpired", "product_expired", "productId", sale_over),
    ("UserCantAcquire", "user_cant_acquire", "productId", out_of_stock),
    (
        "SubscriptionNotAvailableForPurchaseType",
        "subscription_not_available_for_purchase_type",
        "productId",
        provisioning_only,
    ),
    (
        "WebpayIsntAvailableForRecurringPayment",
        "webpay_isnt_available_for_recurring_payment",
        "paymentType",
        webpay_recurring,
    ),
    ("InvalidPricingModel", "invalid_pricing_model", "pricingModelId", no_pricing_model),
]


@pytest.mark.parametrize(
    ("name", "code", "parameter", "setup"), CREATE_REFUSALS, ids=[c[0] for c in CREATE_REFUSALS]
)
def test_every_create_purchase_refusal_of_reference_001_is_answered_with_its_code(
    client, api_key, name, code, parameter, setup
):
    params = setup(client, api_key) if setup is pending_purchase else setup()
    purchases_before = Purchase.objects.count()
    response = post(client, api_key, "create", **params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["StatusCode"] == 1
    assert body["Error"] == {"Code": code, "Name": name, "Parameter": parameter}
    assert body["StatusMessage"]
    assert Purchase.objects.count() == purchases_before


def test_the_refusals_cover_every_exception_of_reference_001():
    document = (Path(__file__).parent / "reference_001_create_purchase.txt").read_text()
    named = set(re.findall(r"^- (\w+) -->", document, re.MULTILINE))
    # Credits are not a product of this shop: a purchase of one is not possible to ask.
    assert named - {name for name, *_ in CREATE_REFUSALS} == {
        "NoCreditsRegistered",
        "InvalidProductForInstance",
    }


def test_wallet_purchase_completes_and_answers_the_access_password(client, api_key):
    subscription, pricing_model = offer_for_sale(price="9.99")
    buyer = wallet_buyer("50.00")
    response = post(
        client, api_key, "create", **purchase_params(buyer, subscription, pricing_model)
    )
    assert response.status_code == 201
    content = response.json()["Content"]
    purchase = Purchase.objects.get()
    assert content["Code"] == purchase.code
    assert (content["Status"], content["Price"], content["Currency"]) == (
        "completed",
        "9.99",
        "EUR",
    )
    assert content["AccessPassword"] == purchase.access.hash


def test_redirect_purchase_answers_the_payment_page(client, api_key):
    subscription, pricing_model = offer_for_sale()
    params = purchase_params(
        BuyerFactory(), subscription, pricing_model, "sandbox_paypal", **REDIRECT
    )
    content = post(client, api_key, "create", **params).json()["Content"]
    assert content["Status"] == "pending"
    assert content["RedirectURL"]


def test_declined_card_answers_the_failed_purchase_with_402(client, api_key):
    subscription, pricing_model = offer_for_sale()
    params = purchase_params(
        BuyerFactory(), subscription, pricing_model, "sandbox_card", instrument="tok_decline"
    )
    response = post(client, api_key, "create", **params)
    assert response.status_code == 402
    assert response.json()["Content"]["Status"] == "failed"
    assert response.json()["Content"]["ResultCode"] == "12"


def test_idempotency_key_replays_the_first_answer_and_buys_once(client, api_key):
    subscription, pricing_model = offer_for_sale(price="9.99")
    buyer = wallet_buyer("50.00")
    params = purchase_params(buyer, subscription, pricing_model)
    headers = {"Idempotency-Key": "order-42"}
    first = post(client, api_key, "create", headers=headers, **params)
    again = post(client, api_key, "create", headers=headers, **params)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Purchase.objects.count() == 1
    other = post(client, api_key, "create", headers={"Idempotency-Key": "order-43"}, **params)
    assert other.json()["Error"]["Code"] == "user_already_has_product"


def test_idempotency_key_replays_a_refusal_too_and_refuses_another_request(client, api_key):
    subscription, pricing_model = offer_for_sale(price="9.99")
    buyer = wallet_buyer("1.00")
    params = purchase_params(buyer, subscription, pricing_model)
    headers = {"Idempotency-Key": "k1"}
    first = post(client, api_key, "create", headers=headers, **params)
    assert first.json()["Error"]["Code"] == "insufficient_balance"
    buyer_services.top_up_wallet(buyer=buyer, amount="20.00", currency="EUR")
    again = post(client, api_key, "create", headers=headers, **params)
    assert again.json() == first.json()
    changed = post(client, api_key, "create", headers=headers, **{**params, "pin": "1"})
    assert changed.status_code == 422
    assert changed.json()["Error"]["Code"] == "idempotency_key_reused"
    assert not Purchase.objects.exists()


def test_idempotency_keys_of_two_api_keys_are_apart(client, make_api_key):
    subscription, pricing_model = offer_for_sale(price="1.00")
    params_a = purchase_params(wallet_buyer("5.00"), subscription, pricing_model)
    params_b = purchase_params(wallet_buyer("5.00"), subscription, pricing_model)
    headers = {"Idempotency-Key": "same"}
    key_a, key_b = make_api_key("purchases", name="A"), make_api_key("purchases", name="B")
    assert post(client, key_a, "create", headers=headers, **params_a).status_code == 201
    assert post(client, key_b, "create", headers=headers, **params_b).status_code == 201
    assert Purchase.objects.count() == 2


def test_purchases_need_the_purchases_scope(client, make_api_key):
    key = make_api_key("catalog", "buyers", "access_check")
    assert post(client, key, "create").status_code == 403
    assert post(client, key, "cancel").status_code == 403
    assert client.get(URLS["create"], headers={"Authorization": f"Bearer {key}"}).status_code == 405


# --- Purchase session (reference 000) -----------------------------------------------------------


def test_purchase_session_answers_its_id_and_status(client, api_key):
    subscription, pricing_model = offer_for_sale(price="9.99")
    buyer = wallet_buyer("50.00")
    response = post(
        client,
        api_key,
        "session",
        userId=buyer.code,
        productId=subscription.code,
        udid="tv-1",
        userIP="203.0.113.5",
        transactionType="Subscription",
    )
    assert response.status_code == 201
    content = response.json()["Content"]
    session = PurchaseSession.objects.get()
    assert content["id"] == session.pk
    assert content["status"]["code"] == 0
    assert content["status"]["args"]["price"] == "9.99"
    params = purchase_params(buyer, subscription, pricing_model, sessionId=str(session.pk))
    assert post(client, api_key, "create", **params).status_code == 201
    session.refresh_from_db()
    assert session.consumed_at is not None


def test_a_purchase_with_a_session_is_charged_the_sessions_price(client, api_key):
    subscription, pricing_model = offer_for_sale(price="20.00")
    CouponFactory(code="SAVE25", percent=Decimal("25"))
    buyer = wallet_buyer("50.00")
    response = post(
        client, api_key, "session", userId=buyer.code, productId=subscription.code, coupon="SAVE25"
    )
    session_id = response.json()["Content"]["id"]
    assert response.json()["Content"]["status"]["args"]["price"] == "15.00"
    pricing_model.price = Decimal("40.00")  # staff raise the price while the buyer pays
    pricing_model.save()
    params = purchase_params(buyer, subscription, pricing_model, sessionId=str(session_id))
    response = post(client, api_key, "create", **params)
    assert response.status_code == 201
    content = response.json()["Content"]
    assert (content["ListPrice"], content["Discount"], content["Price"]) == (
        "20.00",
        "5.00",
        "15.00",
    )
    assert content["Currency"] == "EUR"
    purchase = Purchase.objects.get(code=content["Code"])
    assert purchase.session_id == session_id and purchase.coupon_code == "SAVE25"


def test_purchase_session_refusal_answers_the_status_with_the_error(client, api_key):
    response = post(client, api_key, "session", userId="", productId="NOPE0000")
    assert response.status_code == 400
    body = response.json()
    assert body["Error"]["Code"] == "authentication_required"
    assert body["Content"]["status"]["code"] == 1
    assert body["Content"]["status"]["args"] == {"error": "authentication_required"}


# --- Cancel product (reference 002) -------------------------------------------------------------


def bought(client, key, *, recurring=True, pin=None):
    subscription, pricing_model = offer_for_sale(price="10.00", recurring=recurring)
    buyer = wallet_buyer("50.00")
    if pin:
        buyer_services.set_purchase_pin(buyer=buyer, pin=pin)
    params = purchase_params(buyer, subscription, pricing_model, pin=pin or "")
    assert post(client, key, "create", **params).status_code == 201
    return buyer, subscription


def example2_content():
    document = (Path(__file__).parent / "reference_002_cancel_product.txt").read_text()
    start = document.index("Example2\n{", document.index("Latest revision")) + len("Example2\n")
    end = document.index("\nExceptions", start)
    return json.loads(document[start:end])["Content"]


def keys_of(value, path=""):
    if isinstance(value, dict):
        for key, child in value.items():
            yield f"{path}/{key}"
            yield from keys_of(child, f"{path}/{key}")


def test_cancel_answers_the_product_view_in_example2_shape(client, api_key):
    buyer, subscription = bought(client, api_key, pin="1234")
    response = post(
        client, api_key, "cancel", userId=buyer.code, productId=subscription.code, pin="1234"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["StatusCode"], body["Severity"], body["StatusMessage"]) == (0, 1, "OK")
    content = body["Content"]
    expected = set(keys_of(example2_content()))
    assert expected <= set(keys_of(content))
    assert content["ID"] == subscription.code
    assert content["HaveVoDAccess"] is True  # stops renewing; watchable until the period ends
    assert content["CanWatch"]["PurchaseStatus"] == "cancelling"
    assert content["CanWatch"]["PricingModel"]["Isrecurring"] is True
    assert content["CanWatch"]["ExpirationDate"] > timezone.now().timestamp()


def cancel_refusal(client, key, **params):
    response = post(client, key, "cancel", **params)
    assert response.status_code == 400, response.content
    return response.json()["Error"]


def test_every_cancel_refusal_of_reference_002_is_answered_with_its_code(client, api_key):
    buyer, subscription = bought(client, api_key, pin="1234")
    product = {"userId": buyer.code, "productId": subscription.code}
    assert cancel_refusal(client, api_key, productId=subscription.code) == {
        "Code": "authentication_required",
        "Name": "AuthenticationRequired",
        "Parameter": "userId",
    }
    assert cancel_refusal(client, api_key, **product, pin="0000")["Name"] == (
        "UserPurchasePinValueNoMatch"
    )
    stranger = wallet_buyer()
    assert cancel_refusal(client, api_key, userId=stranger.code, productId=subscription.code)[
        "Name"
    ] == ("UserHasNoRightsToThisProduct")
    assert cancel_refusal(client, api_key, userId=buyer.code, productId="NOPE0000")["Name"] == (
        "PurchaseNotFound"
    )
    assert post(client, api_key, "cancel", **product, pin="1234").status_code == 200
    assert cancel_refusal(client, api_key, **product, pin="1234")["Name"] == (
        "PurchaseAlreadyInCancelling"
    )
    assert post(client, api_key, "cancel", **product, pin="1234", mode="now").status_code == 200
    assert cancel_refusal(client, api_key, **product, pin="1234", mode="now")["Name"] == (
        "PurchaseAlreadyCancelled"
    )
    one_time_buyer, one_time = bought(client, api_key, recurring=False)
    assert cancel_refusal(client, api_key, userId=one_time_buyer.code, productId=one_time.code)[
        "Name"
    ] == ("NonRenewableUserRight")
    subscription, pricing_model = offer_for_sale()
    waiting = BuyerFactory()
    params = purchase_params(waiting, subscription, pricing_model, "sandbox_paypal", **REDIRECT)
    post(client, api_key, "create", **params)
    assert cancel_refusal(client, api_key, userId=waiting.code, productId=subscription.code)[
        "Name"
    ] == ("PurchaseAlreadyInPendingOBCancellation")


def test_cancel_with_idempotency_key_cancels_once(client, api_key):
    buyer, subscription = bought(client, api_key)
    product = {"userId": buyer.code, "productId": subscription.code, "mode": "now"}
    headers = {"Idempotency-Key": "cancel-1"}
    first = post(client, api_key, "cancel", headers=headers, **product)
    again = post(client, api_key, "cancel", headers=headers, **product)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert Purchase.objects.get().cancellations.count() == 1


# --- Buyer's products and the players' access check --------------------------------------------


def test_buyer_products_lists_what_the_buyer_can_watch_now(client, api_key):
    buyer, subscription = bought(client, api_key, recurring=False)
    granted, _ = offer_for_sale()
    buyer_services.grant_access(subscription=granted, buyer=buyer)
    later, _ = offer_for_sale()
    buyer_services.grant_access(
        subscription=later, buyer=buyer, access_start=timezone.now() + timedelta(days=3)
    )
    gone, _ = offer_for_sale()
    buyer_services.revoke_access(access=buyer_services.grant_access(subscription=gone, buyer=buyer))
    response = client.get(
        URLS["products"], {"userId": buyer.code}, headers={"Authorization": f"Bearer {api_key}"}
    )
    items = response.json()["Content"]
    assert {item["ProductId"]: item["MovieAccessReason"] for item in items} == {
        subscription.code: "purchased",
        granted.code: "granted",
    }


def test_access_check_grants_counts_the_activation_and_tells_why_not(client, make_api_key):
    key = make_api_key("access_check")
    subscription, _ = offer_for_sale()
    access = buyer_services.grant_access(
        subscription=subscription, email="fan@example.com", activation_limit=1
    )
    check = {"productId": subscription.code, "hash": access.hash, "udid": "tv-1"}
    headers = {"Authorization": f"Bearer {key}"}
    granted = client.get(URLS["check"], check, headers=headers).json()["Content"]
    assert (granted["Granted"], granted["NewActivation"], granted["ActivationsUsed"]) == (
        True,
        True,
        1,
    )
    again = client.get(URLS["check"], check, headers=headers).json()["Content"]
    assert (again["Granted"], again["NewActivation"]) == (True, False)
    other = client.get(URLS["check"], {**check, "udid": "phone"}, headers=headers)
    assert other.json()["Content"]["Reason"] == "activation_limit_reached"
    unknown = client.get(URLS["check"], {**check, "hash": "nope"}, headers=headers)
    assert unknown.json()["Content"] == {
        "Granted": False,
        "Reason": "unknown",
        "NewActivation": False,
        "ActivationsUsed": None,
        "ActivationLimit": None,
        "ExpirationDate": 0,
    }
    assert Access.objects.get().activations_used == 1
    purchases_key = make_api_key("purchases", name="Storefront")
    response = client.get(
        URLS["check"], check, headers={"Authorization": f"Bearer {purchases_key}"}
    )
    assert response.status_code == 403


def test_old_idempotency_answers_are_forgotten_by_the_beat_task(client, api_key):
    from api.models import IdempotentRequest
    from api.tasks import purge_old_idempotency_keys

    subscription, pricing_model = offer_for_sale(price="1.00")
    params = purchase_params(wallet_buyer("5.00"), subscription, pricing_model)
    post(client, api_key, "create", headers={"Idempotency-Key": "old"}, **params)
    assert purge_old_idempotency_keys.delay().get() == 0
    IdempotentRequest.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_old_idempotency_keys.delay().get() == 1
    assert not IdempotentRequest.objects.exists()


def test_beat_schedule_runs_the_idempotency_purge(settings):
    from config.celery import app

    tasks = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "api.tasks.purge_old_idempotency_keys" in tasks
    assert "api.tasks.purge_old_idempotency_keys" in app.tasks


def test_access_check_and_buyer_products_take_a_json_body_as_well_as_a_query(client, api_key):
    buyer, subscription = bought(client, api_key, recurring=False)
    access = Access.objects.get(buyer=buyer)
    headers = {"Authorization": f"Bearer {api_key}"}
    check = {"productId": subscription.code, "hash": access.hash, "udid": "tv-1"}
    by_query = client.get(URLS["check"], check, headers=headers).json()["Content"]
    by_body = client.post(URLS["check"], check, content_type="application/json", headers=headers)
    assert by_query["Granted"] is by_body.json()["Content"]["Granted"] is True
    products = client.post(
        URLS["products"], {"userId": buyer.code}, content_type="application/json", headers=headers
    )
    assert [item["ProductId"] for item in products.json()["Content"]] == [subscription.code]


def test_a_grant_made_while_the_payment_page_is_open_is_taken_over_not_doubled(client, api_key):
    """Granting twice: the JSON API refuses a buyer with a live access (UserAlreadyHasProduct);
    one granted while the buyer pays is the access the completed purchase takes over."""
    subscription, pricing_model = offer_for_sale()
    buyer = BuyerFactory()
    params = purchase_params(buyer, subscription, pricing_model, "sandbox_paypal", **REDIRECT)
    pending = post(client, api_key, "create", **params).json()["Content"]
    granted = buyer_services.grant_access(subscription=subscription, buyer=buyer)
    client.post(pending["RedirectURL"], {"pay": "1"})
    purchase = confirm_purchase(purchase=Purchase.objects.get())  # the return page asks
    assert purchase.status == Purchase.Status.COMPLETED
    assert purchase.access == granted
    assert Access.objects.count() == 1
    again = post(client, api_key, "create", **params)
    assert again.json()["Error"]["Name"] == "UserAlreadyHasProduct"
