import pytest

from webhooks import delivery
from webhooks.models import WebhookEndpoint


@pytest.fixture
def local_receivers(settings):
    """Tests post to pytest-httpserver on 127.0.0.1 over plain HTTP: both need allowing."""
    settings.DEBUG = True
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    delivery._pools.clear()


@pytest.fixture
def endpoint_at(db, local_receivers, httpserver):
    """An enabled endpoint on the local receiver, for the given event types."""

    def make(*event_types, path="/hooks"):
        return WebhookEndpoint.objects.create(
            url=httpserver.url_for(path), event_types=list(event_types) or ["*"]
        )

    return make
