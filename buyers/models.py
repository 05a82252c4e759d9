"""Buyers, their access to subscriptions, the e-wallet ledger and buyer e-mails.

- Buyer: a person who buys (e-mail and/or phone), with a hashed purchase PIN.
- Access: a buyer's grant to a subscription (reference 004 `addbuyer`): the access password
  (`hash`), activation limit and count, access window, who or what granted it, revocation.
- AccessActivation: a device that used an access; an activation is counted once per device.
- WalletEntry: the append-only e-wallet ledger; WalletBalance: its running total per currency,
  kept in the same transaction, which the database keeps from going negative.
- SentEmail: what was e-mailed to buyers, one row per event, so no event is mailed twice; its
  kinds are buyers' own and those other apps register (`register_email_kinds`).

Rules that span rows or need a clear message live in `services.py`.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Lower, Replace
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.codes import PublicCodeModel
from core.money import STORED_DECIMAL_PLACES, currency_choices, quantize
from subscriptions.models import MONEY_DIGITS, Subscription

# The access password (`hash`): 12 characters drawn by `secrets` from 32 unambiguous lower-case
# letters and digits (no 0/o, 1/l): 2**60 values, so it cannot be guessed, and it reads out
# clearly on the phone (and goes into a URL unencoded). An API client may choose its own instead
# (reference 004 clients build `<site host:port>|<user id>|<media code>`): up to
# ACCESS_HASH_MAX_LENGTH printable characters, unique within its subscription.
ACCESS_HASH_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz"
ACCESS_HASH_LENGTH = 12
ACCESS_HASH_MAX_LENGTH = 255


def new_access_password() -> str:
    return "".join(secrets.choice(ACCESS_HASH_ALPHABET) for _ in range(ACCESS_HASH_LENGTH))


def phone_key(expression="phone"):
    """A phone as the database compares it: without the separators a phone may be typed with
    (spaces, brackets, dots, slashes, dashes), so "+33 1 23" and "+33-1-23" are one number.
    Nested REPLACEs, the same on PostgreSQL and SQLite, so a unique index can use it."""
    key = F(expression) if isinstance(expression, str) else expression
    for separator in (" ", "(", ")", ".", "/", "-"):
        key = Replace(key, Value(separator), Value(""))
    return key


def phone_key_of(phone: str) -> str:
    """`phone_key` computed in Python, for a value not yet stored."""
    for separator in (" ", "(", ")", ".", "/", "-"):
        phone = phone.replace(separator, "")
    return phone


def default_buyer_language() -> str:
    """A new buyer's language when none is given: the shop's own."""
    return settings.LANGUAGE_CODE


class Buyer(PublicCodeModel):
    """A person who buys: reached by e-mail and/or phone (one is required)."""

    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # The language of the buyer's e-mails (settings.LANGUAGES), fixed when each e-mail is written.
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default=default_buyer_language
    )
    # The purchase PIN, hashed with Django's password hashers; empty until staff set one.
    pin_hash = models.CharField(
        _("purchase PIN (hashed)"), max_length=128, blank=True, editable=False
    )
    pin_failed_attempts = models.PositiveSmallIntegerField(_("wrong PINs in a row"), default=0)
    pin_locked_at = models.DateTimeField(_("PIN locked"), null=True, blank=True)
    # Buyers who shared a phone before phones were unique (migration 0007) point to the oldest
    # one; they keep their accesses and ledgers, and new purchases find the oldest buyer.
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("same phone as"),
    )

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("set_pin", "Can set or reset a buyer's purchase PIN"),
            ("import_buyers", "Can import buyers from a CSV file"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(email="") | ~Q(phone=""), name="buyer_email_or_phone"
            ),
            models.UniqueConstraint(
                Lower("email"), condition=~Q(email=""), name="buyer_email_unique_any_case"
            ),
            models.UniqueConstraint(
                phone_key(),
                condition=~Q(phone="") & Q(duplicate_of__isnull=True),
                name="buyer_phone_unique",
            ),
        ]
        # One index per sortable column of the buyers list, ending with the pk tiebreak the list
        # appends, so every sort reads its first page from an index (tests/bench: 200k buyers).
        indexes = [
            models.Index(fields=["phone", "id"], name="buyer_phone_idx"),
            models.Index(fields=["email", "id"], name="buyer_email_sort_idx"),
            models.Index(fields=["name", "id"], name="buyer_name_sort_idx"),
            models.Index(fields=["created_at", "id"], name="buyer_created_sort_idx"),
            # The search box's trigram indexes (email, name, phone) are created on PostgreSQL
            # by migration 0006 (config/search_indexes.py).
        ]

    def __str__(self):
        return self.name or self.email or self.phone or self.code

    @property
    def contact(self) -> str:
        return self.email or self.phone

    @property
    def has_pin(self) -> bool:
        return bool(self.pin_hash)

    @property
    def pin_is_locked(self) -> bool:
        return self.pin_locked_at is not None


class Access(PublicCodeModel):
    """A buyer's grant to a subscription (reference 004 `addbuyer`); revoked rows are kept."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="accesses")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="accesses"
    )
    hash = models.CharField(
        _("access password"),
        max_length=ACCESS_HASH_MAX_LENGTH,
        editable=False,
        default=new_access_password,
    )
    activation_limit = models.PositiveIntegerField(
        _("activation limit"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    activations_used = models.PositiveIntegerField(_("activations used"), default=0)
    access_start = models.DateTimeField(_("access start"), null=True, blank=True)
    access_expire = models.DateTimeField(_("access expires"), null=True, blank=True)
    purchased_at = models.DateTimeField(_("purchase date"), default=timezone.now)
    # The purchases app adds the purchase that created an access; until then staff grant them.
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("granted by"),
    )
    custom_url = models.URLField(_("link for e-mails"), max_length=500, blank=True)
    use_subscription_custom_url = models.BooleanField(
        _("use the subscription's link"), default=False
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("access")
        verbose_name_plural = _("accesses")
        ordering = ["-purchased_at"]
        permissions = [("revoke_access", "Can revoke a buyer's access")]
        constraints = [
            models.CheckConstraint(
                condition=Q(activation_limit__isnull=True)
                | Q(activations_used__lte=F("activation_limit")),
                name="access_activations_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(access_start__isnull=True)
                | Q(access_expire__isnull=True)
                | Q(access_start__lt=F("access_expire")),
                name="access_start_before_expire",
            ),
            # A password opens one access of a subscription; another subscription may reuse it
            # (a client sends the same `<host>|<user>|<media>` to each subscription it sells).
            # The access check and the PPV API look accesses up by this index.
            models.UniqueConstraint(
                fields=["subscription", "hash"], name="access_hash_once_per_subscription"
            ),
        ]
        indexes = [
            # The admin's and the list's search by access password, across subscriptions.
            models.Index(fields=["hash"], name="access_hash_idx"),
            models.Index(fields=["subscription", "-purchased_at"], name="access_subscription_idx"),
            # Expiry checks, and the list sorted by expiry (with the pk tiebreak).
            models.Index(fields=["access_expire", "id"], name="access_expire_idx"),
            # The accesses list's default order (newest first, then the pk tiebreak).
            models.Index(fields=["-purchased_at", "-id"], name="access_recent_idx"),
        ]

    def __str__(self):
        return f"{self.subscription.name} for {self.buyer}"

    def status_at(self, when) -> str:
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.access_expire is not None and when >= self.access_expire:
            return self.Status.EXPIRED
        return self.Status.ACTIVE

    @property
    def status(self) -> str:
        return self.status_at(timezone.now())

    def get_status_display(self) -> str:
        return self.Status(self.status).label

    @property
    def email_link(self) -> str:
        """The link e-mails carry: the access's own URL, else the subscription's when asked."""
        if self.custom_url:
            return self.custom_url
        if self.use_subscription_custom_url:
            return self.subscription.custom_url
        return ""


class AccessActivation(models.Model):
    """A device that used an access: the activation counted the first time it did."""

    access = models.ForeignKey(Access, on_delete=models.CASCADE, related_name="activations")
    device_id = models.CharField(_("device"), max_length=255)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)

    class Meta:
        verbose_name = _("device activation")
        ordering = ["first_seen_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["access", "device_id"], name="activation_once_per_device"
            )
        ]

    def __str__(self):
        return f"{self.device_id} on {self.access_id}"


