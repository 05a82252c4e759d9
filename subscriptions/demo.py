"""Demo catalog: every kind and scope of subscription, media, prices in three currencies, coupons
and the shop's contacts, so each catalog page shows something. Safe to run twice."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from . import services
from .models import Coupon, Media, PricingModel, ShopContacts, Subscription

PRICING_MODELS = [
    {"title": "48-hour rental", "price": Decimal("4.99"), "currency": "EUR", "rental_hours": 48},
    {
        "title": "Monthly",
        "price": Decimal("9.99"),
        "currency": "EUR",
        "is_recurring": True,
        "recurrence_unit": "months",
        "recurrence_count": 1,
        "trial_days": 7,
    },
    {
        "title": "Yearly",
        "price": Decimal("99.00"),
        "currency": "USD",
        "is_recurring": True,
        "recurrence_unit": "years",
        "recurrence_count": 1,
        "quality": "UHD",
    },
    {
        "title": "Weekly on phones",
        "price": Decimal("3.50"),
        "currency": "GBP",
        "is_recurring": True,
        "recurrence_unit": "weeks",
        "recurrence_count": 1,
        "grant_all_devices": False,
        "device_types": ["mobile", "tablet"],
        "quality": "SD",
    },
    {"title": "Premiere ticket", "price": Decimal("1500"), "currency": "JPY"},
]

MEDIA = [
    ("Knife skills", "video", "done", 1920, 1080, 754),
    ("Sauces", "video", "done", 1920, 1080, 1312),
    ("Baking bread", "video", "processing", 1920, 1080, None),
    ("Chef interview", "audio", "done", None, None, 2405),
    ("The Long Road (feature)", "video", "done", 3840, 2160, 6420),
    ("Webinar: pricing your course", "video", "done", 1280, 720, 3600),
    ("Partner briefing", "video", "failed", 1280, 720, None),
    ("Members' podcast #1", "audio", "done", None, None, 1800),
]


def load(out):
    """Create the demo catalog once; later runs add only what is missing."""
    pricing = {}
    for fields in PRICING_MODELS:
        existing = PricingModel.objects.filter(title=fields["title"]).first()
        pricing[fields["title"]] = existing or services.create_pricing_model(**fields)

    media = {}
    for title, kind, status, width, height, duration in MEDIA:
        existing = Media.objects.filter(title=title).first()
        media[title] = existing or services.create_media(
            title=title,
            kind=kind,
            status=status,
            width=width,
            height=height,
            duration=duration,
            hls_url=f"https://cdn.example/{title.lower().replace(' ', '-')[:30]}/playlist.m3u8",
        )

    today = timezone.localdate()
    subscriptions = [
        (
            {
                "name": "Cooking masterclass",
                "kind": "subscription",
                "scope": "group",
                "period": 30,
                "description": "Twelve lessons from a professional kitchen.",
                "drm": True,
                "watermark": True,
                "watermark_email": True,
                "preview": 60,
                "custom_url": "https://shop.example/cooking",
                "pricing_models": [pricing["Monthly"], pricing["Yearly"]],
            },
            ["Knife skills", "Sauces", "Baking bread", "Chef interview"],
        ),
        (
            {
                "name": "Premiere: The Long Road",
                "kind": "subscription",
                "scope": "single",
                "access_start": today + timedelta(days=3),
                "access_expire": today + timedelta(days=10),
                "sale_start": today + timedelta(days=1),
                "stock": 500,
                "pricing_models": [pricing["Premiere ticket"], pricing["48-hour rental"]],
            },
            ["The Long Road (feature)"],
        ),
        (
            {
                "name": "Members' lounge",
                "kind": "password",
                "scope": "group",
                "period": 365,
                "activation": 3,
                "device_ban": True,
                "pricing_models": [pricing["Weekly on phones"]],
            },
            ["Members' podcast #1"],
        ),
        (
            {
                "name": "Webinar registration",
                "kind": "collection",
                "collection_type": "collect",
                "scope": "single",
                "period": 7,
            },
            ["Webinar: pricing your course"],
        ),
        (
            {
                "name": "Partner archive",
                "kind": "collection",
                "collection_type": "protect",
                "scope": "group",
                "period": 90,
                "provisioning_only": True,
                "ip_recovery": True,
            },
            ["Partner briefing"],
        ),
        (
            {
                "name": "Basic membership",
                "kind": "subscription",
                "scope": "group",
                "period": 365,
                "mandatory": not Subscription.objects.filter(mandatory=True).exists(),
                "buyer_commission": True,
                "pricing_models": [pricing["Yearly"]],
            },
            [],
        ),
        (
            {
                "name": "Spring festival 2025",
                "kind": "subscription",
                "scope": "group",
                "access_expire": date(2025, 5, 31),
                "sale_end": date(2025, 5, 1),
                "pricing_models": [pricing["48-hour rental"]],
            },
            [],
        ),
    ]
    created = 0
    for fields, titles in subscriptions:
        if Subscription.objects.filter(name=fields["name"]).exists():
            continue
        subscription = services.create_subscription(**fields)
        for title in titles:
            services.attach_media(subscription=subscription, media=media[title])
        created += 1

    if not Coupon.objects.filter(code__iexact="WELCOME10").exists():
        services.create_coupon(
            code="WELCOME10",
            description="Ten percent off a first purchase",
            discount_type="percent",
            percent=Decimal("10"),
            use_limit=1000,
            first_purchase_only=True,
        )
    if not Coupon.objects.filter(code__iexact="COOK5").exists():
        services.create_coupon(
            code="COOK5",
            description="Five euros off the cooking masterclass",
            discount_type="fixed",
            amount=Decimal("5"),
            currency="EUR",
            applies_to_all=False,
            subscriptions=Subscription.objects.filter(name="Cooking masterclass"),
            valid_until=today + timedelta(days=60),
        )
    if not ShopContacts.objects.exists():
        services.update_shop_contacts(
            name="Demo Video Shop",
            phone="+1 555 0100",
            email="hello@shop.example",
            site="https://shop.example",
            description="Courses, premieres and members' content.",
        )
    if created:
        out.write(f"  catalog: {created} subscriptions with media, prices and coupons")
