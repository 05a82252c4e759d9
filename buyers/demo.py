"""Demo buyers with accesses to the demo subscriptions (active, upcoming, expired, revoked) and
e-wallet history. Safe to run twice: a buyer that exists is left as it is."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from subscriptions.models import Subscription

from . import services
from .models import Buyer

DEMO_BUYERS = [
    ("alice@example.com", "", "Alice Martin"),
    ("bruno@example.com", "+33 6 12 34 56 78", "Bruno Keller"),
    ("chen@example.com", "", "Chen Wei"),
    ("", "+44 20 7946 0958", "Dana Phone-only"),
    ("eve@example.com", "", "Eve Archer"),
]


def _subscription(name):
    return Subscription.objects.filter(name=name, archived_at__isnull=True).first()


def _grant(subscription_name, buyer, staff, **fields):
    subscription = _subscription(subscription_name)
    if subscription is None:
        return None
    return services.grant_access(subscription=subscription, buyer=buyer, granted_by=staff, **fields)


def load(out):
    """Create the demo buyers once, with their accesses and wallets."""
    staff = get_user_model().objects.filter(username="staff").first()
    now = timezone.now()
    buyers = {}
    for email, phone, name in DEMO_BUYERS:
        exists = (
            Buyer.objects.filter(email__iexact=email).exists()
            if email
            else (Buyer.objects.filter(phone=phone).exists())
        )
        if exists:
            continue
        buyers[name.split()[0]] = services.create_buyer(email=email, phone=phone, name=name)
    if not buyers:
        return

    if alice := buyers.get("Alice"):
        access = _grant("Cooking masterclass", alice, staff, use_subscription_custom_url=True)
        if access:
            for device, ip in (("alice-laptop", "198.51.100.10"), ("alice-phone", "198.51.100.11")):
                services.check_access(
                    subscription_code=access.subscription.code,
                    access_password=access.hash,
                    device_id=device,
                    ip_address=ip,
                )
        _grant("Members' lounge", alice, staff)
        services.set_purchase_pin(buyer=alice, pin="2468")
        services.top_up_wallet(
            buyer=alice, amount=Decimal("50.00"), currency="EUR", created_by=staff
        )
        services.debit_wallet(
            buyer=alice, amount=Decimal("19.99"), currency="EUR", reference="DEMO-1"
        )
        services.refund_to_wallet(
            buyer=alice, amount=Decimal("5.00"), currency="EUR", reference="DEMO-1"
        )
        if staff is not None:
            services.adjust_wallet(
                buyer=alice,
                amount=Decimal("-2.50"),
                currency="EUR",
                reason="Duplicate top-up fee corrected",
                created_by=staff,
            )
        out.write("  demo buyer  alice@example.com  purchase PIN: 2468")
    if bruno := buyers.get("Bruno"):
        _grant("Premiere: The Long Road", bruno, staff, custom_url="https://shop.example/premiere")
        services.top_up_wallet(
            buyer=bruno, amount=Decimal("20.00"), currency="USD", created_by=staff
        )
    if chen := buyers.get("Chen"):
        _grant(
            "Cooking masterclass",
            chen,
            staff,
            access_start=now - timedelta(days=60),
            access_expire=now - timedelta(days=30),
        )
        _grant("Members' lounge", chen, staff, access_expire=now + timedelta(days=2))
    if dana := buyers.get("Dana"):
        _grant("Partner archive", dana, staff, activation_limit=1)
    if eve := buyers.get("Eve"):
        access = _grant("Cooking masterclass", eve, staff)
        if access:
            services.revoke_access(access=access, revoked_by=staff)
        services.top_up_wallet(buyer=eve, amount=Decimal("1000"), currency="JPY", created_by=staff)
    out.write(f"  {len(buyers)} demo buyers with accesses and e-wallet history")
