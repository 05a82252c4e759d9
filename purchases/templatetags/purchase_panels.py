"""Panels other apps' pages show about purchases (the buyer's page), so those apps need not
import purchases: the page loads the tag, the tag asks the selectors."""

from django import template

from subscriptions.models import Subscription

from .. import selectors
from ..gateways import describe_instrument, payment_type_label
from ..support.emails import unsent_emails

register = template.Library()

# The buyer page's explain form lists subscriptions on sale by name; past this many, the
# explain page itself (any subscription) is the way.
EXPLAIN_CHOICES = 200


@register.inclusion_tag("purchases/partials/buyer_purchases.html", takes_context=True)
def buyer_purchases(context, buyer):
    user = context["request"].user
    purchases = (
        selectors.recent_purchases_of(buyer) if user.has_perm("purchases.view_purchase") else None
    )
    contracts = (
        selectors.contracts_of(buyer) if user.has_perm("purchases.view_recurringcontract") else None
    )
    rows = selectors.PANEL_ROWS
    return {
        "buyer": buyer,
        "purchases": purchases[:rows] if purchases is not None else None,
        "more_purchases": purchases is not None and len(purchases) > rows,
        "contracts": contracts[:rows] if contracts is not None else None,
        "more_contracts": contracts is not None and len(contracts) > rows,
        "may_buy": user.has_perm("purchases.add_purchase"),
    }


@register.inclusion_tag("purchases/partials/coupon_redemptions.html", takes_context=True)
def coupon_redemptions(context, coupon):
    """Who used the coupon, when, in which purchase and for what discount (the coupon's page),
    for users who may see purchases."""
    if not context["request"].user.has_perm("purchases.view_purchase"):
        return {"redemptions": None}
    rows = 20
    redemptions = selectors.coupon_redemptions(coupon, rows)
    return {
        "coupon": coupon,
        "redemptions": redemptions[:rows],
        "more": len(redemptions) > rows,
    }


@register.simple_tag
def payment_method(contract):
    """The contract's stored card as its gateway describes it (never the token)."""
    return describe_instrument(contract.payment_type, contract.instrument)


@register.filter
def payment_label(payment_type):
    """A payment type by its name: `wallet` -> "E-wallet", `sandbox_card` -> "Card (sandbox)"."""
    return payment_type_label(payment_type)


@register.inclusion_tag("purchases/partials/explain_panel.html", takes_context=True)
def explain_panel(context, buyer=None, subscription=None):
    """The small "why can't they buy / watch?" form on a buyer's or a subscription's page."""
    user = context["request"].user
    subscriptions = None
    if buyer is not None:
        subscriptions = Subscription.objects.filter(archived_at__isnull=True).order_by("name")[
            :EXPLAIN_CHOICES
        ]
    return {
        "buyer": buyer,
        "subscription": subscription,
        "subscriptions": subscriptions,
        "may_explain": user.has_perm("buyers.view_buyer"),
    }


@register.inclusion_tag("purchases/partials/unsent_emails.html")
def unsent_emails_panel(buyer=None):
    """Buyer e-mails waiting or failed in the outbox (of one buyer, or every buyer's)."""
    return {"buyer": buyer, "unsent": unsent_emails(buyer=buyer)}
