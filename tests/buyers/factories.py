import factory

from buyers.models import Access, Buyer
from tests.subscriptions.factories import SubscriptionFactory

__all__ = ["AccessFactory", "BuyerFactory", "SubscriptionFactory"]


class BuyerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Buyer

    email = factory.Sequence(lambda n: f"buyer{n:05d}@example.com")
    name = factory.Faker("name")


class AccessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Access

    buyer = factory.SubFactory(BuyerFactory)
    subscription = factory.SubFactory(SubscriptionFactory)
