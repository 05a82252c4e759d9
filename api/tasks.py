"""The site's periodic chores, run by Celery beat. Thin: each calls a service."""

from celery import shared_task

from .idempotency import purge_idempotent_requests


@shared_task
def purge_old_idempotency_keys() -> int:
    """Forget API answers kept for Idempotency-Key replays once they are old enough."""
    return purge_idempotent_requests()
