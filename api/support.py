"""The JSON API for support tools: "why can't this buyer buy / watch?" (purchases.support's
explainer). Parameters keep the purchase API's names (userId, productId, pricingModelId,
paymentType, deviceType, coupon, udid); a code that names nothing is refused with its named
error and the parameter concerned. openapi.py routes and documents it."""

from purchases.support.explain import explain_codes

from .params import text
from .purchases import ok


def explain(request, params):
    """Every purchase rule and access-check rule for the buyer and the subscription, each passed,
    failed (with the reason and what would change it), not checked, or a note. Writes nothing."""
    explanation = explain_codes(
        buyer=text(params, "userId", max_length=254),
        subscription=text(params, "productId", max_length=32),
        pricing_model=text(params, "pricingModelId", max_length=32),
        payment_type=text(params, "paymentType", max_length=40),
        device_type=text(params, "deviceType", max_length=50),
        coupon_code=text(params, "coupon", max_length=32),
        device_id=text(params, "udid", max_length=200),
    )
    access = explanation.access
    return ok(
        {
            "BuyerId": explanation.buyer.code,
            "ProductId": explanation.subscription.code,
            "PricingModelId": explanation.pricing_model.code if explanation.pricing_model else None,
            "PaymentType": explanation.payment_type,
            "CanBuy": explanation.can_buy,
            "CanWatch": explanation.can_watch,
            "AccessId": access.code if access else None,
            "Purchase": [answer.as_json() for answer in explanation.purchase],
            "Watch": [answer.as_json() for answer in explanation.watch],
            "Notes": [answer.as_json() for answer in explanation.notes],
        }
    )
