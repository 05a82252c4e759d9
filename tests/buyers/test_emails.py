"""Buyer e-mails: queued after commit, the link-priority rule, the shop's contacts, sent once."""

from datetime import date, timedelta
from smtplib import SMTPServerDisconnected
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from buyers import notifications, services, tasks
from buyers.models import SentEmail
from subscriptions.models import ShopContacts

from .factories import AccessFactory, BuyerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts():
    return ShopContacts.objects.create(
        name="Cinema Club", phone="+1 555 0199", email="hello@cinema.example"
    )


def grant(django_capture_on_commit_callbacks, **fields):
    fields.setdefault("subscription", SubscriptionFactory(name="Jazz Nights"))
    fields.setdefault("email", "ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        return services.grant_access(notify=True, **fields)


def test_access_granted_email_has_password_link_and_shop_contacts(
    django_capture_on_commit_callbacks, mailoutbox, contacts
):
    access = grant(django_capture_on_commit_callbacks, custom_url="https://watch.example/jazz")
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["ann@example.com"]
    assert message.subject == "Your access to Jazz Nights"
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert access.hash in body
        assert "https://watch.example/jazz" in body
        assert "Cinema Club" in body and "+1 555 0199" in body and "hello@cinema.example" in body
    assert message.reply_to == ["hello@cinema.example"]
    assert SentEmail.objects.get().key == f"access_granted:{access.pk}"


@pytest.mark.parametrize(
    ("access_url", "use_subscription_url", "expected"),
    [
        ("https://own.example/a", True, "https://own.example/a"),  # the access's own link wins
        ("https://own.example/a", False, "https://own.example/a"),
        ("", True, "https://shop.example/sub"),  # else the subscription's, when asked for
        ("", False, None),  # else no link
    ],
)
def test_link_priority_access_url_then_subscription_url(
    django_capture_on_commit_callbacks, mailoutbox, access_url, use_subscription_url, expected
):
    subscription = SubscriptionFactory(custom_url="https://shop.example/sub")
    grant(
        django_capture_on_commit_callbacks,
        subscription=subscription,
        custom_url=access_url,
        use_subscription_custom_url=use_subscription_url,
    )
    body = mailoutbox[0].body
    if expected:
        assert expected in body
    else:
        assert "http" not in body.split("--")[0]
    if expected != "https://shop.example/sub":
        assert "https://shop.example/sub" not in body


def test_email_is_queued_only_after_commit(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.grant_access(
            subscription=SubscriptionFactory(), email="ann@example.com", notify=True
        )
    assert mailoutbox == []
    for callback in callbacks:  # the e-mail's hand-over, and the events' (buyer, access)
        callback()
    assert len(mailoutbox) == 1


def test_a_refused_grant_sends_nothing(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception):  # noqa: B017
        services.grant_access(
            subscription=SubscriptionFactory(archived_at=timezone.now()),
            email="ann@example.com",
            notify=True,
        )
    assert mailoutbox == []


def test_without_notify_no_email_is_sent(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_access(subscription=SubscriptionFactory(), email="ann@example.com")
    assert mailoutbox == []


def test_the_same_event_is_never_sent_twice(django_capture_on_commit_callbacks, mailoutbox):
    access = grant(django_capture_on_commit_callbacks)
    assert tasks.send_access_granted_email.delay(access.pk).get() is False
    assert len(mailoutbox) == 1
    assert SentEmail.objects.count() == 1


def test_smtp_failure_schedules_a_retry_with_backoff_and_the_retry_sends_once(mailoutbox):
    access = AccessFactory(buyer=BuyerFactory(email="ann@example.com"))
    task = tasks.send_access_granted_email
    with (
        mock.patch.object(
            notifications.EmailMultiAlternatives,
            "send",
            side_effect=SMTPServerDisconnected("connection dropped"),
        ),
        pytest.raises(Retry),
    ):
        task.delay(access.pk)
    assert not SentEmail.objects.exists()
    assert task.retry_backoff and task.max_retries >= 5 and task.acks_late

    task.delay(access.pk)  # the retry, once the server answers again
    task.delay(access.pk)  # a duplicate delivery of the same task
    assert len(mailoutbox) == 1
    assert SentEmail.objects.count() == 1


def test_a_failed_send_records_nothing(mailoutbox):
    access = AccessFactory(buyer=BuyerFactory(email="ann@example.com"))
    with (
        mock.patch.object(
            notifications.EmailMultiAlternatives, "send", side_effect=SMTPServerDisconnected()
        ),
        pytest.raises(SMTPServerDisconnected),
    ):
        notifications.send_access_granted_email(access.pk)
    assert not SentEmail.objects.exists()


def test_revoke_with_notify_sends_the_revoked_email(
    django_capture_on_commit_callbacks, mailoutbox, staff_user
):
    access = AccessFactory(subscription=SubscriptionFactory(name="Jazz Nights"))
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_access(access=access, revoked_by=staff_user, notify=True)
    assert [m.subject for m in mailoutbox] == ["Your access to Jazz Nights has ended"]
    assert "Jazz Nights" in mailoutbox[0].alternatives[0][0]


def test_expiring_reminder_is_sent_once_per_access(
    mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.ACCESS_EXPIRING_NOTICE_DAYS = 3
    now = timezone.now()
    soon = AccessFactory(access_expire=now + timedelta(days=2))
    AccessFactory(access_expire=now + timedelta(days=10))  # not yet
    AccessFactory(access_expire=now - timedelta(days=1))  # already expired
    AccessFactory(access_expire=now + timedelta(days=1), revoked_at=now)  # revoked
    AccessFactory(
        access_expire=now + timedelta(days=1), buyer=BuyerFactory(email="", phone="+15550100")
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.queue_access_expiring_emails.delay().get() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.queue_access_expiring_emails.delay().get() == 0
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [soon.buyer.email]
    assert "expires on" in mailoutbox[0].body


def test_beat_schedule_runs_the_expiring_reminders(settings):
    tasks_scheduled = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "buyers.tasks.queue_access_expiring_emails" in tasks_scheduled


def test_a_change_with_notify_mails_the_access_as_it_now_is_once(
    django_capture_on_commit_callbacks, mailoutbox
):
    access = AccessFactory(subscription=SubscriptionFactory(name="Jazz Nights"))
    with django_capture_on_commit_callbacks(execute=True):
        services.update_access(
            access=access, access_expire=date(2041, 1, 31), activation_limit=3, notify=True
        )
    assert [m.subject for m in mailoutbox] == ["Your access to Jazz Nights has changed"]
    body = mailoutbox[0].body
    assert "Ends: 2041-01-31 23:59" in body and "Devices: up to 3" in body
    # Saving the same access again is not a second change; another change is.
    with django_capture_on_commit_callbacks(execute=True):
        services.update_access(access=access, access_expire=date(2041, 1, 31), notify=True)
    assert len(mailoutbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.update_access(access=access, activation_limit=None, notify=True)
    assert len(mailoutbox) == 2 and "Devices: no limit" in mailoutbox[1].body


def test_a_change_without_notify_mails_nothing(django_capture_on_commit_callbacks, mailoutbox):
    access = AccessFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.update_access(access=access, activation_limit=4)
    assert mailoutbox == []


def test_notify_on_a_change_for_a_buyer_without_e_mail_is_refused_and_changes_nothing(
    django_capture_on_commit_callbacks, mailoutbox
):
    from buyers import errors

    access = AccessFactory(buyer=BuyerFactory(email="", phone="+15550177"), activation_limit=2)
    with pytest.raises(errors.NotifyNeedsEmail):
        services.update_access(access=access, activation_limit=7, notify=True)
    access.refresh_from_db()
    assert access.activation_limit == 2 and mailoutbox == []
