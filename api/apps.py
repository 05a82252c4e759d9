from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The HTTP API: keys, idempotency, the reference PPV API, the JSON API and its OpenAPI."""

    name = "api"
    verbose_name = "HTTP API"
