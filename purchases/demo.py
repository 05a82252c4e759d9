"""Demo purchases in every status, made through the purchase service like real ones."""

from decimal import Decimal

from django.utils import timezone

from buyers import services as buyer_services
from subscriptions.models import Subscription

from . import errors
from .models import Purchase
from .services.cancellations import cancel_purchase, refund_purchase
from .services.checkout import create_purchase

DEMO_BUYERS = [
    ("maria.demo@example.com", "María García"),
    ("ivan.demo@example.com", "Иван Петров"),
    ("yuki.demo@example.com", "Yuki Tanaka"),
]  # María, Ivan and Yuki: their purchases below show every status


def _buyer(email, name):
    buyer, _ = buyer_services.get_or_create_buyer(email=email, name=name)
    return buyer


def _on_sale():
    """(subscription, pricing model) pairs that can be bought now, every offer of each."""
    now = timezone.now()
    found = []
    for subscription in Subscription.objects.filter(
        archived_at__isnull=True, provisioning_only=False
    ).order_by("pk"):
        if (subscription.sale_start and now < subscription.sale_start) or (
            subscription.sale_end and now >= subscription.sale_end
        ):
            continue
        for offer in subscription.offers.select_related("pricing_model").order_by("pk"):
            found.append((subscription, offer.pricing_model))
    return found


def _buy(buyer, subscription, pricing_model, payment_type, **kwargs):
    try:
        return create_purchase(
            buyer=buyer,
            subscription=subscription,
            pricing_model=pricing_model,
            payment_type=payment_type,
            staff_user=None,
            **kwargs,
        )
    except errors.PurchaseError:
        return None


def load(out):
    """Once: a few buyers with completed, failed, pending, cancelling, cancelled and refunded
    purchases, paid by wallet, card and PayPal."""
    if Purchase.objects.exists():
        return
    products = _on_sale()
    if not products:
        return
    mandatory = [p for p in products if p[0].mandatory][:1]
    first_offers = {}
    for subscription, pricing_model in products:
        if not subscription.mandatory:
            first_offers.setdefault(subscription.pk, (subscription, pricing_model))
    others = list(first_offers.values()) or products
    s0, s1 = others[0], others[1 % len(others)]
    redirect = {
        "return_url": "https://shop.example/thanks",
        "cancel_url": "https://shop.example/cart",
    }
    card = {"instrument": "tok_approve"}
    made = []
    buyers = [_buyer(email, name) for email, name in DEMO_BUYERS]
    for buyer in buyers:
        for currency in {pm.currency for _, pm in products}:
            buyer_services.top_up_wallet(buyer=buyer, amount=Decimal(5000), currency=currency)
        for subscription, pricing_model in mandatory:
            made.append(_buy(buyer, subscription, pricing_model, "sandbox_card", **card))
    maria, ivan, yuki = buyers

    made.append(_buy(maria, *s0, "wallet"))
    stopping = _buy(maria, *s1, "sandbox_card", **card)
    if stopping and stopping.is_recurring and stopping.status == "completed":
        cancel_purchase(purchase=stopping, mode="period_end")

    ended = _buy(ivan, *s0, "sandbox_card", **card)
    if ended and ended.is_recurring and ended.status == "completed":
        cancel_purchase(purchase=ended, mode="now", refund="prorated")
    made.append(_buy(ivan, *s1, "sandbox_card", instrument="tok_decline"))
    made.append(_buy(ivan, *s1, "sandbox_paypal", **redirect))

    paid = [offer for offer in (s0, s1) if not offer[1].trial_days] or [s1]
    refunded = _buy(yuki, *paid[0], "wallet")
    if refunded and refunded.status == "completed" and refunded.amount > 0:
        refund_purchase(
            purchase=refunded, amount=refunded.amount, reason="Demo refund", staff_user=None
        )
    other = s0 if paid[0] == s1 else s1
    made += [stopping, ended, refunded, _buy(yuki, *other, "sandbox_card", **card)]
    out.write(f"  Demo purchases: {sum(1 for p in made if p)}")
