"""Purchase jobs run by Celery workers. Thin: each calls a service."""

from smtplib import SMTPException

from celery import shared_task

from . import notifications, services


@shared_task(
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
    acks_late=True,
)
def send_purchase_receipt(purchase_id: int) -> bool:
    """E-mail the receipt of a completed purchase (once per purchase)."""
    return notifications.send_purchase_receipt(purchase_id)


@shared_task
def expire_pending_purchases() -> int:
    """Fail purchases whose redirect payment the buyer never completed."""
    return services.expire_pending_purchases()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def renew_due_contracts(batch_size: int = 500) -> dict:
    """Charge every due contract once (the beat job). Safe to run on several workers at once and
    to run again after a worker died: claims and idempotency keys keep each period paid once."""
    from .renewals import renew_due_contracts as renew

    run = renew(batch_size=batch_size)
    return {
        "claimed": run.claimed,
        "renewed": run.renewed,
        "declined": run.declined,
        "expired": run.expired,
        "unresolved": run.unresolved,
    }
