"""Endpoints: who may add them, what URLs they may have (no SSRF), the secret shown once, and
the management command."""

import socket

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from webhooks import delivery, services
from webhooks.errors import EndpointRefused, UnknownEventType
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@pytest.fixture
def public_dns(monkeypatch):
    """Names resolve as a test says, without the network: {"host": ["address", ...]}."""
    table = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in table:
            raise socket.gaierror("not found")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in table[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://172.16.5.5/hooks",
        "https://169.254.169.254/latest/meta-data",  # the cloud's metadata service
        "https://[::1]/hooks",
        "https://[fe80::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://0.0.0.0/hooks",
        "https://100.64.0.1/hooks",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(db, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(EndpointRefused, match="private, loopback or link-local"):
        services.create_endpoint(url=url, event_types=["*"])
    assert not WebhookEndpoint.objects.exists()


def test_a_name_with_any_private_address_is_refused(db, settings, public_dns):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    public_dns["hooks.example.com"] = ["93.184.216.34", "10.0.0.7"]
    with pytest.raises(EndpointRefused, match="10.0.0.7"):
        services.create_endpoint(url="https://hooks.example.com/in", event_types=["*"])
    public_dns["hooks.example.com"] = ["93.184.216.34"]
    endpoint = services.create_endpoint(url="https://hooks.example.com/in", event_types=["*"])
    assert endpoint.enabled and endpoint.secret.startswith("whsec_")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/in", "https://"),
        ("ftp://hooks.example.com/in", "https://"),
        ("https:///in", "no host"),
        ("https://user:pw@hooks.example.com/in", "user name"),
        ("https://nowhere.invalid/in", "cannot be found"),
        ("https://hooks.example.com:99999/in", "valid URL"),
    ],
)
def test_bad_urls_are_refused_with_a_message(db, settings, public_dns, url, message):
    settings.DEBUG = False
    public_dns["hooks.example.com"] = ["93.184.216.34"]
    with pytest.raises(EndpointRefused, match=message):
        services.create_endpoint(url=url, event_types=["*"])
    assert not WebhookEndpoint.objects.exists()


def test_plain_http_is_allowed_only_with_debug(db, settings, public_dns):
    public_dns["hooks.example.com"] = ["93.184.216.34"]
    settings.DEBUG = True
    assert services.create_endpoint(url="http://hooks.example.com/in", event_types=["*"])


def test_unknown_event_types_are_refused(db, settings, public_dns):
    public_dns["hooks.example.com"] = ["93.184.216.34"]
    with pytest.raises(UnknownEventType, match="purchase.exploded"):
        services.create_endpoint(
            url="https://hooks.example.com/in", event_types=["purchase.exploded"]
        )
    with pytest.raises(UnknownEventType):
        services.create_endpoint(url="https://hooks.example.com/in", event_types=[])


def test_a_name_that_turns_private_after_creation_is_not_sent_to(
    db, local_receivers, httpserver, settings
):
    """DNS rebinding: the check runs again at every send, on the address it connects to."""
    from tests.webhooks.test_delivery import publish_and_fan_out

    endpoint = WebhookEndpoint.objects.create(url=httpserver.url_for("/hooks"), event_types=["*"])
    publish_and_fan_out(endpoint)
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    assert delivery.deliver() == 0
    assert httpserver.log == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and "private" in attempt.error
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.PENDING


