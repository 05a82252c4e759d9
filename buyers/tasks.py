"""Buyer e-mails. They are outbox messages (core/outbox.py) now, delivered and retried by the
outbox's tasks; the four send tasks remain for messages queued before the outbox, and are safe
to run twice (the notification service records each sent event).
"""

from smtplib import SMTPException

from celery import shared_task

from . import bulk, notifications

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
    """The beat job: write a reminder to the outbox for each access expiring within the notice
    period (each once)."""
    return notifications.queue_access_expiring_emails(list(notifications.accesses_expiring_soon()))


@shared_task(acks_late=True)
def run_bulk_operation(operation_id: int) -> None:
    """Run a bulk operation (buyers/bulk.py) to its end, a chunk per transaction; safe to run
    twice or after a killed worker (it resumes after the last committed chunk)."""
    bulk.run_operation(operation_id)


@shared_task
def resume_stalled_bulk_operations() -> int:
    """The beat job: hand each stalled bulk operation to a worker again (it resumes after its
    last committed chunk). Answers how many were handed over."""
    stalled = bulk.stalled_operations()
    for operation_id in stalled:
        run_bulk_operation.delay(operation_id)
    return len(stalled)
