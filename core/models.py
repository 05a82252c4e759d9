"""The site's own tables. The outbox: side effects (buyer e-mails, outbound events) written in the
transaction of the change that causes them and delivered after it commits (core/outbox.py)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """A side effect waiting to be delivered: `kind` names its handler (registered by the app
    that owns it), `payload` what it needs (ids, never objects). Pending until a worker delivers
    it once; after OUTBOX_MAX_ATTEMPTS failures it is dead and stays visible to staff."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        DEAD = "dead", _("Failed for good")

    kind = models.CharField(_("kind"), max_length=60)
    payload = models.JSONField(_("payload"), default=dict)
    # Names the event (the e-mail's key): writing the same event twice writes one row.
    key = models.CharField(_("event"), max_length=150, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When a worker may (next) try it: its creation, then each retry's backoff.
    available_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("written"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
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


class Event(models.Model):
    """Something that happened to an object a shop's other systems care about (a purchase
    completed, an access revoked), written by the service that made the change in its own
    transaction (core/events.py). `data` is the object as the JSON API showed it then; the row
    never changes. Outbound webhooks deliver it to the endpoints that want its type."""

    uid = models.UUIDField(_("event id"), unique=True, default=uuid.uuid4, editable=False)
    type = models.CharField(_("type"), max_length=60)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    api_version = models.CharField(_("API version"), max_length=20)
    # The object's public code, so staff can find the events of one purchase or buyer.
    object_code = models.CharField(_("object"), max_length=40, blank=True)
    data = models.JSONField(_("object as the API shows it"), default=dict)
    # Names a one-off event ("access.expiring" once per access): writing it twice writes one row.
    key = models.CharField(_("event key"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("event")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=~Q(key=""), name="event_key_once"),
        ]
        indexes = [
            models.Index(fields=["created_at", "id"], name="event_created_idx"),
            models.Index(fields=["object_code", "-created_at"], name="event_object_idx"),
        ]

    def __str__(self):
        return f"{self.type} {self.uid}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.uid.hex}"

    def as_payload(self) -> dict:
        """The body every receiver gets: id, type, time, API version and the object."""
        return {
            "id": self.public_id,
            "type": self.type,
            "created": self.created_at.isoformat(timespec="microseconds"),
            "api_version": self.api_version,
            "data": {"object": self.data},
        }


class AuditEntryQuerySet(models.QuerySet):
    """Entries are only ever added: a bulk update or delete is refused before it reaches SQL."""

    def update(self, **kwargs):
        raise AuditTrailIsAppendOnly()

    def delete(self):
        raise AuditTrailIsAppendOnly()

    def _raw_delete(self, using):
        raise AuditTrailIsAppendOnly()


class AuditEntry(models.Model):
    """One write through the services (core/audit.py): who made it (a staff user, an API key, a
    buyer through self-service, a job), when, to which object, what changed (before → after),
    from which address and why. Append-only: never updated or deleted (on PostgreSQL a trigger
    refuses it too)."""

    class ActorKind(models.TextChoices):
        STAFF = "staff", _("Staff user")
        API_KEY = "api_key", _("API key")
        BUYER = "buyer", _("Buyer")
        JOB = "job", _("Job")
        SYSTEM = "system", _("System")

    created_at = models.DateTimeField(_("when"), default=timezone.now)
    actor_kind = models.CharField(_("actor kind"), max_length=10, choices=ActorKind.choices)
    # The actor's own id as text (a user's pk, an API key's prefix, a buyer's code, a task name).
    actor_id = models.CharField(_("actor id"), max_length=150, blank=True)
    actor_label = models.CharField(_("actor"), max_length=200, blank=True)
    object_kind = models.CharField(_("object kind"), max_length=40)
    # The object's public code (its pk for rows without one: users, groups).
    object_code = models.CharField(_("object"), max_length=40)
    object_label = models.CharField(_("object name"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=40)
    # {"field label": [before, after]}, values as staff read them ("19.50 EUR").
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    # The bulk action that wrote this entry, so it can be undone as a whole.
    batch = models.UUIDField(_("batch"), null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(actor_kind__in=["staff", "api_key", "buyer", "job", "system"]),
                name="audit_entry_actor_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="audit_entry_created_idx"),
            models.Index(
                fields=["object_kind", "object_code", "-created_at", "-id"],
                name="audit_entry_object_idx",
            ),
            models.Index(
                fields=["actor_label", "-created_at", "-id"],
                name="audit_entry_actor_idx",
            ),
            models.Index(
                fields=["batch"], condition=Q(batch__isnull=False), name="audit_batch_idx"
            ),
        ]

    def __str__(self):
        who = self.actor_label or self.actor_kind
        return f"{who} {self.action} {self.object_kind} {self.object_code}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AuditTrailIsAppendOnly()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditTrailIsAppendOnly()


class AuditTrailIsAppendOnly(Exception):
    def __init__(self):
        super().__init__(_("The audit trail is append-only: its entries are never changed."))


class UserPreference(models.Model):
    """A staff user's own settings: the language their pages are shown in. Kept per user so the
    choice follows them to every browser and sign-in (core/languages.py)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="preference",
        verbose_name=_("user"),
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("user preference")

    def __str__(self):
        return f"{self.user} ({self.language})"
