"""The transactional outbox: a buyer e-mail is a row written with the change, sent once after the
commit, kept when the broker is down and sent by the relay job when it is back, retried with
backoff when sending fails, dead (and shown to admins) after the last attempt."""

import threading
from datetime import timedelta
from smtplib import SMTPServerDisconnected
from unittest import mock

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from buyers import services as buyer_services
from buyers.models import SentEmail
from core import events, outbox, tasks
from core.models import OutboxMessage
from tests.buyers.factories import BuyerFactory
from tests.factories import UserFactory
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def broker_not_resting():
    outbox._broker_resting_until = 0.0
    yield
    outbox._broker_resting_until = 0.0


@pytest.fixture(autouse=True)
def only_emails_in_the_outbox(monkeypatch):
    """These tests count e-mails' messages: the services' events (core/events.py) are then only
    recorded, as when no app delivers them (tests/webhooks covers their messages)."""
    monkeypatch.delitem(outbox.HANDLERS, events.EVENTS_MESSAGE)


def broker_down():
    return mock.patch.object(
        tasks.deliver_outbox_messages, "apply_async", side_effect=BrokerDown("Connection refused")
    )


def grant(**fields):
    return buyer_services.grant_access(
        subscription=SubscriptionFactory(name="Jazz Nights"),
        buyer=BuyerFactory(),
        notify=True,
        **fields,
    )


def test_the_e_mail_is_a_row_written_with_the_grant_and_sent_once_after_commit(
    django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        access = grant()
    message = OutboxMessage.objects.get()
    # Written with the buyer's language, which the e-mail is rendered in (core/outbox.py).
    assert (message.kind, message.payload) == (
        "buyers.access_granted",
        {"access_id": access.pk, "language": "en"},
    )
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 1
    assert [m.to for m in mailoutbox] == [[access.buyer.email]]
    # Delivered again (a duplicated task, the relay job): nothing more is sent.
    assert outbox.deliver([message.pk]) == 0
    assert outbox.relay_due() == 0
    assert len(mailoutbox) == 1


def test_a_rolled_back_grant_leaves_no_message(django_capture_on_commit_callbacks, mailoutbox):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        grant()
        raise RuntimeError("the request failed after the grant")
    assert not OutboxMessage.objects.exists()
    assert mailoutbox == []


def test_with_the_broker_down_the_grant_is_answered_and_the_e_mail_waits_for_the_relay(
    client, django_capture_on_commit_callbacks, mailoutbox, staff_user, caplog
):
    buyer = BuyerFactory(email="new@example.com")
    subscription = SubscriptionFactory(name="Jazz Nights")
    client.force_login(staff_user)
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("buyers:grant_access", args=[buyer.code]),
            {"subscription": subscription.code, "access_expire": "2040-12-31", "notify": "on"},
        )
    assert response.status_code == 302, response.content[:500]
    assert mailoutbox == []
    assert "Broker unavailable" in caplog.text
    message = OutboxMessage.objects.get()
    assert message.status == OutboxMessage.Status.PENDING
    # The broker is back: the beat job sends it, once.
    assert tasks.relay_outbox.delay().get() == 1
    assert tasks.relay_outbox.delay().get() == 0
    assert [m.to for m in mailoutbox] == [["new@example.com"]]
    assert SentEmail.objects.count() == 1


def test_a_new_access_password_with_the_broker_down_is_answered_and_mailed_by_the_relay(
    client, django_capture_on_commit_callbacks, mailoutbox, staff_user
):
    access = grant()
    OutboxMessage.objects.all().delete()  # the grant's own e-mail is not this test's
    client.force_login(staff_user)
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accesses:password", args=[access.code]), {"notify": "on"})
    assert response.status_code == 302
    access.refresh_from_db()
    message = OutboxMessage.objects.get()
    assert (message.kind, message.status) == ("buyers.access_password", "pending")
    assert mailoutbox == []
    assert tasks.relay_outbox.delay().get() == 1
    assert tasks.relay_outbox.delay().get() == 0
    [email] = mailoutbox
    assert access.hash in email.body
    assert SentEmail.objects.get().kind == SentEmail.Kind.PASSWORD_RESET


def test_after_a_broker_failure_the_process_leaves_messages_to_the_relay_for_a_moment(
    django_capture_on_commit_callbacks,
):
    with broker_down() as publish, django_capture_on_commit_callbacks(execute=True):
        grant()
        grant()
    assert publish.call_count == 1
    assert OutboxMessage.objects.filter(status="pending").count() == 2


