"""The purchase service: every refusal of reference 001, each proving nothing was written, and
what a completed purchase records."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from buyers import services as buyer_services
from buyers.models import Access, WalletBalance
from purchases import errors
from purchases.models import Purchase
from purchases.services.checkout import create_purchase
from purchases.services.sessions import open_purchase_session
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer, written
from tests.subscriptions.factories import CouponFactory, PricingModelFactory

pytestmark = pytest.mark.django_db


def refused(error, **kwargs):
    before = written()
    with pytest.raises(error):
        create_purchase(**kwargs)
    assert written() == before, "a refusal wrote something"


@pytest.fixture
def product():
    return offer_for_sale(price="9.99")


def buy(buyer, product, payment_type="wallet", **kwargs):
    subscription, pricing_model = product
    return create_purchase(
        buyer=buyer,
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type=payment_type,
        **kwargs,
    )


def test_a_wallet_purchase_completes_debits_the_wallet_and_grants_access(
    product, mailoutbox, django_capture_on_commit_callbacks
):
    buyer = wallet_buyer("50.00")
    with django_capture_on_commit_callbacks(execute=True):
        purchase = buy(buyer, product)
    assert purchase.status == Purchase.Status.COMPLETED
    assert (purchase.list_price, purchase.discount, purchase.amount) == (
        Decimal("9.99"),
        Decimal(0),
        Decimal("9.99"),
    )
    assert WalletBalance.objects.get(buyer=buyer, currency="EUR").balance == Decimal("40.01")
    assert purchase.access.buyer == buyer and purchase.access.subscription == product[0]
    assert purchase.access.status == Access.Status.ACTIVE
    assert [m.subject for m in mailoutbox] == [
        f"Your receipt from Video shop back office: {product[0].name}"
    ]
    assert purchase.code in mailoutbox[0].body and purchase.access.hash in mailoutbox[0].body


def test_a_card_purchase_records_the_gateway_reference(product):
    purchase = buy(BuyerFactory(), product, "sandbox_card", instrument="tok_approve")
    assert purchase.status == Purchase.Status.COMPLETED
    assert purchase.gateway_reference.startswith("SB") and purchase.result_code == "0"
    assert purchase.auth_code


def test_a_declined_card_keeps_a_failed_purchase_with_the_gateways_answer(product):
    purchase = buy(BuyerFactory(), product, "sandbox_card", instrument="tok_insufficient_funds")
    assert purchase.status == Purchase.Status.FAILED
    assert (purchase.result_code, purchase.response_message) == ("51", "Insufficient funds")
    assert purchase.access is None and Access.objects.count() == 0


def test_a_card_timeout_is_resolved_by_asking_the_gateway(product):
    purchase = buy(BuyerFactory(), product, "sandbox_card", instrument="tok_timeout")
    assert purchase.status == Purchase.Status.COMPLETED


def test_a_coupon_is_applied_recorded_as_it_was_and_used_once(product):
    coupon = CouponFactory(code="SPRING", percent=Decimal("25"), use_limit=1)
    purchase = buy(wallet_buyer(), product, coupon_code="spring")
    assert (purchase.discount, purchase.amount, purchase.coupon_code) == (
        Decimal("2.50"),
        Decimal("7.49"),
        "SPRING",
    )
    coupon.refresh_from_db()
    assert coupon.uses == 1
    refused(
        errors.InvalidCoupon,
        buyer=wallet_buyer(),
        subscription=product[0],
        pricing_model=product[1],
        payment_type="wallet",
        coupon_code="SPRING",
    )


def test_staff_buy_for_a_buyer_without_the_pin(product, staff_user):
    buyer = wallet_buyer()
    buyer_services.set_purchase_pin(buyer=buyer, pin="1234")
    purchase = buy(buyer, product, staff_user=staff_user)
    assert purchase.status == Purchase.Status.COMPLETED and purchase.created_by == staff_user


def test_refused_without_a_buyer(product):
    refused(
        errors.AuthenticationRequired,
        buyer=None,
        subscription=product[0],
        pricing_model=product[1],
        payment_type="wallet",
    )


@pytest.mark.parametrize("pin", ["", "9999"])
def test_refused_with_a_wrong_or_empty_pin(product, pin):
    buyer = wallet_buyer()
    buyer_services.set_purchase_pin(buyer=buyer, pin="1234")
    refused(
        errors.UserPurchasePinValueNoMatch,
        buyer=buyer,
        subscription=product[0],
        pricing_model=product[1],
        payment_type="wallet",
        pin=pin,
    )
    assert buy(buyer, product, pin="1234").status == Purchase.Status.COMPLETED


@pytest.mark.parametrize("payment_type", ["bitcoin", ""])
def test_refused_for_an_unknown_payment_type(product, payment_type):
    refused(
        errors.InvalidPaymentType,
        buyer=wallet_buyer(),
        subscription=product[0],
        pricing_model=product[1],
        payment_type=payment_type,
    )


def test_refused_for_a_payment_type_the_shop_disabled(product, settings):
    settings.PAYMENT_GATEWAYS = ["sandbox_paypal"]
    refused(
        errors.InvalidPaymentType,
        buyer=BuyerFactory(),
        subscription=product[0],
        pricing_model=product[1],
        payment_type="sandbox_card",
        instrument="tok_approve",
    )


def test_refused_without_the_mandatory_subscription(product):
    mandatory, _ = offer_for_sale(mandatory=True)
    buyer = wallet_buyer()
    refused(
        errors.UserDoesNotHaveMandatorySubscription,
        buyer=buyer,
        subscription=product[0],
        pricing_model=product[1],
        payment_type="wallet",
    )
    buyer_services.grant_access(subscription=mandatory, buyer=buyer)
    assert buy(buyer, product).status == Purchase.Status.COMPLETED


@pytest.mark.parametrize(
    ("return_url", "cancel_url"),
    [
        ("", "https://shop.example/c"),
        ("https://shop.example/r", ""),
        ("javascript:alert(1)", "https://x.example/"),
    ],
)
def test_refused_for_a_redirect_payment_without_valid_urls(product, return_url, cancel_url):
    refused(
        errors.InvalidReturnOrCancelURL,
        buyer=BuyerFactory(),
        subscription=product[0],
        pricing_model=product[1],
        payment_type="sandbox_paypal",
        return_url=return_url,
        cancel_url=cancel_url,
    )


def test_refused_when_the_wallet_holds_too_little(product):
    refused(
        errors.InsufficientBalance,
        buyer=wallet_buyer("9.98"),
        subscription=product[0],
        pricing_model=product[1],
        payment_type="wallet",
    )


def test_refused_when_the_wallet_holds_another_currency(product):
    refused(
        errors.InsufficientBalance,
        buyer=wallet_buyer("100", currency="USD"),
        subscription=product[0],
        pricing_model=product[1],
        payment_type="wallet",
    )


def test_refused_for_no_or_an_archived_product(product):
    refused(
        errors.ProductDoesNotExist,
        buyer=wallet_buyer(),
        subscription=None,
        pricing_model=product[1],
        payment_type="wallet",
    )
    archived, pricing_model = offer_for_sale(archived_at=timezone.now())
    refused(
        errors.ProductDoesNotExist,
        buyer=wallet_buyer(),
        subscription=archived,
        pricing_model=pricing_model,
        payment_type="wallet",
    )


def test_refused_when_the_buyer_already_has_the_product(product):
    buyer = wallet_buyer()
    buy(buyer, product)
    refused(
        errors.UserAlreadyHasProduct,
        buyer=buyer,
        subscription=product[0],
        pricing_model=product[1],
        payment_type="wallet",
    )


def test_an_expired_access_does_not_stop_buying_again(product):
    buyer = wallet_buyer()
    buyer_services.grant_access(
        subscription=product[0],
        buyer=buyer,
        access_start=timezone.now() - timedelta(days=10),
        access_expire=timezone.now() - timedelta(days=1),
    )
    assert buy(buyer, product).status == Purchase.Status.COMPLETED


def test_refused_for_a_pricing_model_the_product_does_not_offer(product):
    refused(
        errors.InvalidPricingModelForThisProduct,
        buyer=wallet_buyer(),
        subscription=product[0],
        pricing_model=PricingModelFactory(),
        payment_type="wallet",
    )


def test_refused_without_a_pricing_model(product):
    refused(
        errors.InvalidPricingModel,
        buyer=wallet_buyer(),
        subscription=product[0],
        pricing_model=None,
        payment_type="wallet",
    )


def test_refused_while_a_purchase_of_the_product_waits_for_payment(product):
    buyer = wallet_buyer()
    pending = buy(
        buyer,
        product,
        "sandbox_paypal",
        return_url="https://shop.example/r",
        cancel_url="https://shop.example/c",
    )
    assert pending.status == Purchase.Status.PENDING and pending.redirect_url
    refused(
        errors.PendingProductCanNotBePurchased,
        buyer=buyer,
        subscription=product[0],
        pricing_model=product[1],
        payment_type="wallet",
    )


def test_refused_before_and_after_the_sale_window():
    now = timezone.now()
    soon, soon_pm = offer_for_sale(sale_start=now + timedelta(days=1))
    refused(
        errors.ProductNotAvailableYet,
        buyer=wallet_buyer(),
        subscription=soon,
        pricing_model=soon_pm,
        payment_type="wallet",
    )
    over, over_pm = offer_for_sale(
        sale_start=now - timedelta(days=9), sale_end=now - timedelta(days=1)
    )
    refused(
        errors.ProductExpired,
        buyer=wallet_buyer(),
        subscription=over,
        pricing_model=over_pm,
        payment_type="wallet",
    )


def test_refused_when_out_of_stock():
    subscription, pricing_model = offer_for_sale(stock=1)
    buyer_services.grant_access(subscription=subscription, buyer=BuyerFactory())
    refused(
        errors.UserCantAcquire,
        buyer=wallet_buyer(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="wallet",
    )


def test_refused_for_a_device_type_the_pricing_model_does_not_grant(product):
    pricing_model = product[1]
    pricing_model.grant_all_devices, pricing_model.device_types = False, ["web"]
    pricing_model.save()
    refused(
        errors.UserCantAcquire,
        buyer=wallet_buyer(),
        subscription=product[0],
        pricing_model=pricing_model,
        payment_type="wallet",
        device_type="smart_tv",
    )
    assert buy(wallet_buyer(), product, device_type="web").status == Purchase.Status.COMPLETED


def test_refused_for_a_provisioning_only_subscription():
    subscription, pricing_model = offer_for_sale(provisioning_only=True)
    refused(
        errors.SubscriptionNotAvailableForPurchaseType,
        buyer=wallet_buyer(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="wallet",
    )


def test_refused_to_pay_a_recurring_subscription_with_webpay():
    subscription, pricing_model = offer_for_sale(recurring=True)
    refused(
        errors.WebpayIsntAvailableForRecurringPayment,
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="sandbox_webpay",
        return_url="https://shop.example/r",
        cancel_url="https://shop.example/c",
    )


def test_a_redirect_purchase_completes_when_the_buyer_pays(product, client):
    from purchases.services.checkout import confirm_purchase

    purchase = buy(
        BuyerFactory(),
        product,
        "sandbox_paypal",
        return_url="https://shop.example/r",
        cancel_url="https://shop.example/c",
    )
    assert confirm_purchase(purchase=purchase).status == Purchase.Status.PENDING
    client.post(purchase.redirect_url, {"pay": "1"})
    assert confirm_purchase(purchase=purchase).status == Purchase.Status.COMPLETED


def test_a_purchase_session_is_used_by_one_purchase_only(product):
    buyer = wallet_buyer()
    session = open_purchase_session(buyer=buyer, subscription=product[0], user_ip="10.0.0.1")
    assert (session.price, session.currency) == (Decimal("9.99"), "EUR")
    purchase = buy(buyer, product, session=session)
    session.refresh_from_db()
    assert purchase.session == session and session.consumed_at is not None
    other = wallet_buyer()
    refused(
        errors.InvalidPurchaseSession,
        buyer=other,
        subscription=product[0],
        pricing_model=product[1],
        payment_type="wallet",
        session=session,
    )


def test_an_expired_session_cannot_be_used(product):
    buyer = wallet_buyer()
    session = open_purchase_session(buyer=buyer, subscription=product[0])
    session.created_at = session.created_at - timedelta(hours=2)
    session.expires_at = timezone.now() - timedelta(minutes=1)
    session.save()
    refused(
        errors.InvalidPurchaseSession,
        buyer=buyer,
        subscription=product[0],
        pricing_model=product[1],
        payment_type="wallet",
        session=session,
    )


def test_pending_purchases_expire_when_the_buyer_never_pays(product):
    from purchases.services.checkout import expire_pending_purchases

    pending = buy(
        BuyerFactory(),
        product,
        "sandbox_paypal",
        return_url="https://s.example/r",
        cancel_url="https://s.example/c",
    )
    assert expire_pending_purchases() == 0
    assert expire_pending_purchases(now=timezone.now() + timedelta(hours=1)) == 1
    pending.refresh_from_db()
    assert pending.status == Purchase.Status.FAILED
    assert pending.response_message == "The buyer did not complete the payment in time."


def test_demo_data_has_purchases_in_every_status():
    from io import StringIO

    from django.core.management import call_command

    call_command("load_demo_data", stdout=StringIO())
    assert set(Purchase.objects.values_list("status", flat=True)) == set(Purchase.Status.values)
    call_command("load_demo_data", stdout=StringIO())  # a second run adds nothing


def test_a_wrong_pin_is_counted_and_locks_after_the_limit(product, settings):
    settings.PURCHASE_PIN_FAILURE_LIMIT = 2
    buyer = wallet_buyer()
    buyer_services.set_purchase_pin(buyer=buyer, pin="1234")
    refused(
        errors.UserPurchasePinValueNoMatch,
        buyer=buyer,
        subscription=product[0],
        pricing_model=product[1],
        payment_type="wallet",
        pin="0000",
    )
    refused(
        errors.PurchasePinLocked,
        buyer=buyer,
        subscription=product[0],
        pricing_model=product[1],
        payment_type="wallet",
        pin="0000",
    )
    refused(
        errors.PurchasePinLocked,
        buyer=buyer,
        subscription=product[0],
        pricing_model=product[1],
        payment_type="wallet",
        pin="1234",
    )


def test_refused_after_the_subscriptions_access_window_ended():
    past = timezone.now() - timedelta(days=1)
    subscription, pricing_model = offer_for_sale(
        access_start=past - timedelta(days=30), access_expire=past, period=None
    )
    refused(
        errors.ProductExpired,
        buyer=wallet_buyer(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="wallet",
    )


def test_a_payment_page_closes_when_its_purchase_expires(product, client):
    from purchases.services.checkout import confirm_purchase, expire_pending_purchases

    pending = buy(
        BuyerFactory(),
        product,
        "sandbox_paypal",
        return_url="https://s.example/r",
        cancel_url="https://s.example/c",
    )
    expire_pending_purchases(now=timezone.now() + timedelta(hours=1))
    client.post(pending.redirect_url, {"pay": "1"})  # too late
    pending.refresh_from_db()
    assert pending.status == Purchase.Status.FAILED
    assert confirm_purchase(purchase=pending).status == Purchase.Status.FAILED
    from purchases.models import SandboxCharge

    assert SandboxCharge.objects.get(pnref=pending.gateway_reference).status == "cancelled"


def test_a_lost_card_answer_leaves_the_purchase_pending_until_the_gateway_knows(
    product, monkeypatch
):
    from purchases import gateways
    from purchases.services.checkout import confirm_purchase

    card = gateways.GATEWAYS["sandbox_card"]
    monkeypatch.setattr(card, "lookup", lambda idempotency_key: None)
    purchase = buy(BuyerFactory(), product, "sandbox_card", instrument="tok_timeout")
    assert purchase.status == Purchase.Status.PENDING
    monkeypatch.undo()
    assert confirm_purchase(purchase=purchase).status == Purchase.Status.COMPLETED


def test_prices_whose_difference_floats_badly_still_buy(product):
    subscription, pricing_model = offer_for_sale(price="59.99")
    CouponFactory(
        code="THIRTY", discount_type="fixed", percent=None, amount=Decimal("30.00"), currency="EUR"
    )
    purchase = buy(wallet_buyer("100"), (subscription, pricing_model), coupon_code="THIRTY")
    assert (purchase.status, purchase.amount) == (Purchase.Status.COMPLETED, Decimal("29.99"))


def test_a_free_card_purchase_completes_without_charging():
    from purchases.models import SandboxCharge

    subscription, pricing_model = offer_for_sale(price="10.00")
    CouponFactory(code="FREE", percent=Decimal("100"))
    purchase = buy(
        BuyerFactory(),
        (subscription, pricing_model),
        "sandbox_card",
        instrument="tok_approve",
        coupon_code="FREE",
    )
    assert (purchase.status, purchase.amount) == (Purchase.Status.COMPLETED, Decimal("0"))
    assert SandboxCharge.objects.count() == 0
