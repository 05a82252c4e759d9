"""Looking after endpoints: a new signing secret with an overlap (receivers switch without
refusing a delivery), admins told on every page about an endpoint disabled after failing, and
the delivery log forgotten after the retention period."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.models import Event
from webhooks import delivery, services
from webhooks.errors import InvalidOverlap
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

from .test_delivery import publish_and_fan_out, readme_verifier, received

pytestmark = pytest.mark.django_db


def test_after_a_new_secret_both_secrets_verify_until_the_overlap_ends(endpoint_at, httpserver):
    endpoint = endpoint_at()
    old = endpoint.secret
    httpserver.expect_request("/hooks").respond_with_data("ok")
    endpoint = services.rotate_secret(endpoint=endpoint, keep_previous_hours=24)
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")
    assert endpoint.previous_secret_until > timezone.now() + timedelta(hours=23)

    publish_and_fan_out(endpoint)
    delivery.deliver()
    [request] = received(httpserver)
    verify, body = readme_verifier(), request.get_data()
    header = request.headers["Webhook-Signature"]
    assert header.count("v1=") == 2
    assert verify(endpoint.secret, body, header)  # a receiver that switched already
    assert verify(old, body, header)  # one that has not yet
    assert not verify("whsec_other", body, header)

    # Once the overlap is over only the new secret signs.
    later = timezone.now() + timedelta(hours=25)
    assert endpoint.signing_secrets(later) == [endpoint.secret]
    header = delivery.signature(endpoint.signing_secrets(later), 1, body)
    assert header.count("v1=") == 1


def test_a_new_secret_without_overlap_drops_the_old_one_now(endpoint_at):
    endpoint = endpoint_at()
    old = endpoint.secret
    endpoint = services.rotate_secret(endpoint=endpoint, keep_previous_hours=0)
    assert endpoint.signing_secrets() == [endpoint.secret] and old not in endpoint.signing_secrets()
    assert endpoint.previous_secret == ""


@pytest.mark.parametrize("hours", [-1, 24 * 7 + 1, None])
def test_an_overlap_outside_the_limit_is_refused_and_the_secret_is_kept(endpoint_at, hours):
    endpoint = endpoint_at()
    with pytest.raises(InvalidOverlap):
        services.rotate_secret(endpoint=endpoint, keep_previous_hours=hours)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret


def test_an_admin_makes_a_new_secret_on_the_page_and_sees_it_once(admin_client, endpoint_at):
    endpoint = endpoint_at()
    old = endpoint.secret
    page = admin_client.get(f"/webhooks/{endpoint.code}/")
    assert f"/webhooks/{endpoint.code}/new-secret/" in page.content.decode()

    refused = admin_client.post(
        f"/webhooks/{endpoint.code}/new-secret/", {"keep_previous_hours": "9999"}
    )
    assert refused.status_code == 200
    assert "less than or equal to 168" in refused.content.decode()
    assert WebhookEndpoint.objects.get().secret == old

    shown = admin_client.post(
        f"/webhooks/{endpoint.code}/new-secret/", {"keep_previous_hours": "12"}
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    text = shown.content.decode()
    assert endpoint.secret in text and "still signs deliveries" in text
    assert shown["Cache-Control"] == "no-store"
    again = admin_client.get(f"/webhooks/{endpoint.code}/").content.decode()
    assert endpoint.secret not in again and old not in again
    assert "Old secret signs until" in again


def test_staff_cannot_make_a_new_secret(client, staff_user, endpoint_at):
    endpoint = endpoint_at()
    client.force_login(staff_user)
    response = client.post(f"/webhooks/{endpoint.code}/new-secret/", {"keep_previous_hours": "0"})
    assert response.status_code == 403
    assert WebhookEndpoint.objects.get().secret == endpoint.secret


def test_the_command_makes_a_new_secret_and_refuses_a_bad_overlap(endpoint_at, capsys):
    endpoint = endpoint_at()
    old = endpoint.secret
    call_command("webhook_endpoint", "rotate", endpoint.code, "--keep-old-hours", "2")
    endpoint.refresh_from_db()
    out = capsys.readouterr().out
    assert endpoint.secret in out and old not in out and "old secret signs too" in out
    with pytest.raises(CommandError, match="0 to 168 hours"):
        call_command("webhook_endpoint", "rotate", endpoint.code, "--keep-old-hours", "500")
    assert WebhookEndpoint.objects.get().secret == endpoint.secret


def test_admins_see_an_endpoint_disabled_after_failing_on_every_page_until_enabled(
    admin_client, client, staff_user, endpoint_at, httpserver
):
    endpoint = endpoint_at()
    publish_and_fan_out(endpoint)
    httpserver.expect_request("/hooks").respond_with_data("broken", status=503)
    start = timezone.now()
    delivery.deliver(now=start)
    delivery.deliver(now=start + timedelta(days=3, minutes=1))
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_by_failures

    for path in ("/", "/purchases/", "/buyers/"):
        page = admin_client.get(path).content.decode()
        assert 'data-testid="failing-webhooks"' in page and endpoint.url in page, path
    client.force_login(staff_user)  # staff cannot act on endpoints: not told
    assert 'data-testid="failing-webhooks"' not in client.get("/purchases/").content.decode()

    services.set_endpoint_enabled(endpoint=endpoint, enabled=True)
    assert 'data-testid="failing-webhooks"' not in admin_client.get("/").content.decode()


def test_an_endpoint_an_admin_disabled_is_no_warning(admin_client, endpoint_at):
    endpoint = endpoint_at()
    services.set_endpoint_enabled(endpoint=endpoint, enabled=False)
    assert 'data-testid="failing-webhooks"' not in admin_client.get("/").content.decode()


def test_settled_deliveries_and_attempts_are_forgotten_after_the_retention(
    endpoint_at, httpserver, settings
):
    settings.WEBHOOK_RETENTION_DAYS = 30
    endpoint = endpoint_at()
    httpserver.expect_request("/hooks").respond_with_data("ok")
    old = publish_and_fan_out(endpoint)
    delivery.deliver()
    long_ago = timezone.now() - timedelta(days=31)
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=long_ago)
    WebhookAttempt.objects.filter(delivery=old).update(attempted_at=long_ago)

    # Still waiting (its endpoint disabled): kept whatever its age.
    waiting_endpoint = endpoint_at(path="/other")
    waiting = WebhookDelivery.objects.create(
        event=Event.objects.get(), endpoint=waiting_endpoint, created_at=long_ago
    )
    recent = services.send_test_event(endpoint=endpoint)  # pending, made today
    events = Event.objects.count()

    assert services.purge_history() == {"attempts": 1, "deliveries": 1}
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk}
    assert Event.objects.count() == events  # the events themselves stay
    assert services.purge_history() == {"attempts": 0, "deliveries": 0}