class WalletEntry(models.Model):
    """A line of the e-wallet ledger: never changed or deleted; corrections are new lines."""

    class Kind(models.TextChoices):
        TOP_UP = "top_up", _("Top-up")
        PURCHASE = "purchase", _("Purchase")
        REFUND = "refund", _("Refund")
        ADJUSTMENT = "adjustment", _("Adjustment")

    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="wallet_entries")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(
        _("amount"),
        max_digits=MONEY_DIGITS,
        decimal_places=STORED_DECIMAL_PLACES,
        help_text=_("Positive adds to the balance, negative takes from it."),
    )
    currency = models.CharField(_("currency"), max_length=3, choices=currency_choices)
    balance_after = models.DecimalField(
        _("balance after"), max_digits=MONEY_DIGITS, decimal_places=STORED_DECIMAL_PLACES
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    reference = models.CharField(
        _("reference"),
        max_length=64,
        blank=True,
        help_text=_("The purchase or refund it belongs to."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("date"), default=timezone.now)

    class Meta:
        verbose_name = _("wallet entry")
        verbose_name_plural = _("wallet entries")
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("adjust_wallet", "Can top up or adjust a buyer's e-wallet"),
            (
                "adjust_wallet_above_limit",
                "Can top up or adjust an e-wallet above WALLET_ADJUSTMENT_LIMIT",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="wallet_entry_amount_not_zero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="wallet_entry_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["top_up", "purchase", "refund", "adjustment"])
                & (
                    Q(kind="adjustment")
                    | Q(kind__in=["top_up", "refund"], amount__gt=0)
                    | Q(kind="purchase", amount__lt=0)
                ),
                name="wallet_entry_kind_sign",
            ),
        ]
        indexes = [
            models.Index(fields=["buyer", "-created_at"], name="wallet_entry_buyer_idx"),
            # The ledger list's order, newest first with the pk tiebreak.
            models.Index(fields=["created_at", "id"], name="wallet_entry_recent_idx"),
            # The search box's trigram indexes (reason, reference) are created on PostgreSQL
            # by migration 0006 (config/search_indexes.py).
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} {self.currency}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Wallet entries are never changed: add a correcting entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Wallet entries are never deleted: add a correcting entry instead.")

    @property
    def amount_display(self) -> str:
        return f"{quantize(self.amount, self.currency)} {self.currency}"

    @property
    def balance_after_display(self) -> str:
        return f"{quantize(self.balance_after, self.currency)} {self.currency}"


