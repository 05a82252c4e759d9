"""The money journal: one immutable row for every movement of money, and what is derived from it.

- JournalEntry: a movement of money, written by the service that moves it in the same
  transaction, booked at the time the money moved. Never updated or deleted (the model refuses,
  and on PostgreSQL a trigger refuses any UPDATE or DELETE; see migration 0015); a mistake is
  corrected by a new row in the open period that names the row it corrects.
- JournalDay and JournalShopDay: the journal's daily totals (per local day of the shop's time
  zone, currency, kind and payment type; JournalDay per subscription too), maintained with every
  journal row in its transaction, so reports over any range read days, not rows: the shop's
  days (a few dozen rows a day) for the dashboard and reports of the whole shop, the
  subscriptions' days (up to a few thousand a day) for reports by or of a subscription.
  JournalDayZone records the time zone the days are local to.
- ClosedPeriod / ClosedPeriodTotal: a period finance closed, and its totals as they were then;
  nothing may be booked inside a closed period afterwards.

Two ledgers, told apart by the kind (see KINDS below and the README's "Money journal"):
- revenue: sales, renewals, refunds, chargebacks and corrections. The amount is signed from the
  shop's side: positive is money earned, negative is money given back. A sale paid from the
  e-wallet is revenue (payment type "wallet") but not new cash: the cash came in at the top-up.
- e-wallet: the buyers' prepaid balances, a liability of the shop, not revenue. The amount is
  signed from the buyer's balance: positive adds to it (a top-up received, a refund credited),
  negative takes from it (a payment). Every WalletEntry has exactly one such row.
Never add the two ledgers together: a wallet-paid sale is +x in revenue and -x in the wallet.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from buyers.models import Buyer, WalletEntry
from core.codes import PublicCodeModel
from core.money import STORED_DECIMAL_PLACES, currency_choices, quantize
from subscriptions.models import MONEY_DIGITS, PricingModel, Subscription

# Daily and period sums can outgrow one amount's digits.
TOTAL_DIGITS = 20


class Kind(models.TextChoices):
    SALE = "sale", _("Sale")
    RENEWAL = "renewal", _("Renewal charge")
    REFUND = "refund", _("Refund")
    CHARGEBACK = "chargeback", _("Chargeback")
    CORRECTION = "correction", _("Correction")
    WALLET_TOP_UP = "wallet_top_up", _("E-wallet top-up")
    WALLET_PAYMENT = "wallet_payment", _("Paid from e-wallet")
    WALLET_REFUND = "wallet_refund", _("Refund to e-wallet")
    WALLET_ADJUSTMENT = "wallet_adjustment", _("E-wallet adjustment")
    PLAN_CHARGE = "plan_charge", _("Plan change charge")
    PLAN_CREDIT = "plan_credit", _("Plan change credit")


# Revenue: money the shop earned (+) or gave back (-).
# A plan change now books two rows (purchases/services/plan_changes.py): the new period's price
# as a charge and the unused time of the old one as a credit, given back.
CHARGE_KINDS = (Kind.SALE, Kind.RENEWAL, Kind.PLAN_CHARGE)
GIVEN_BACK_KINDS = (Kind.REFUND, Kind.CHARGEBACK, Kind.PLAN_CREDIT)
PLAN_CHANGE_KINDS = (Kind.PLAN_CHARGE, Kind.PLAN_CREDIT)
REVENUE_KINDS = (*CHARGE_KINDS, *GIVEN_BACK_KINDS, Kind.CORRECTION)
# E-wallet: buyers' prepaid balances, + adds to a balance, - takes from it.
WALLET_KINDS = (
    Kind.WALLET_TOP_UP,
    Kind.WALLET_PAYMENT,
    Kind.WALLET_REFUND,
    Kind.WALLET_ADJUSTMENT,
)
# The e-wallet ledger's kind for each WalletEntry kind.
WALLET_ENTRY_KINDS = {
    WalletEntry.Kind.TOP_UP: Kind.WALLET_TOP_UP,
    WalletEntry.Kind.PURCHASE: Kind.WALLET_PAYMENT,
    WalletEntry.Kind.REFUND: Kind.WALLET_REFUND,
    WalletEntry.Kind.ADJUSTMENT: Kind.WALLET_ADJUSTMENT,
}
POSITIVE_KINDS = (
    Kind.SALE,
    Kind.RENEWAL,
    Kind.PLAN_CHARGE,
    Kind.WALLET_TOP_UP,
    Kind.WALLET_REFUND,
)
NEGATIVE_KINDS = (Kind.REFUND, Kind.CHARGEBACK, Kind.PLAN_CREDIT, Kind.WALLET_PAYMENT)


def money_field(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name, max_digits=MONEY_DIGITS, decimal_places=STORED_DECIMAL_PLACES, **kwargs
    )


def total_field(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name, max_digits=TOTAL_DIGITS, decimal_places=STORED_DECIMAL_PLACES, **kwargs
    )


class JournalEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValueError("Journal entries are never changed: book a correction instead.")

    def delete(self):
        raise ValueError("Journal entries are never deleted: book a correction instead.")


class JournalEntry(PublicCodeModel):
    """One movement of money (see the module's docstring for the ledgers and their signs)."""

    booked_at = models.DateTimeField(_("booked"), help_text=_("When the money moved."))
    kind = models.CharField(_("kind"), max_length=17, choices=Kind.choices)
    amount = money_field("amount")
    currency = models.CharField(_("currency"), max_length=3, choices=currency_choices)
    # Who and what, copied from the row the money belongs to (the purchase, contract, wallet
    # entry or corrected row below, whose keys the database checks) so that reports filter by
    # them without a join: not checked a second time, nor indexed (the daily totals serve them).
    buyer = models.ForeignKey(
        Buyer, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    pricing_model = models.ForeignKey(
        PricingModel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    purchase = models.ForeignKey(
        "purchases.Purchase",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="journal_entries",
    )
    # The renewal charge's contract (checked through the charge), or a refund's purchase's.
    contract = models.ForeignKey(
        "purchases.RecurringContract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="journal_entries",
        db_constraint=False,
        db_index=False,
    )
    renewal_charge = models.ForeignKey(
        "purchases.ContractTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="journal_entries",
        verbose_name=_("renewal charge"),
        db_index=False,  # the partial unique index below serves it
    )
    refund = models.ForeignKey(
        "purchases.Refund",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="journal_entries",
        db_index=False,  # the partial unique index below serves it
    )
    wallet_entry = models.ForeignKey(
        WalletEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="journal_entries",
        verbose_name=_("e-wallet entry"),
        db_index=False,  # the partial unique index below serves it
    )
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("corrects"),
        help_text=_("The entry this one reverses or corrects."),
        db_index=False,  # the partial index below serves it
    )
    payment_type = models.CharField(_("payment type"), max_length=40)
    gateway_reference = models.CharField(_("gateway reference (PNRef)"), max_length=40, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        db_index=False,
    )
    api_key = models.CharField(
        _("API key"),
        max_length=16,
        blank=True,
        help_text=_("The prefix of the API key that caused it."),
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    objects = JournalEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        ordering = ["-booked_at", "-pk"]
        permissions = [
            ("close_period", "Can close a period of the money journal"),
            ("book_correction", "Can book a correction in the money journal"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=Kind.values), name="journal_entry_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=POSITIVE_KINDS, amount__gt=0)
                | Q(kind__in=NEGATIVE_KINDS, amount__lt=0)
                | (Q(kind__in=[Kind.CORRECTION, Kind.WALLET_ADJUSTMENT]) & ~Q(amount=0)),
                name="journal_entry_sign_of_kind",
            ),
            # A purchase is charged once, a renewal charge booked once, a refund booked once.
            models.UniqueConstraint(
                fields=["purchase"], condition=Q(kind="sale"), name="journal_one_sale_per_purchase"
            ),
            models.UniqueConstraint(
                fields=["renewal_charge"],
                condition=Q(kind="renewal"),
                name="journal_one_entry_per_renewal",
            ),
            models.UniqueConstraint(
                fields=["refund"], condition=Q(kind="refund"), name="journal_one_entry_per_refund"
            ),
            # Each e-wallet entry has exactly one row (most rows have none: a partial index).
            models.UniqueConstraint(
                fields=["wallet_entry"],
                condition=Q(wallet_entry__isnull=False),
                name="journal_one_entry_per_wallet_entry",
            ),
        ]
        # Few indexes, since every movement of money writes to each: the set-based renewals
        # write a thousand rows a statement (tests/bench/bench_renewals.py).
        indexes = [
            # The journal page's order and every date range, with the pk tiebreak.
            models.Index(fields=["booked_at", "id"], name="journal_booked_idx"),
            # Finance finds a movement by the gateway's reference; reconciliation matches on it.
            models.Index(fields=["gateway_reference"], name="journal_gateway_ref_idx"),
            models.Index(
                fields=["corrects"],
                condition=Q(corrects__isnull=False),
                name="journal_corrects_idx",
            ),
        ]

    def __str__(self):
        return f"{self.code} · {self.get_kind_display()} {self.amount_display}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Journal entries are never changed: book a correction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Journal entries are never deleted: book a correction instead.")

    @property
    def is_revenue(self) -> bool:
        return self.kind in REVENUE_KINDS

    @property
    def amount_display(self) -> str:
        return f"{quantize(self.amount, self.currency)} {self.currency}"


class JournalDay(models.Model):
    """The journal's total of one local day, currency, subscription, payment type and kind.

    Written only by purchases.journal.booking (with each journal row, same transaction) and by
    its rebuild; tests prove it equals the journal."""

    day = models.DateField(_("day"))
    currency = models.CharField(_("currency"), max_length=3)
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    payment_type = models.CharField(_("payment type"), max_length=40)
    kind = models.CharField(_("kind"), max_length=17, choices=Kind.choices)
    amount = total_field("amount")
    entries = models.PositiveIntegerField(_("entries"))

    class Meta:
        verbose_name = _("journal day")
        constraints = [
            # The key of the upsert in booking.py (its ON CONFLICT names these same columns).
            models.UniqueConstraint(
                "day",
                "currency",
                "kind",
                "payment_type",
                Coalesce("subscription", 0),
                name="journal_day_once",
            ),
        ]

    def __str__(self):
        return f"{self.day} {self.kind} {self.amount} {self.currency}"


class JournalShopDay(models.Model):
    """The journal's total of one local day, currency, payment type and kind, for the whole
    shop: JournalDay without the subscription, kept beside it (booking.py) for the reports and
    the dashboard that do not look at subscriptions."""

    day = models.DateField(_("day"))
    currency = models.CharField(_("currency"), max_length=3)
    payment_type = models.CharField(_("payment type"), max_length=40)
    kind = models.CharField(_("kind"), max_length=17, choices=Kind.choices)
    amount = total_field("amount")
    entries = models.PositiveIntegerField(_("entries"))

    class Meta:
        verbose_name = _("journal day of the shop")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "currency", "kind", "payment_type"], name="journal_shop_day_once"
            ),
        ]

    def __str__(self):
        return f"{self.day} {self.kind} {self.amount} {self.currency}"


