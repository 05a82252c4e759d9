"""Telling the admins that an endpoint was disabled: an e-mail written to the outbox in the
transaction that disabled it, sent after it commits."""

from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from core import outbox

from .models import WebhookEndpoint

ENDPOINT_DISABLED = "webhooks.endpoint_disabled"


def queue_endpoint_disabled_email(endpoint: WebhookEndpoint) -> None:
    outbox.enqueue(
        ENDPOINT_DISABLED,
        {"endpoint_id": endpoint.pk},
        key=f"webhook-disabled:{endpoint.code}:{endpoint.disabled_at.isoformat()}",
    )


def send_endpoint_disabled(payload: dict) -> int:
    """Mail every active admin with an e-mail address; answers how many were mailed."""
    endpoint = WebhookEndpoint.objects.get(pk=payload["endpoint_id"])
    admins = list(
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not admins:
        return 0
    return send_mail(
        subject=f"Webhook endpoint disabled: {endpoint.url}",
        message=(
            f"The webhook endpoint {endpoint.url} ({endpoint.code}) was disabled: "
            f"{endpoint.disabled_reason}\n\n"
            "Its events wait. Fix the receiver, then enable the endpoint again on the Webhooks "
            "page; events it missed can be replayed from there."
        ),
        from_email=None,
        recipient_list=admins,
    )