class WalletBalance(models.Model):
    """The running total of a buyer's ledger in one currency, written with each entry."""

    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="wallet_balances")
    currency = models.CharField(_("currency"), max_length=3, choices=currency_choices)
    balance = models.DecimalField(
        _("balance"), max_digits=MONEY_DIGITS, decimal_places=STORED_DECIMAL_PLACES, default=0
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("wallet balance")
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(fields=["buyer", "currency"], name="wallet_balance_once"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="wallet_balance_not_negative"),
        ]

    def __str__(self):
        return f"{quantize(self.balance, self.currency)} {self.currency}"


# The kinds of e-mail other apps send to buyers through `notifications.send_once`, kind ->
# label, filled by `register_email_kinds` from their AppConfig.ready() (purchases: receipts and
# renewals). Buyers' own kinds are SentEmail.Kind.
_OTHER_EMAIL_KINDS: dict[str, str] = {}


def register_email_kinds(kinds: type[models.TextChoices]) -> None:
    """Let SentEmail record (and label) an app's kinds of buyer e-mail."""
    for kind, label in kinds.choices:
        if _OTHER_EMAIL_KINDS.get(kind, label) != label or kind in SentEmail.Kind.values:
            raise ValueError(f"The e-mail kind {kind!r} is already registered as another kind")
        _OTHER_EMAIL_KINDS[kind] = label


def email_kind_choices() -> list[tuple[str, str]]:
    """Buyers' own e-mail kinds, then those other apps registered. Named by migration 0007:
    keep it importable under this name."""
    return [*SentEmail.Kind.choices, *_OTHER_EMAIL_KINDS.items()]


