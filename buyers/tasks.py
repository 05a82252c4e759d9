"""Buyer e-mails, sent by Celery workers. Thin: each task calls a notification service.

SMTP failures (and network errors reaching the server) are retried with exponential backoff;
the notification service records each sent event, so a retry never mails it twice.
"""

from smtplib import SMTPException

from celery import shared_task

from . import notifications

RETRY = {
    "autoretry_for": (SMTPException, ConnectionError, TimeoutError),
    "retry_backoff": 30,
    "retry_backoff_max": 60 * 60,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
}


@shared_task(**RETRY)
def send_access_granted_email(access_id: int) -> bool:
    """E-mail the access password and link to the buyer (once per access)."""
    return notifications.send_access_granted_email(access_id)


@shared_task(**RETRY)
def send_access_revoked_email(access_id: int) -> bool:
    """Tell the buyer their access was revoked (once per access)."""
    return notifications.send_access_revoked_email(access_id)


@shared_task(**RETRY)
def send_access_password_email(access_id: int, event: str) -> bool:
    """E-mail the buyer their access's new password (once per password)."""
    return notifications.send_access_password_email(access_id, event)


@shared_task(**RETRY)
def send_access_expiring_email(access_id: int) -> bool:
    """Remind the buyer their access expires soon (once per access)."""
    return notifications.send_access_expiring_email(access_id)


@shared_task
def queue_access_expiring_emails() -> int:
    """The beat job: queue a reminder for each access expiring within the notice period."""
    ids = list(notifications.accesses_expiring_soon())
    for access_id in ids:
        send_access_expiring_email.delay(access_id)
    return len(ids)
