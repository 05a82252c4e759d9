from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The HTTP API: keys, idempotency, the reference PPV API, the JSON API and its OpenAPI."""

    name = "api"
    verbose_name = _("HTTP API")

    def ready(self):
        from .events import register_renderers

        # Events (core/events.py) show their object as this API does.
        register_renderers()
