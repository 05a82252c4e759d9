"""Purchase jobs run by Celery workers. Thin: each calls a service."""

from smtplib import SMTPException

from celery import shared_task
from django.db import transaction

from . import notifications, renewals
from .services import checkout, pauses

EMAIL_RETRY = {
    "autoretry_for": (SMTPException, ConnectionError, TimeoutError),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
}


# The two e-mail tasks remain for messages queued before the outbox delivered them.
@shared_task(**EMAIL_RETRY)
def send_purchase_receipt(purchase_id: int) -> bool:
    """E-mail the receipt of a completed purchase (once per purchase)."""
    return notifications.send_purchase_receipt(purchase_id)


@shared_task
def expire_pending_purchases() -> int:
    """Fail purchases whose redirect payment the buyer never completed."""
    return checkout.expire_pending_purchases()


@shared_task
def resolve_pending_purchases() -> int:
    """Settle purchases left pending by a request that died or lost the gateway's answer."""
    return checkout.resolve_pending_purchases()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def renew_due_contracts(batch_size: int = 500) -> dict:
    """Charge every due contract once (the beat job). Safe to run on several workers at once and
    to run again after a worker died: claims and idempotency keys keep each period paid once."""
    run = renewals.renew_due_contracts(batch_size=batch_size)
    return {
        "claimed": run.claimed,
        "renewed": run.renewed,
        "declined": run.declined,
        "expired": run.expired,
        "unresolved": run.unresolved,
    }


@shared_task(acks_late=True)
def resume_due_contracts() -> int:
    """Resume paused contracts whose pause has ended (the beat job), each once, also with
    several workers; answers how many were resumed."""
    return pauses.resume_due_contracts()


@shared_task(**EMAIL_RETRY)
def send_renewal_emails(events: list) -> int:
    """Send a renewal batch's e-mails (each once, by its event key); answers how many went."""
    return sum(
        notifications.send_renewal_email(kind, contract_id, key)
        for kind, contract_id, key in events
    )


@shared_task
def queue_renewal_reminders() -> int:
    """Remind buyers of a charge RENEWAL_REMINDER_DAYS ahead (once per bill): answers how many
    reminders were written to the outbox now."""
    events = [
        (notifications.RENEWAL_REMINDER, contract.pk, notifications.reminder_key(contract))
        for contract in notifications.contracts_to_remind().only("pk", "code", "periods_paid")
    ]
    written = 0
    for start in range(0, len(events), 500):
        with transaction.atomic():
            written += notifications.queue_renewal_emails(events[start : start + 500])
    return written
