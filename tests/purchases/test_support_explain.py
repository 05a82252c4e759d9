"""The support explainer: every purchase and access-check rule with its answer, and a property
test that it says "can buy" exactly when a real purchase of the same thing is accepted."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from buyers import services as buyer_services
from buyers.errors import BuyerNotFound
from buyers.models import AccessActivation
from purchases import errors
from purchases.models import Purchase
from purchases.services.checkout import create_purchase
from purchases.support.explain import (
    ASSUMED_URL,
    FAILED,
    NOT_CHECKED,
    PASSED,
    explain,
    explain_codes,
)
from subscriptions.models import Coupon
from tests.buyers.factories import AccessFactory
from tests.factories import UserFactory
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer, written
from tests.subscriptions.factories import (
    CouponFactory,
    OfferFactory,
    PricingModelFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


def outcome(explanation, name, part="purchase"):
    return next(a for a in getattr(explanation, part) if a.name == name)


def test_explainer_names_the_missing_mandatory_subscription_and_what_fixes_it():
    SubscriptionFactory(name="Basic membership", mandatory=True)
    subscription, _ = offer_for_sale()
    buyer = wallet_buyer()
    explanation = explain(buyer=buyer, subscription=subscription)
    answer = outcome(explanation, "mandatory")
    assert answer.outcome == FAILED
    assert "Basic membership" in answer.reason
    assert "mandatory subscription first" in answer.fix
    assert not explanation.can_buy


def test_explainer_collects_every_failure_not_only_the_first():
    SubscriptionFactory(name="Basic membership", mandatory=True)
    subscription, pricing_model = offer_for_sale(price="30.00", stock=1)
    AccessFactory(subscription=subscription)  # takes the only stock
    buyer = wallet_buyer(balance="5.00")
    explanation = explain(buyer=buyer, subscription=subscription, pricing_model=pricing_model)
    failed = [a.name for a in explanation.purchase if a.outcome == FAILED]
    assert failed == ["mandatory", "stock", "balance"]
    balance = outcome(explanation, "balance")
    assert "25.00 EUR" in balance.fix


def test_explainer_does_not_check_what_an_earlier_refusal_left_unknown():
    subscription, _ = offer_for_sale()
    other = PricingModelFactory(title="Not offered")
    explanation = explain(buyer=wallet_buyer(), subscription=subscription, pricing_model=other)
    assert outcome(explanation, "pricing_model").outcome == FAILED
    assert outcome(explanation, "price").outcome == NOT_CHECKED
    assert outcome(explanation, "balance").outcome == NOT_CHECKED
    assert outcome(explanation, "mandatory").outcome == PASSED


def test_explainer_tells_activations_used_up_and_what_would_change_it():
    subscription, _ = offer_for_sale()
    buyer = BuyerFactory()
    access = buyer_services.grant_access(subscription=subscription, buyer=buyer, activation_limit=3)
    for device in ("a", "b", "c"):
        buyer_services.check_access(
            subscription_code=subscription.code, access_password=access.hash, device_id=device
        )
    explanation = explain(buyer=buyer, subscription=subscription, device_id="new-tv")
    answer = outcome(explanation, "activation_limit_reached", "watch")
    assert answer.outcome == FAILED
    assert "Activations 3 of 3 used" in answer.reason
    assert "activation limit" in answer.fix
    assert not explanation.can_watch
    # A device that was activated before still plays.
    assert explain(buyer=buyer, subscription=subscription, device_id="b").can_watch


def test_explainer_writes_nothing():
    subscription, _ = offer_for_sale()
    buyer = wallet_buyer()
    access = AccessFactory(buyer=buyer, subscription=subscription)
    before = written(), AccessActivation.objects.count(), access.activations_used
    explain(buyer=buyer, subscription=subscription, device_id="tv")
    access.refresh_from_db()
    assert (written(), AccessActivation.objects.count(), access.activations_used) == before


@pytest.mark.parametrize(
    "kwargs, field, words",
    [
        ({"buyer": "", "subscription": "x"}, "buyer", "Give the buyer"),
        ({"buyer": "NOPE1234", "subscription": "x"}, "buyer", "No buyer has"),
        ({"buyer": "{buyer}", "subscription": "NOPE1234"}, "subscription", "No subscription"),
        (
            {"buyer": "{buyer}", "subscription": "{sub}", "pricing_model": "NOPE"},
            "pricing_model",
            "No pricing model",
        ),
    ],
)
def test_explainer_refuses_codes_that_name_nothing(kwargs, field, words):
    subscription, _ = offer_for_sale()
    buyer = BuyerFactory()
    kwargs = {k: v.format(buyer=buyer.code, sub=subscription.code) for k, v in kwargs.items()}
    with pytest.raises((BuyerNotFound, errors.PurchaseError)) as refused:
        explain_codes(**kwargs)
    assert refused.value.field == field
    assert words in refused.value.message


def test_explainer_finds_a_buyer_by_email():
    subscription, _ = offer_for_sale()
    buyer = BuyerFactory(email="ann@example.com")
    explanation = explain_codes(buyer="ANN@example.com", subscription=subscription.code)
    assert explanation.buyer == buyer


# --- The property: the explainer and a real purchase never disagree -----------------------------

OPTIONS = {
    # The first option of each is the one a purchase passes with.
    "product": ["on_sale", "archived", "provisioning", "not_yet", "sale_over", "window_over"],
    "stock": [None, 1, 5],
    "pricing": ["default", "other_offered", "not_offered"],
    "recurring": [False, True],
    "trial": [False, True],
    "devices": ["all", "web_only"],
    "device_type": ["", "web", "tv"],
    "payment_type": ["wallet", "sandbox_card", "sandbox_paypal", "sandbox_webpay", "cash"],
    "balance": ["50.00", "0", "5.00"],
    "coupon": ["", "valid", "hundred", "expired", "not_yet", "used_up", "elsewhere", "usd", "nope"],
    "mandatory": ["none", "held", "missing", "is_target"],
    "access": ["none", "active", "expired", "revoked", "future"],
    "pending": [False, True],
    "pin": ["none", "set", "locked"],
}


@st.composite
def scenarios(draw):
    """A shop where a purchase passes, with up to four of its facts changed at random (every
    fact changed at once would almost never be bought, and "can buy" would go untested)."""
    changed = draw(st.sets(st.sampled_from(sorted(OPTIONS)), max_size=4))
    return {
        name: draw(st.sampled_from(options)) if name in changed else options[0]
        for name, options in OPTIONS.items()
    }


def build(scenario):
    now = timezone.now()
    day = timedelta(days=1)
    fields = {
        "on_sale": {},
        "archived": {"archived_at": now - day},
        "provisioning": {"provisioning_only": True},
        "not_yet": {"sale_start": now + day},
        "sale_over": {"sale_end": now - day},
        "window_over": {"access_expire": now - day, "period": None},
    }[scenario["product"]]
    subscription, default = offer_for_sale(
        price="20.00", recurring=scenario["recurring"], stock=scenario["stock"], **fields
    )
    if scenario["trial"] and scenario["recurring"]:
        default.trial_days = 7
    if scenario["devices"] == "web_only":
        default.grant_all_devices, default.device_types = False, ["web"]
    default.save()
    pricing_model = default
    if scenario["pricing"] == "other_offered":
        pricing_model = PricingModelFactory(price=Decimal("4.00"))
        OfferFactory(subscription=subscription, pricing_model=pricing_model, is_default=False)
    elif scenario["pricing"] == "not_offered":
        pricing_model = PricingModelFactory()
    buyer = wallet_buyer(balance=scenario["balance"])
    if scenario["stock"] == 1:
        AccessFactory(subscription=subscription)
    coupon_code = ""
    if scenario["coupon"] == "nope":
        coupon_code = "NOSUCHCOUPON"
    elif scenario["coupon"]:
        coupon = {
            "valid": lambda: CouponFactory(percent=Decimal("10")),
            "hundred": lambda: CouponFactory(percent=Decimal("100")),
            "expired": lambda: CouponFactory(valid_until=now - day),
            "not_yet": lambda: CouponFactory(valid_from=now + day),
            "used_up": lambda: CouponFactory(use_limit=1, uses=1),
            "elsewhere": lambda: CouponFactory(applies_to_all=False),
            "usd": lambda: CouponFactory(
                discount_type=Coupon.DiscountType.FIXED,
                percent=None,
                amount=Decimal("1"),
                currency="USD",
            ),
        }[scenario["coupon"]]()
        coupon_code = coupon.code
    if scenario["mandatory"] == "is_target":
        subscription.mandatory = True
        subscription.save()
    elif scenario["mandatory"] != "none":
        basic = SubscriptionFactory(name="Basic membership", mandatory=True)
        if scenario["mandatory"] == "held":
            AccessFactory(buyer=buyer, subscription=basic)
    if scenario["access"] != "none":
        AccessFactory(
            buyer=buyer,
            subscription=subscription,
            access_start=now + day if scenario["access"] == "future" else None,
            access_expire={"expired": now - day, "future": now + 2 * day}.get(scenario["access"]),
            revoked_at=now - day if scenario["access"] == "revoked" else None,
        )
    if scenario["pending"]:
        Purchase.objects.create(
            buyer=buyer,
            subscription=subscription,
            pricing_model=default,
            list_price=Decimal("20.00"),
            amount=Decimal("20.00"),
            currency="EUR",
            payment_type="sandbox_paypal",
            status=Purchase.Status.PENDING,
            expires_at=now + day,
        )
    if scenario["pin"] != "none":
        buyer_services.set_purchase_pin(buyer=buyer, pin="1234")
        if scenario["pin"] == "locked":
            buyer.pin_locked_at = now
            buyer.save()
    return buyer, subscription, pricing_model, coupon_code


def real_purchase_accepted(staff, buyer, subscription, pricing_model, scenario, coupon_code):
    try:
        purchase = create_purchase(
            buyer=buyer,
            subscription=subscription,
            pricing_model=pricing_model,
            payment_type=scenario["payment_type"],
            staff_user=staff,
            coupon_code=coupon_code,
            instrument="tok_approve",
            return_url=ASSUMED_URL,
            cancel_url=ASSUMED_URL,
            device_type=scenario["device_type"],
        )
    except errors.PurchaseError as refusal:
        return False, refusal.code
    return purchase.status != Purchase.Status.FAILED, purchase.response_message


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_explainer_says_can_buy_exactly_when_a_real_purchase_is_accepted(scenario):
    staff = UserFactory(is_superuser=True)
    with transaction.atomic():
        buyer, subscription, pricing_model, coupon_code = build(scenario)
        explanation = explain(
            buyer=buyer,
            subscription=subscription,
            pricing_model=pricing_model,
            payment_type=scenario["payment_type"],
            device_type=scenario["device_type"],
            coupon_code=coupon_code,
        )
        answers = [(a.name, a.outcome, a.reason) for a in explanation.purchase]
        accepted, why = real_purchase_accepted(
            staff, buyer, subscription, pricing_model, scenario, coupon_code
        )
        event(f"accepted: {accepted}")
        assert explanation.can_buy == accepted, (scenario, answers, why)
        if not accepted:
            first = next(a for a in explanation.purchase if a.outcome == FAILED)
            assert first.code == why, (scenario, answers, why)
        transaction.set_rollback(True)


# --- The page -----------------------------------------------------------------------------------


def test_support_reads_why_a_buyer_cannot_buy_on_the_explain_page(client, staff_user):
    SubscriptionFactory(name="Basic membership", mandatory=True)
    subscription, _ = offer_for_sale(name="Jazz course")
    buyer = wallet_buyer()
    client.force_login(staff_user)
    page = client.get(reverse("buyers:detail", args=[buyer.code]))
    assert 'data-testid="explain-panel"' in page.content.decode()
    response = client.get(
        reverse("purchases:explain"), {"buyer": buyer.code, "subscription": subscription.code}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Cannot buy" in html and "Cannot watch" in html
    assert "Basic membership" in html
    assert "Sell or grant the buyer the mandatory subscription first." in html


def test_explain_page_shows_a_clear_message_for_an_unknown_buyer(client, staff_user):
    subscription, _ = offer_for_sale()
    client.force_login(staff_user)
    response = client.get(
        reverse("purchases:explain"),
        {"buyer": "nobody@example.com", "subscription": subscription.code},
    )
    assert response.status_code == 200
    assert "No buyer has the code or e-mail" in response.content.decode()
    response = client.get(reverse("purchases:explain"), {"buyer": "x", "subscription": "NOPE"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_subscription_page_offers_the_explainer(client, staff_user):
    subscription, _ = offer_for_sale()
    client.force_login(staff_user)
    page = client.get(reverse("subscriptions:detail", args=[subscription.code]))
    assert 'name="subscription" value="' + subscription.code in page.content.decode()


def test_explain_page_needs_the_buyer_permission(client):
    client.force_login(UserFactory())
    assert client.get(reverse("purchases:explain")).status_code == 403
