from decimal import Decimal

from buyers import services as buyer_services
from buyers.models import Access, WalletEntry
from purchases.models import Purchase, PurchaseSession
from subscriptions.models import Coupon
from tests.buyers.factories import BuyerFactory
from tests.subscriptions.factories import OfferFactory, PricingModelFactory, SubscriptionFactory

__all__ = ["BuyerFactory", "offer_for_sale", "wallet_buyer", "written"]


def offer_for_sale(*, price="9.99", currency="EUR", recurring=False, **subscription_fields):
    """A subscription on sale with one (default) pricing model; answers both."""
    subscription = SubscriptionFactory(**subscription_fields)
    pricing_model = PricingModelFactory(
        price=Decimal(price), currency=currency, recurring=recurring
    )
    OfferFactory(subscription=subscription, pricing_model=pricing_model, is_default=True)
    return subscription, pricing_model


def wallet_buyer(balance="50.00", currency="EUR", **fields):
    buyer = BuyerFactory(**fields)
    if Decimal(balance):
        buyer_services.top_up_wallet(buyer=buyer, amount=Decimal(balance), currency=currency)
    return buyer


def written():
    """What a purchase writes: a refused one must leave all of it as it was."""
    return (
        Purchase.objects.count(),
        Access.objects.count(),
        WalletEntry.objects.count(),
        list(Coupon.objects.values_list("uses", flat=True)),
        list(PurchaseSession.objects.values_list("consumed_at", flat=True)),
    )