def test_a_failing_send_is_retried_with_backoff_and_dead_after_the_last_attempt(
    settings, mailoutbox
):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.OUTBOX_RETRY_SECONDS = 60
    grant()
    message = OutboxMessage.objects.get()
    failing = mock.patch(
        "django.core.mail.message.EmailMessage.send",
        side_effect=SMTPServerDisconnected("the SMTP server went away"),
    )
    with failing:
        assert outbox.relay_due() == 0
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.PENDING
    assert message.attempts == 1
    assert "SMTPServerDisconnected" in message.last_error
    assert timedelta(seconds=47) < message.available_at - timezone.now() < timedelta(seconds=73)
    assert outbox.relay_due() == 0  # not due yet
    assert not SentEmail.objects.exists()  # the failed send wrote no "sent" record
    delays = []
    with failing:
        for _ in range(2):
            OutboxMessage.objects.filter(pk=message.pk).update(available_at=timezone.now())
            before = timezone.now()
            outbox.relay_due()
            message.refresh_from_db()
            delays.append(message.available_at - before)
    assert delays[0] > timedelta(seconds=90)  # doubled: 120 s ± 20 %
    assert message.status == OutboxMessage.Status.DEAD
    assert message.attempts == 3
    assert outbox.outbox_state().dead == 1
    assert mailoutbox == []


def test_an_admin_sees_stuck_and_dead_messages_on_the_home_page_and_sends_them_again(
    client, settings, mailoutbox
):
    settings.OUTBOX_STUCK_MINUTES = 10
    grant()
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(minutes=30))
    dead = OutboxMessage.objects.create(
        kind="buyers.access_granted", payload={"access_id": 0}, status="dead", attempts=10
    )
    admin = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    home = client.get(reverse("home")).content.decode()
    assert "1 waiting for more than 10 minutes or being retried" in home
    assert "1 failed for good" in home
    listing = client.get(reverse("admin:site_outboxmessage_changelist") + "?status__exact=dead")
    assert listing.status_code == 200
    assert "buyers.access_granted" in listing.content.decode()
    response = client.post(
        reverse("admin:site_outboxmessage_changelist"),
        {"action": "send_selected_again", "_selected_action": [dead.pk]},
    )
    assert response.status_code == 302
    dead.refresh_from_db()
    assert dead.status == OutboxMessage.Status.PENDING


def test_staff_without_the_admin_role_see_no_outbox_notice(client, staff_user):
    client.force_login(staff_user)
    assert "outbox-notice" not in client.get(reverse("home")).content.decode()


def test_every_kind_has_its_handler_and_an_unknown_kind_is_refused():
    assert {
        "buyers.access_granted",
        "buyers.access_revoked",
        "buyers.access_expiring",
        "buyers.access_password",
        "purchases.receipt",
        "purchases.renewal_email",
    } <= set(outbox.HANDLERS)
    with pytest.raises(LookupError):
        outbox.enqueue("nobody.handles_this", {})
    with pytest.raises(ValueError):
        outbox.register("buyers.access_granted", lambda payload: None)


def test_an_event_written_twice_is_one_message():
    access = grant()
    from buyers.notifications import queue_access_granted_email

    queue_access_granted_email(access)
    assert OutboxMessage.objects.count() == 1


def test_sent_messages_are_forgotten_after_the_keep_days_not_waiting_or_dead_ones(settings):
    settings.OUTBOX_KEEP_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    OutboxMessage.objects.create(kind="k", status="sent", sent_at=old, key="a")
    OutboxMessage.objects.create(kind="k", status="dead", created_at=old, key="b")
    OutboxMessage.objects.create(kind="k", status="pending", created_at=old, key="c")
    assert tasks.purge_sent_outbox_messages.delay().get() == 1
    assert set(OutboxMessage.objects.values_list("key", flat=True)) == {"b", "c"}


def test_beat_schedule_runs_the_relay(settings):
    tasks_scheduled = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "core.tasks.relay_outbox" in tasks_scheduled


@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_send_each_message_once(mailoutbox):
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SKIP LOCKED) are tested on PostgreSQL: run `make test`")
    with broker_down():  # the rows wait for the relays
        for _ in range(30):
            grant()
    assert OutboxMessage.objects.filter(status="pending").count() == 30
    sent, errors = [], []
    barrier = threading.Barrier(3)

    def relay():
        try:
            barrier.wait()
            sent.append(outbox.relay_due())
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(sent) == 30
    assert len(mailoutbox) == 30
    assert len({m.to[0] for m in mailoutbox}) == 30


def test_staff_buying_for_a_buyer_while_the_broker_is_down_is_answered_and_the_receipt_waits(
    client, staff_user, django_capture_on_commit_callbacks, mailoutbox
):
    from purchases.models import Purchase
    from tests.purchases.factories import offer_for_sale, wallet_buyer

    subscription, pricing_model = offer_for_sale(price="4.00")
    buyer = wallet_buyer("10")
    client.force_login(staff_user)
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("purchases:create"),
            {
                "buyer": buyer.email,
                "subscription": subscription.code,
                "pricing_model": pricing_model.code,
                "payment_type": "wallet",
            },
        )
    purchase = Purchase.objects.get()
    assert response.status_code == 302
    assert purchase.status == Purchase.Status.COMPLETED
    assert mailoutbox == []
    message = OutboxMessage.objects.get()
    assert (message.kind, message.status) == ("purchases.receipt", "pending")
    assert outbox.relay_due() == 1
    assert [m.to for m in mailoutbox] == [[buyer.email]]
