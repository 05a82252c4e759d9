"""An access-granted e-mail through a real SMTP server (aiosmtpd on a free local port)."""

import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from buyers import services
from subscriptions.models import ShopContacts

from .factories import SubscriptionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


class Inbox(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)

    def prepare_message(self, session, envelope):
        # Keep the raw bytes, parsed later with the modern e-mail policy.
        return envelope.original_content


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_inbox(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    try:
        yield inbox
    finally:
        controller.stop()


def test_access_granted_email_goes_through_a_real_smtp_server(
    smtp_inbox, django_capture_on_commit_callbacks
):
    ShopContacts.objects.create(name="Cinema Club", email="hello@cinema.example")
    subscription = SubscriptionFactory(name="Jazz Nights", custom_url="https://shop.example/jazz")
    with django_capture_on_commit_callbacks(execute=True):
        access = services.grant_access(
            subscription=subscription,
            email="ann@example.com",
            use_subscription_custom_url=True,
            notify=True,
        )

    assert len(smtp_inbox.messages) == 1
    message = message_from_bytes(smtp_inbox.messages[0], policy=policy.default)
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Your access to Jazz Nights"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert access.hash in body
        assert "https://shop.example/jazz" in body
        assert "Cinema Club" in body