class SentEmail(PublicCodeModel):
    """An e-mail sent to a buyer for one event; `key` names the event, so it is sent once. Its
    text and HTML bodies are kept as they were rendered and sent (staff read them as sent, and
    a resend sends exactly them again: `resent_from` names the e-mail a copy repeats)."""

    class Kind(models.TextChoices):
        ACCESS_GRANTED = "access_granted", _("Access granted")
        ACCESS_REVOKED = "access_revoked", _("Access revoked")
        ACCESS_EXPIRING = "access_expiring", _("Access expiring")
        PASSWORD_RESET = "password_reset", _("New access password")
        ACCESS_CHANGED = "access_changed", _("Access changed")
        SELF_SERVICE_LINK = "self_service_link", _("Self-service link")

    key = models.CharField(_("event"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=email_kind_choices)
    buyer = models.ForeignKey(
        Buyer, on_delete=models.SET_NULL, null=True, blank=True, related_name="sent_emails"
    )
    access = models.ForeignKey(
        Access, on_delete=models.CASCADE, null=True, blank=True, related_name="sent_emails"
    )
    to = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=255)
    text_body = models.TextField(_("text as sent"), blank=True)
    html_body = models.TextField(_("HTML as sent"), blank=True)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    resent_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resends",
        verbose_name=_("copy of"),
    )
    resent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resent by"),
    )

    class Meta:
        verbose_name = _("sent e-mail")
        ordering = ["-sent_at", "-id"]
        permissions = [("resend_email", "Can resend an e-mail to its buyer")]
        indexes = [
            # The e-mails list (newest first, keyset on the pk tiebreak) and a buyer's e-mails.
            models.Index(fields=["-sent_at", "-id"], name="sentemail_recent_idx"),
            models.Index(fields=["buyer", "-sent_at", "-id"], name="sentemail_buyer_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.to}"

    @property
    def has_bodies(self) -> bool:
        return bool(self.text_body or self.html_body)


class BuyerNote(models.Model):
    """A note staff write on a buyer's timeline (what the buyer said on the phone, what was
    promised). Append-only: a note is never edited or deleted; a correction is another note."""

    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField(_("note"), max_length=2000)
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("written by"),
    )
    created_at = models.DateTimeField(_("written"), default=timezone.now)

    class Meta:
        verbose_name = _("buyer note")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["buyer", "-created_at", "-id"], name="buyernote_buyer_idx")]

    def __str__(self):
        return f"Note on {self.buyer}"


class BulkOperation(PublicCodeModel):
    """One bulk action staff started (extend, revoke, re-send, import, or the undo of another):
    who, when, from which list and filter, how far it got. Run in the background in chunks
    (buyers/bulk.py); what it changed is in its items, so it can be undone as a whole."""

    class Action(models.TextChoices):
        EXTEND = "extend", _("Extend access")
        REVOKE = "revoke", _("Revoke access")
        RESEND = "resend", _("Re-send the access e-mail")
        UNDO = "undo", _("Undo")
        IMPORT = "import", _("Import buyers")

    class State(models.TextChoices):
        PREVIEW = "preview", _("Previewed, not started")
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    days = models.PositiveIntegerField(_("days"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The last chunk written: an operation not done whose last chunk is old lost its worker.
    updated_at = models.DateTimeField(_("last progress"), default=timezone.now)
    # Where the rows were chosen: the list ("accesses", "buyers"), its filter as staff read it
    # and as a query string (a link back to the same rows).
    source_list = models.CharField(_("list"), max_length=20, blank=True)
    filter_text = models.TextField(_("filter"), blank=True)
    filter_query = models.TextField(_("filter query"), blank=True)
    # What to act on, fixed when it is started: access ids, the items an undo reverts, or the
    # import's good rows ([line, email, phone, name]).
    targets = models.JSONField(_("targets"), default=list, blank=True)
    total = models.PositiveIntegerField(_("rows"), default=0)
    done_count = models.PositiveIntegerField(_("done"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    # An operation is undone at most once (the database keeps it so).
    undoes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="undone_by",
        verbose_name=_("undoes"),
    )

    class Meta:
        verbose_name = _("bulk operation")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_at", "id"], name="bulkoperation_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["extend", "revoke", "resend", "undo", "import"]),
                name="bulkoperation_action",
            ),
            models.CheckConstraint(
                condition=Q(done_count__lte=F("total") - F("failed_count")),
                name="bulkoperation_counts_within_total",
            ),
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.code}"

    @property
    def processed(self) -> int:
        return self.done_count + self.failed_count

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.processed * 100 // self.total

    @property
    def is_finished(self) -> bool:
        return self.state == self.State.DONE


class BulkItem(models.Model):
    """One row a bulk operation acted on: done (what it was before and after) or failed (why).
    An import records only the rows that failed."""

    operation = models.ForeignKey(BulkOperation, on_delete=models.CASCADE, related_name="items")
    access = models.ForeignKey(
        Access, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The item of the operation an undo reverts.
    reverts = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    line = models.PositiveIntegerField(_("line"), null=True, blank=True)
    done = models.BooleanField(_("done"), default=False)
    message = models.TextField(_("message"), blank=True)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)

    class Meta:
        verbose_name = _("bulk operation item")
        ordering = ["id"]
        constraints = [
            # A retried chunk never acts on one access twice.
            models.UniqueConstraint(
                fields=["operation", "access"],
                condition=Q(access__isnull=False),
                name="bulkitem_access_once",
            ),
        ]

    def __str__(self):
        return f"{self.operation} · {self.access or self.line}"
