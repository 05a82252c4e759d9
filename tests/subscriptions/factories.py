from decimal import Decimal

import factory

from subscriptions.models import (
    Coupon,
    Media,
    PricingModel,
    Subscription,
    SubscriptionMedia,
    SubscriptionPricingModel,
)


class MediaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Media

    title = factory.Sequence(lambda n: f"Lecture {n}")
    kind = Media.Kind.VIDEO
    status = Media.Status.DONE
    width = 1280
    height = 720
    duration = 600


class PricingModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PricingModel

    title = factory.Sequence(lambda n: f"Rental {n}")
    price = Decimal("9.99")
    currency = "EUR"
    is_recurring = False
    rental_hours = 48

    class Params:
        recurring = factory.Trait(
            is_recurring=True,
            recurrence_unit=PricingModel.RecurrenceUnit.MONTHS,
            recurrence_count=1,
            rental_hours=None,
        )


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Course {n}")
    kind = Subscription.Kind.SUBSCRIPTION
    scope = Subscription.Scope.GROUP
    period = 30


class SubscriptionMediaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubscriptionMedia

    subscription = factory.SubFactory(SubscriptionFactory)
    media = factory.SubFactory(MediaFactory)


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubscriptionPricingModel

    subscription = factory.SubFactory(SubscriptionFactory)
    pricing_model = factory.SubFactory(PricingModelFactory)
    is_default = True


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"SAVE{n:04d}")
    discount_type = Coupon.DiscountType.PERCENT
    percent = Decimal("10")
