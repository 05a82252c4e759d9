from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Outbound webhooks: endpoints, their deliveries and log, signed POSTs with retries."""

    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        from core import events, outbox

        from . import delivery, notifications

        # New events (core/events.py) become deliveries to the endpoints that want them.
        outbox.register(events.EVENTS_MESSAGE, delivery.fan_out)
        outbox.register(notifications.ENDPOINT_DISABLED, notifications.send_endpoint_disabled)
