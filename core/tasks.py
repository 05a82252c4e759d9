"""The outbox's jobs (core/outbox.py). Thin: each calls the outbox."""

from celery import shared_task

from . import outbox


@shared_task
def deliver_outbox_messages(ids: list[int]) -> int:
    """Deliver these outbox messages now (handed over at commit); each is delivered once."""
    return outbox.deliver(ids)


@shared_task
def relay_outbox() -> int:
    """The beat job: deliver every outbox message that is due (waiting for a broker that was
    down, or for its retry). Safe on several workers at once: rows are claimed SKIP LOCKED."""
    return outbox.relay_due()


@shared_task
def purge_sent_outbox_messages() -> int:
    """Forget outbox messages sent more than OUTBOX_KEEP_DAYS ago."""
    return outbox.purge_sent()
