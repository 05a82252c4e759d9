"""Webhook jobs (webhooks/delivery.py). Thin: each calls the delivery module."""

from celery import shared_task

from . import delivery, services


@shared_task
def deliver_webhooks(ids: list[int]) -> int:
    """Send these deliveries now if they are due (handed over after the commit that wrote them)."""
    return delivery.deliver(ids=ids)


@shared_task
def deliver_due_webhooks() -> int:
    """The beat job: send every delivery that is due (retries, a broker that was down, leases of
    a worker that died). Safe on several workers at once: rows are claimed SKIP LOCKED."""
    return delivery.deliver_due()


@shared_task
def purge_webhook_history() -> dict:
    """The daily beat job: forget settled deliveries and attempts past WEBHOOK_RETENTION_DAYS."""
    return services.purge_history()
