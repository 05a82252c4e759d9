"""The purchase receipt e-mailed to the buyer, queued after the purchase commits, sent once."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from buyers.models import SentEmail
from subscriptions.services import get_shop_contacts

from .models import Purchase

RECEIPT_KIND = "purchase_receipt"


def queue_purchase_receipt(purchase: Purchase) -> None:
    from .tasks import send_purchase_receipt

    transaction.on_commit(lambda: send_purchase_receipt.delay(purchase.pk))


def send_purchase_receipt(purchase_id: int) -> bool:
    """Send the receipt of a completed purchase unless it was sent; True when sent now."""
    purchase = (
        Purchase.objects.select_related("buyer", "subscription", "pricing_model", "access")
        .filter(pk=purchase_id)
        .first()
    )
    if purchase is None or not purchase.buyer.email or purchase.completed_at is None:
        return False
    contacts = get_shop_contacts()
    shop_name = contacts.name or settings.SHOP_NAME
    subject = f"Your receipt from {shop_name}: {purchase.subscription.name}"
    with transaction.atomic():
        _, created = SentEmail.objects.select_for_update().get_or_create(
            key=f"receipt:{purchase.code}",
            defaults={
                "kind": RECEIPT_KIND,
                "access": purchase.access,
                "to": purchase.buyer.email,
                "subject": subject,
            },
        )
        if not created:
            return False
        context = {
            "purchase": purchase,
            "buyer": purchase.buyer,
            "access": purchase.access,
            "contacts": contacts if contacts.pk else None,
            "shop_name": shop_name,
        }
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("purchases/email/receipt.txt", context),
            to=[purchase.buyer.email],
        )
        message.attach_alternative(
            render_to_string("purchases/email/receipt.html", context), "text/html"
        )
        message.send()
    return True