class JournalDayZone(models.Model):
    """The time zone JournalDay's days are local to (one row). When the shop's zone changes,
    `manage.py rebuild_journal_days` recomputes them; until then reports read rows."""

    time_zone = models.CharField(_("time zone"), max_length=64)
    built_at = models.DateTimeField(_("built"))

    class Meta:
        verbose_name = _("journal days' time zone")

    def __str__(self):
        return self.time_zone


class ClosedPeriod(models.Model):
    """A period of local days that finance closed: nothing may be booked inside it afterwards.
    Periods are closed in order, so everything before `ends_at` of the latest one is closed."""

    first_day = models.DateField(_("from"))
    last_day = models.DateField(_("to"))
    time_zone = models.CharField(_("time zone"), max_length=64)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"), unique=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    closed_at = models.DateTimeField(_("closed"))

    class Meta:
        verbose_name = _("closed period")
        ordering = ["-ends_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="closed_period_not_empty"
            ),
        ]

    def __str__(self):
        return f"{self.first_day} to {self.last_day}"


class ClosedPeriodTotal(models.Model):
    """A closed period's total per currency, kind and payment type, as it was at closing."""

    period = models.ForeignKey(ClosedPeriod, on_delete=models.PROTECT, related_name="totals")
    currency = models.CharField(_("currency"), max_length=3)
    kind = models.CharField(_("kind"), max_length=17, choices=Kind.choices)
    payment_type = models.CharField(_("payment type"), max_length=40)
    amount = total_field("amount", default=Decimal(0))
    entries = models.PositiveIntegerField(_("entries"))

    class Meta:
        verbose_name = _("closed period total")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "currency", "kind", "payment_type"],
                name="closed_period_total_once",
            )
        ]

    def __str__(self):
        return f"{self.period}: {self.kind} {self.amount} {self.currency}"
