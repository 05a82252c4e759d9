"""The site's own data: the API keys storefronts and players use to call the HTTP API.

An API key is shown once, when an admin creates it; only its SHA-256 digest is stored. The key is
48 random characters (about 285 bits) from `secrets`, so a slow password hasher would add nothing
against guessing, and it would cost every API request ~100 ms that players' access checks cannot
spare. The first characters (`prefix`) are stored in clear so staff can tell keys apart.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.codes import CODE_ALPHABET

KEY_PREFIX_LENGTH = 8
KEY_SECRET_LENGTH = 40


def default_rate_limit() -> int:
    """A new key's requests a minute: API_RATE_LIMIT_PER_MINUTE."""
    return settings.API_RATE_LIMIT_PER_MINUTE


def digest_of(key: str) -> str:
    """The stored form of an API key: its SHA-256 digest, in hex."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(models.Model):
    """A key a storefront or player sends (`apikey=` or `Authorization: Bearer`), with scopes."""

    class Scope(models.TextChoices):
        CATALOG = "catalog", _("Catalog (subscriptions, media, contacts)")
        BUYERS = "buyers", _("Buyers and their accesses")
        PURCHASES = "purchases", _("Purchases and cancellations")
        ACCESS_CHECK = "access_check", _("Access check for players")
        SUPPORT = "support", _("Support tools (why a buyer cannot buy or watch)")

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("key starts with"), max_length=KEY_PREFIX_LENGTH, unique=True)
    secret_hash = models.CharField(
        _("SHA-256 of the key"), max_length=64, unique=True, editable=False
    )
    scopes = models.JSONField(_("scopes"), default=list)
    rate_limit_per_minute = models.PositiveIntegerField(
        _("requests a minute"),
        default=default_rate_limit,
        help_text=_(
            "How many requests this key may make a minute, counted across all web "
            "processes; 0: no limit. A player's key asks once per viewer per play."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )

    class Meta:
        db_table = "site_apikey"  # the table it had in the `site` app: no data moved
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="api_key_name_not_empty"),
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    def get_scopes_display(self) -> str:
        labels = dict(self.Scope.choices)
        return ", ".join(str(labels.get(scope, scope)) for scope in self.scopes or []) or "—"

    @staticmethod
    def new_key() -> str:
        """A fresh key: the prefix, a dot, the secret (letters and digits only: URL-safe)."""
        prefix = "".join(secrets.choice(CODE_ALPHABET) for _ in range(KEY_PREFIX_LENGTH))
        secret = "".join(secrets.choice(CODE_ALPHABET) for _ in range(KEY_SECRET_LENGTH))
        return f"{prefix}.{secret}"


class IdempotentRequest(models.Model):
    """The first answer to a request sent with an `Idempotency-Key` header: a retry with the same
    key (from the same API key) gets this answer again instead of buying or cancelling twice."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("Idempotency-Key"), max_length=255)
    # SHA-256 of the method, path and parameters: the same key with another request is refused.
    request_digest = models.CharField(_("request digest"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("answer status"), null=True, blank=True)
    body = models.TextField(_("answer body"), blank=True)
    # The PPV API answers XML unless asked for JSON: a replay keeps the first answer's type.
    content_type = models.CharField(
        _("answer content type"), max_length=100, blank=True, db_default="application/json"
    )
    created_at = models.DateTimeField(_("first seen"), default=timezone.now)
    # While unanswered, the attempt holding the key holds it until then (a lease): a retry after
    # that takes it over, so a crashed attempt blocks its key for seconds, not for a day.
    locked_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=1)

    class Meta:
        db_table = "site_idempotentrequest"
        verbose_name = _("idempotent request")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_once_per_key"),
        ]

    def __str__(self):
        return self.key
