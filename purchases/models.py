"""Purchase sessions, purchases, refunds, recurring contracts, gateways and finance reports.

- PurchaseSession (reference 000): opened before paying; answers a numeric id and a status;
  expires; consumed by at most one purchase.
- Purchase (reference 001): what a buyer bought, at the price, currency, coupon and discount
  of that moment; its status moves pending -> completed | failed, completed -> cancelling |
  cancelled | refunded. Amounts are never edited.
- Refund: money given back, a new row that reverses (part of) a purchase.
- Cancellation (reference 002): who stopped a purchase, when, and how (at the period's end or now).
- SandboxCharge: the sandbox gateways' own ledger (the provider's side of a payment).
- RecurringContract and ContractTransaction (reference 003): a recurring purchase's agreement
  to be charged every period, and each charge attempt.
Rules live in `services/`; every entry point (staff pages, the API) calls them.
"""

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from buyers.models import Access, Buyer
from core.codes import PublicCodeModel
from core.money import STORED_DECIMAL_PLACES, currency_choices
from subscriptions.models import MONEY_DIGITS, Coupon, Media, PricingModel, Subscription

WALLET = "wallet"  # the payment type that pays from the buyer's e-wallet


def money_field(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name, max_digits=MONEY_DIGITS, decimal_places=STORED_DECIMAL_PLACES, **kwargs
    )