# --- Pages ---------------------------------------------------------------------------------


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(admin_client, settings, public_dns):
    public_dns["hooks.example.com"] = ["93.184.216.34"]
    response = admin_client.post(
        reverse("webhooks:create"),
        {"url": "https://hooks.example.com/in", "event_types": ["purchase.completed"]},
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert endpoint.secret in response.content.decode()
    assert endpoint.event_types == ["purchase.completed"]
    for page in (reverse("webhooks:list"), reverse("webhooks:detail", args=[endpoint.code])):
        shown = admin_client.get(page)
        assert shown.status_code == 200
        assert endpoint.secret not in shown.content.decode()


def test_a_refused_url_is_shown_beside_the_field_and_nothing_is_added(admin_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = admin_client.post(
        reverse("webhooks:create"),
        {"url": "https://127.0.0.1/in", "event_types": ["*"]},
    )
    assert response.status_code == 200
    assert "private, loopback or link-local" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_staff_without_the_admin_role_cannot_open_the_pages(client, staff_user, finance_user):
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/", event_types=["*"])
    for user in (staff_user, finance_user):
        client.force_login(user)
        for name, args in (
            ("webhooks:list", []),
            ("webhooks:create", []),
            ("webhooks:detail", [endpoint.code]),
            ("webhooks:test", [endpoint.code]),
            ("webhooks:replay", [endpoint.code]),
        ):
            assert client.get(reverse(name, args=args)).status_code == 403
    assert client.post(reverse("webhooks:test", args=[endpoint.code])).status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_the_delivery_log_page_lists_attempts_and_disabling_works(
    admin_client, local_receivers, httpserver, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpoint.objects.create(url=httpserver.url_for("/hooks"), event_types=["*"])
    httpserver.expect_request("/hooks").respond_with_data("received it")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("webhooks:test", args=[endpoint.code]))
    assert response.status_code == 302
    page = admin_client.get(reverse("webhooks:detail", args=[endpoint.code])).content.decode()
    assert "received it" in page and "webhook.test" in page
    sent = WebhookDelivery.objects.get()
    resend = reverse("webhooks:resend", args=[endpoint.code, sent.event.uid])
    assert resend in page
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(resend).status_code == 302
    assert WebhookAttempt.objects.filter(delivery=sent).count() == 2
    admin_client.post(reverse("webhooks:toggle", args=[endpoint.code]))
    endpoint.refresh_from_db()
    assert not endpoint.enabled


def test_a_replay_with_a_bad_range_shows_a_message(admin_client):
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/", event_types=["*"])
    response = admin_client.post(
        reverse("webhooks:replay", args=[endpoint.code]),
        {"start": "2026-11-02 10:00", "end": "2026-11-01 10:00"},
    )
    assert response.status_code == 200
    assert "The start must be before the end." in response.content.decode()
    response = admin_client.post(
        reverse("webhooks:replay", args=[endpoint.code]), {"start": "yesterday", "end": ""}
    )
    assert response.status_code == 200 and not WebhookDelivery.objects.exists()


# --- manage.py webhook_endpoint ---------------------------------------------------------------


def test_the_command_adds_lists_disables_and_enables(db, public_dns, capsys):
    public_dns["hooks.example.com"] = ["93.184.216.34"]
    call_command(
        "webhook_endpoint",
        "add",
        "https://hooks.example.com/in",
        "--events",
        "purchase.completed",
        "access.granted",
    )
    endpoint = WebhookEndpoint.objects.get()
    out = capsys.readouterr().out
    assert endpoint.secret in out
    assert endpoint.event_types == ["purchase.completed", "access.granted"]
    call_command("webhook_endpoint", "list")
    out = capsys.readouterr().out
    assert endpoint.code in out and endpoint.secret not in out
    call_command("webhook_endpoint", "disable", endpoint.code)
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    call_command("webhook_endpoint", "enable", endpoint.code)
    endpoint.refresh_from_db()
    assert endpoint.enabled


def test_the_command_refuses_a_private_url_with_a_message(db, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(CommandError, match="private"):
        call_command("webhook_endpoint", "add", "https://10.0.0.1/", "--events", "*")
    with pytest.raises(CommandError, match="No webhook endpoint"):
        call_command("webhook_endpoint", "disable", "nope")
    assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_runs_the_same_queries_for_few_or_many_attempts(
    admin_client, django_assert_max_num_queries
):
    from core.models import Event

    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/", event_types=["*"])
    url = reverse("webhooks:detail", args=[endpoint.code])

    def add_attempts(count):
        for _ in range(count):
            event = Event.objects.create(type="buyer.created", api_version="1", data={})
            sent = WebhookDelivery.objects.create(event=event, endpoint=endpoint)
            WebhookAttempt.objects.create(delivery=sent, endpoint=endpoint, status_code=200)

    add_attempts(2)
    with django_assert_max_num_queries(12) as few:
        assert admin_client.get(url).status_code == 200
    add_attempts(40)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = admin_client.get(url)
    assert page.content.decode().count("Resend") >= 25
