"""The site's own tables. The outbox: side effects (buyer e-mails, outbound events) written in the
transaction of the change that causes them and delivered after it commits (core/outbox.py)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    """A side effect waiting to be delivered: `kind` names its handler (registered by the app
    that owns it), `payload` what it needs (ids, never objects). Pending until a worker delivers
    it once; after OUTBOX_MAX_ATTEMPTS failures it is dead and stays visible to staff."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENT = "sent", "Sent"
        DEAD = "dead", "Failed for good"

    kind = models.CharField("kind", max_length=60)
    payload = models.JSONField("payload", default=dict)
    # Names the event (the e-mail's key): writing the same event twice writes one row.
    key = models.CharField("event", max_length=150, blank=True)
    status = models.CharField(
        "status", max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField("attempts", default=0)
    # When a worker may (next) try it: its creation, then each retry's backoff.
    available_at = models.DateTimeField("next attempt", default=timezone.now)
    last_error = models.TextField("last error", blank=True)
    created_at = models.DateTimeField("written", default=timezone.now)
    sent_at = models.DateTimeField("sent", null=True, blank=True)

    class Meta:
        verbose_name = "outbox message"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=~Q(key=""), name="outbox_message_event_once"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sent", "dead"]), name="outbox_message_status"
            ),
        ]
        indexes = [
            # The relay's and the health check's question: the pending rows due first.
            models.Index(
                fields=["available_at", "id"],
                condition=Q(status="pending"),
                name="outbox_message_due_idx",
            ),
            models.Index(fields=["status", "-created_at"], name="outbox_message_status_idx"),
        ]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.get_status_display()})"