class PurchaseSession(models.Model):
    """A purchase session (reference 000 GetPurchaseSessionID); its numeric id is its handle."""

    class TransactionType(models.TextChoices):
        PPV = "PPV", _("PPV")
        SUBSCRIPTION = "Subscription", _("Subscription")
        COLLECTION = "Collection", _("Collection")
        PROGRAM_ASSET_GROUP_OFFER = "ProgramAssetGroupOffer", _("Program asset group offer")

    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="purchase_sessions")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    pricing_model = models.ForeignKey(
        PricingModel, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    media = models.ForeignKey(
        Media,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("content"),
    )
    transaction_type = models.CharField(
        _("transaction type"), max_length=22, choices=TransactionType.choices
    )
    # The quote a purchase with this session is charged (price = list price - discount), kept
    # as it was when the session opened. Sessions opened before it was kept have no split.
    list_price = money_field("list price", null=True, blank=True)
    discount = money_field("discount", null=True, blank=True)
    price = money_field("price")
    currency = models.CharField(_("currency"), max_length=3, choices=currency_choices)
    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user_ip = models.GenericIPAddressField(_("user IP"), null=True, blank=True)
    udid = models.CharField(_("device id (udid)"), max_length=255, blank=True)
    preview_module = models.CharField(_("preview module"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    consumed_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("purchase session")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="session_price_not_negative"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="session_expires_after_opening"
            ),
            # Within half a ten-thousandth, as for purchases: SQLite subtracts in floating point.
            models.CheckConstraint(
                condition=Q(list_price__isnull=True, discount__isnull=True)
                | Q(list_price__gte=0)
                & Q(discount__gte=0)
                & Q(price__gt=F("list_price") - F("discount") - Decimal("0.00005"))
                & Q(price__lt=F("list_price") - F("discount") + Decimal("0.00005")),
                name="session_price_is_list_price_less_discount",
            ),
        ]
        # The sessions list's (and the admin's) order, newest first with the pk tiebreak.
        indexes = [models.Index(fields=["created_at", "id"], name="session_recent_idx")]

    def __str__(self):
        return f"Session {self.pk}"

    def is_expired_at(self, when) -> bool:
        return when >= self.expires_at

    def status_at(self, when) -> str:
        if self.consumed_at is not None:
            return "used"
        return "expired" if self.is_expired_at(when) else "open"


class Purchase(PublicCodeModel):
    """A purchase (reference 001): the price, currency, coupon and discount as they were."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")
        CANCELLING = "cancelling", _("Cancelling at period end")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    # The buyer holds what was bought, and a recurring one may still be cancelled.
    LIVE_STATUSES = (Status.COMPLETED, Status.CANCELLING)
    # Money was taken: revenue (a later cancellation or refund is a row of its own); failed and
    # pending purchases took nothing.
    PAID_STATUSES = (*LIVE_STATUSES, Status.CANCELLED, Status.REFUNDED)
    # What may still be refunded: paid and not refunded in full.
    REFUNDABLE_STATUSES = (*LIVE_STATUSES, Status.CANCELLED)

    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="purchases")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="purchases"
    )
    pricing_model = models.ForeignKey(
        PricingModel, on_delete=models.PROTECT, related_name="purchases"
    )
    session = models.OneToOneField(
        PurchaseSession, on_delete=models.PROTECT, null=True, blank=True, related_name="purchase"
    )
    list_price = money_field("list price")
    discount = money_field("discount", default=0)
    amount = money_field("amount charged")
    currency = models.CharField(_("currency"), max_length=3, choices=currency_choices)
    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, null=True, blank=True, related_name="purchases"
    )
    coupon_code = models.CharField(_("coupon code"), max_length=32, blank=True)
    is_recurring = models.BooleanField(_("recurring"), default=False)
    payment_type = models.CharField(_("payment type"), max_length=40)
    instrument = models.CharField(
        _("payment instrument"), max_length=80, blank=True, help_text=_("The stored card's token.")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    gateway_reference = models.CharField(_("gateway reference (PNRef)"), max_length=40, blank=True)
    auth_code = models.CharField(_("auth code"), max_length=12, blank=True)
    result_code = models.CharField(_("result code"), max_length=8, blank=True)
    response_message = models.CharField(_("gateway message"), max_length=200, blank=True)
    redirect_url = models.CharField(_("payment page"), max_length=500, blank=True)
    return_url = models.URLField(_("return URL"), max_length=500, blank=True)
    cancel_url = models.URLField(_("cancel URL"), max_length=500, blank=True)
    access = models.OneToOneField(
        Access, on_delete=models.PROTECT, null=True, blank=True, related_name="purchase"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    expires_at = models.DateTimeField(_("pending until"), null=True, blank=True)
    trial_ends_at = models.DateTimeField(_("free trial until"), null=True, blank=True)
    # The API request that made it (its Idempotency-Key's claim): a retry after a crash finds
    # the purchase by it and answers its outcome instead of buying again.
    request_key = models.CharField(_("API request"), max_length=64, blank=True, db_default="")

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("refund_purchase", "Can refund a purchase"),
            ("cancel_purchase", "Can cancel a purchase"),
        ]
        constraints = [
            # Within half a ten-thousandth rather than equal: SQLite computes the difference in
            # floating point (59.99 - 30.00 is not 29.99 there); on PostgreSQL it is exact anyway.
            models.CheckConstraint(
                condition=Q(list_price__gte=0)
                & Q(discount__gte=0)
                & Q(amount__gte=0)
                & Q(amount__gt=F("list_price") - F("discount") - Decimal("0.00005"))
                & Q(amount__lt=F("list_price") - F("discount") + Decimal("0.00005")),
                name="purchase_amount_is_list_price_less_discount",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "pending",
                        "completed",
                        "failed",
                        "cancelling",
                        "cancelled",
                        "refunded",
                    ]
                ),
                name="purchase_status_valid",
            ),
            # PendingProductCanNotBePurchased: one purchase of a product waits for payment.
            models.UniqueConstraint(
                fields=["buyer", "subscription"],
                condition=Q(status="pending"),
                name="purchase_one_pending_per_product",
            ),
            models.UniqueConstraint(
                fields=["request_key"],
                condition=~Q(request_key=""),
                name="purchase_once_per_api_request",
            ),
        ]
        indexes = [
            models.Index(fields=["buyer", "subscription", "status"], name="purchase_buyer_idx"),
            models.Index(fields=["status", "-created_at"], name="purchase_status_idx"),
            # The lost-answer job's question: pending purchases, oldest first.
            models.Index(
                fields=["created_at"], condition=Q(status="pending"), name="purchase_pending_idx"
            ),
            # The purchases list sorted by date or amount, with the pk tiebreak the list appends
            # (the date one also serves every date-range report).
            models.Index(fields=["created_at", "id"], name="purchase_created_sort_idx"),
            models.Index(fields=["amount", "id"], name="purchase_amount_sort_idx"),
            # Finance finds a purchase by the gateway's reference (the search box, exactly).
            models.Index(fields=["gateway_reference"], name="purchase_gateway_ref_idx"),
        ]

    def __str__(self):
        return f"{self.code} · {self.subscription.name}"

    @property
    def refunded_amount(self):
        """What was given back of this purchase's own payment (a refund of one of its renewal
        charges gives back that charge, not this)."""
        return sum(
            (refund.amount for refund in self.refunds.all() if not refund.contract_transaction_id),
            Decimal(0),
        )


class Refund(PublicCodeModel):
    """Money given back for a purchase: a new row that reverses it, never an edit of it."""

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="refunds")
    # The renewal charge it gives back, when it is not the purchase's own payment.
    contract_transaction = models.ForeignKey(
        "ContractTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        verbose_name=_("renewal charge"),
    )
    amount = money_field("amount")
    currency = models.CharField(_("currency"), max_length=3, choices=currency_choices)
    method = models.CharField(_("refunded to"), max_length=40)
    gateway_reference = models.CharField(_("gateway reference (PNRef)"), max_length=40, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
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
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]
        # The refunds list's order and date ranges, with the pk tiebreak.
        indexes = [models.Index(fields=["created_at", "id"], name="refund_recent_idx")]

    def __str__(self):
        return f"Refund {self.code} of {self.purchase.code}"


class Cancellation(models.Model):
    """A purchase stopped by the buyer or staff (reference 002 CancelProduct)."""

    class Mode(models.TextChoices):
        PERIOD_END = "period_end", _("Stop renewing at the period's end")
        NOW = "now", _("End now")

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="cancellations")
    mode = models.CharField(_("how"), max_length=10, choices=Mode.choices)
    refund = models.OneToOneField(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="cancellation"
    )
    by_buyer = models.BooleanField(_("by the buyer"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("date"), default=timezone.now)
    # A stop at the period's end taken back before the period ended (the contract renews again).
    undone_at = models.DateTimeField(_("taken back"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("taken back by"),
    )
    undone_by_buyer = models.BooleanField(_("taken back by the buyer"), default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["created_at", "id"], name="cancellation_recent_idx")]

    def __str__(self):
        return f"{self.get_mode_display()} for {self.purchase.code}"


def new_pnref() -> str:
    return "SB" + secrets.token_hex(8).upper()


class SandboxCharge(models.Model):
    """What a sandbox gateway charged or refunded: the provider's side of a payment, kept here
    because the sandbox has no provider. One row per gateway and idempotency key."""

    class Kind(models.TextChoices):
        CHARGE = "charge", _("Charge")
        REFUND = "refund", _("Refund")

    class Status(models.TextChoices):
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")
        PENDING = "pending", _("Waiting for the buyer")
        CANCELLED = "cancelled", _("Cancelled by the buyer")

    gateway = models.CharField(max_length=40)
    idempotency_key = models.CharField(max_length=120)
    kind = models.CharField(max_length=6, choices=Kind.choices)
    pnref = models.CharField(_("PNRef"), max_length=20, unique=True, default=new_pnref)
    amount = models.DecimalField(max_digits=18, decimal_places=STORED_DECIMAL_PLACES)
    currency = models.CharField(max_length=3)
    instrument = models.CharField(_("card token"), max_length=80, blank=True)
    status = models.CharField(max_length=9, choices=Status.choices)
    result_code = models.CharField(max_length=8, blank=True)
    response_message = models.CharField(max_length=200, blank=True)
    auth_code = models.CharField(max_length=12, blank=True)
    return_url = models.URLField(max_length=500, blank=True)
    cancel_url = models.URLField(max_length=500, blank=True)
    refund_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    answered = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "idempotency_key"], name="sandbox_charge_once_per_key"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="sandbox_amount_positive"
            ),
        ]

    def __str__(self):
        return f"{self.gateway} {self.pnref} {self.status}"


class RecurringContract(PublicCodeModel):
    """A recurring purchase's agreement to be charged every period (reference 003 contract; the
    code is its Contract_Key). Renewals charge it once per billing period, counted from `anchor`
    so that month ends come back (31 Jan, 28 Feb, 31 Mar)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        PAUSED = "paused", _("Paused")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    # Still charging (past-due ones retry); cancelled and expired ones have ended.
    LIVE_STATUSES = (Status.ACTIVE, Status.PAST_DUE)
    # Not ended: charging, or paused (neither charged nor watched until it resumes).
    OPEN_STATUSES = (Status.ACTIVE, Status.PAST_DUE, Status.PAUSED)

    purchase = models.OneToOneField(Purchase, on_delete=models.PROTECT, related_name="contract")
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="contracts")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="contracts"
    )
    pricing_model = models.ForeignKey(
        PricingModel, on_delete=models.PROTECT, related_name="contracts"
    )
    access = models.ForeignKey(Access, on_delete=models.PROTECT, related_name="contracts")
    amount = money_field("amount each period")
    currency = models.CharField(_("currency"), max_length=3, choices=currency_choices)
    payment_type = models.CharField(_("payment type"), max_length=40)
    instrument = models.CharField(
        _("stored payment instrument"),
        max_length=80,
        blank=True,
        help_text=_("The card token, or the gateway reference of the first payment."),
    )
    # The recurrence as it was bought: a later edit of the pricing model never reschedules a
    # running contract.
    recurrence_unit = models.CharField(
        _("renews every (unit)"), max_length=6, choices=PricingModel.RecurrenceUnit.choices
    )
    recurrence_count = models.PositiveSmallIntegerField(_("renews every (count)"), default=1)
    anchor = models.DateTimeField(_("periods counted from"))
    periods_paid = models.PositiveIntegerField(_("periods paid"), default=0)
    next_bill_date = models.DateTimeField(_("next bill date"))
    next_retry_at = models.DateTimeField(_("next retry"), null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(_("failed attempts"), default=0)
    cancel_at_period_end = models.BooleanField(_("stops at the period's end"), default=False)
    status = models.CharField(
        _("status"), max_length=9, choices=Status.choices, default=Status.ACTIVE
    )
    recurrence_count = models.PositiveSmallIntegerField(_("renews every (count)"), default=1)
    anchor = models.DateTimeField(_("periods counted from"))
    periods_paid = models.PositiveIntegerField(_("periods paid"), default=0)
    next_bill_date = models.DateTimeField(_("next bill date"))
    next_retry_at = models.DateTimeField(_("next retry"), null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(_("failed attempts"), default=0)
    # Periods paid before `anchor` last moved (a plan change starts a new period at its
    # proration time): period n ends at anchor + (n - period_offset) x the recurrence.
    period_offset = models.PositiveIntegerField(_("periods paid before the anchor"), default=0)
    cancel_at_period_end = models.BooleanField(_("stops at the period's end"), default=False)
    status = models.CharField(
        _("status"), max_length=9, choices=Status.choices, default=Status.ACTIVE
    )
    # A worker claims a batch of due contracts for a while; if it dies, the claim lapses and
    # the next run takes them again (their idempotency keys make that harmless).
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    # While paused (status PAUSED): when the pause starts (now, or the period's end) and when the
    # job resumes it (an open-ended pause resumes when it reaches CONTRACT_MAX_PAUSE_DAYS).
    paused_from = models.DateTimeField(_("paused from"), null=True, blank=True)
    resume_at = models.DateTimeField(_("resumes"), null=True, blank=True)

    class Meta:
        verbose_name = _("recurring contract")
        ordering = ["-created_at", "-pk"]
        permissions = [("retry_contract", "Can retry a contract's renewal now")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="contract_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(status__in=["active", "past_due", "paused", "cancelled", "expired"]),
                name="contract_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="paused")
                | Q(paused_from__isnull=False, resume_at__gt=F("paused_from")),
                name="contract_pause_has_dates",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_bill_date"], name="contract_due_idx"),
            # What the renewal engine claims: active bills and past-due retries, by date.
            models.Index(
                fields=["next_bill_date", "id"],
                condition=Q(status="active"),
                name="contract_bill_due_idx",
            ),
            models.Index(
                fields=["next_retry_at", "id"],
                condition=Q(status="past_due"),
                name="contract_retry_due_idx",
            ),
            # What the resume job takes: paused contracts by the end of their pause.
            models.Index(
                fields=["resume_at", "id"],
                condition=Q(status="paused"),
                name="contract_resume_due_idx",
            ),
            models.Index(fields=["buyer", "-created_at"], name="contract_buyer_idx"),
            # The renewals list's sortable columns (its default order is the next bill).
            models.Index(fields=["next_bill_date", "id"], name="contract_next_bill_sort_idx"),
            models.Index(fields=["amount", "id"], name="contract_amount_sort_idx"),
        ]

    def __str__(self):
        return f"Contract {self.code}"

    @property
    def due_at(self):
        """When the engine next charges it: the retry time when past due, else the bill date."""
        if self.status == self.Status.PAST_DUE and self.next_retry_at:
            return self.next_retry_at
        return self.next_bill_date


class ContractPause(models.Model):
    """One pause of a recurring contract, as asked and as it ended: the history the contract page
    and the buyer's timeline show. A pause moves no money (no journal row)."""

    contract = models.ForeignKey(RecurringContract, on_delete=models.PROTECT, related_name="pauses")
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until (as asked)"))
    open_ended = models.BooleanField(_("open-ended"), default=False)
    periods = models.PositiveSmallIntegerField(_("for periods"), null=True, blank=True)
    next_bill_before = models.DateTimeField(_("next bill date when paused"))
    created_at = models.DateTimeField(_("asked"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    by_buyer = models.BooleanField(_("by the buyer"), default=False)
    resumed_at = models.DateTimeField(_("resumed"), null=True, blank=True)
    resumed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resumed by"),
    )
    resumed_by_buyer = models.BooleanField(_("resumed by the buyer"), default=False)
    resumed_automatically = models.BooleanField(_("resumed by the job"), default=False)
    next_bill_after = models.DateTimeField(_("next bill date when resumed"), null=True, blank=True)

    class Meta:
        verbose_name = _("contract pause")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="contract_pause_ends_after_start"
            ),
            # A contract has at most one pause that has not been resumed.
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(resumed_at__isnull=True),
                name="contract_one_open_pause",
            ),
        ]

    def __str__(self):
        return f"Pause of {self.contract.code} from {self.starts_at:%Y-%m-%d}"

    @property
    def moved_by(self):
        """How far resuming moved the next bill date (the time paused), once resumed."""
        if self.next_bill_after is None:
            return None
        return self.next_bill_after - self.next_bill_before


