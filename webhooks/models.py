"""Outbound webhooks: the endpoints a shop's other systems listen on, one delivery per event and
endpoint, and every attempt to deliver it (the delivery log). Events themselves are the site's
(core.models.Event); this app only carries them (webhooks/delivery.py)."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.codes import PublicCodeModel
from core.models import Event

ALL_EVENTS = "*"


def new_signing_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(PublicCodeModel):
    """A URL that receives the events it asked for, signed with its own secret. The secret is
    kept as it is (signing needs it; it is shown to the admin once, when created). An endpoint
    failing for WEBHOOK_RETRY_DAYS is disabled and the admins are told."""

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Event types it wants; ["*"] for all.
    event_types = models.JSONField(_("events"), default=list)
    secret = models.CharField(_("signing secret"), max_length=100, default=new_signing_secret)
    # After a rotation the old secret still signs (a second v1) until this time, so receivers
    # can switch to the new one without refusing a delivery.
    previous_secret = models.CharField(_("previous signing secret"), max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(
        _("previous secret signs until"), null=True, blank=True
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=200, blank=True)
    # Disabled by the delivery loop after failing for the whole retry window (not by an admin):
    # the site tells admins on every page until it is enabled again.
    disabled_by_failures = models.BooleanField(_("disabled after failing"), default=False)
    # The first failed attempt since the last success; cleared by a success.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("webhook endpoint")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.url

    def wants(self, event_type: str) -> bool:
        return ALL_EVENTS in self.event_types or event_type in self.event_types

    def signing_secrets(self, now=None) -> list[str]:
        """The secrets a delivery is signed with now: the current one, then the previous one
        while its overlap after a rotation lasts."""
        now = now or timezone.now()
        secrets_now = [self.secret]
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            secrets_now.append(self.previous_secret)
        return secrets_now


class WebhookDelivery(models.Model):
    """One event to one endpoint: pending until an attempt answers 2xx (delivered), or until
    WEBHOOK_RETRY_DAYS have passed since it was written (failed). A resend makes it pending
    again. `next_attempt_at` is also the lease of the worker sending it: a worker that dies
    mid-attempt leaves it due again once the lease passes (at-least-once)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="+")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Retries go on until WEBHOOK_RETRY_DAYS after this: its creation, or the last resend.
    retry_from = models.DateTimeField(_("retried since"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivered", "failed"]),
                name="webhook_delivery_status",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.event_id} to {self.endpoint_id} ({self.get_status_display()})"


class WebhookAttempt(models.Model):
    """One POST of a delivery: what the endpoint answered (status, first bytes) and how long it
    took, or why no answer came (`error`). Kept as the endpoint's delivery log."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="log")
    attempted_at = models.DateTimeField(_("attempted"), default=timezone.now)
    succeeded = models.BooleanField(_("succeeded"), default=False)
    status_code = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    response_excerpt = models.TextField(_("response (first bytes)"), blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        ordering = ["-attempted_at", "-pk"]
        indexes = [
            models.Index(
                fields=["endpoint", "-attempted_at", "-id"], name="webhook_attempt_log_idx"
            )
        ]

    def __str__(self):
        return f"{self.status_code or self.error} at {self.attempted_at:%Y-%m-%d %H:%M:%S}"
