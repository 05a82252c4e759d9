"""Telling admins on every page that an endpoint was disabled after failing (they are e-mailed
too, but an e-mail is easy to miss): until it is enabled again or an admin disables it."""

from django.utils.functional import SimpleLazyObject

from .models import WebhookEndpoint


def notices(request):
    user = getattr(request, "user", None)
    if (
        user is None
        or not user.is_authenticated
        or not user.has_perm("webhooks.change_webhookendpoint")
    ):
        return {}
    return {
        "failing_webhooks": SimpleLazyObject(
            lambda: list(
                WebhookEndpoint.objects.filter(enabled=False, disabled_by_failures=True)
                .order_by("disabled_at", "pk")
                .only("code", "url", "disabled_reason")[:5]
            )
        )
    }