class ContractTransaction(models.Model):
    """One charge attempt of a contract (reference 003 LastContractTrans). Its idempotency key
    names the contract, the billing period and the attempt; a period is paid at most once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Charging")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    contract = models.ForeignKey(
        RecurringContract, on_delete=models.PROTECT, related_name="transactions"
    )
    period = models.PositiveIntegerField(_("billing period"))
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    payment_pref = models.CharField(_("PaymentPref"), max_length=40)
    transaction_date = models.DateTimeField(_("Transaction_Date"), default=timezone.now)
    amount = money_field("Transaction_Amount")
    convenience_fee = money_field("Convenience_Fee", default=0)
    currency = models.CharField(_("currency"), max_length=3, choices=currency_choices)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.PENDING
    )
    pnref = models.CharField(_("PNRef"), max_length=40, blank=True)
    result_code = models.CharField(_("ResultCode"), max_length=8, blank=True)
    response_message = models.CharField(_("ResponseMessage"), max_length=200, blank=True)
    auth_code = models.CharField(_("AuthCode"), max_length=12, blank=True)

    class Meta:
        verbose_name = _("contract transaction")
        ordering = ["-transaction_date", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "period", "attempt"],
                name="contract_transaction_once_per_attempt",
            ),
            models.UniqueConstraint(
                fields=["contract", "period"],
                condition=Q(status="approved"),
                name="contract_period_paid_once",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="contract_transaction_amount"),
        ]
        indexes = [
            models.Index(fields=["status", "-transaction_date"], name="contract_tx_idx"),
            # The renewal charges list's order, newest first with the pk tiebreak.
            models.Index(fields=["transaction_date", "id"], name="contract_tx_recent_idx"),
            # Finance finds a charge by the gateway's PNRef (the search box, exactly).
            models.Index(fields=["pnref"], name="contract_tx_pnref_idx"),
        ]

    def __str__(self):
        return f"{self.contract.code} period {self.period} attempt {self.attempt}"


# The money journal's models live in their own module; imported here so Django registers them.
from .contract_changes import ContractChange  # noqa: E402, F401
from .journal.models import (  # noqa: E402, F401
    ClosedPeriod,
    ClosedPeriodTotal,
    JournalDay,
    JournalDayZone,
    JournalEntry,
)
