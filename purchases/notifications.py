"""E-mails about purchases and renewals: receipts, refund confirmations, renewal reminders,
failed renewals and ended contracts. Written to the outbox (core/outbox.py) in the transaction
of the purchase, refund or renewal, delivered after it commits; each event has a key recorded in
SentEmail in the same transaction as the send, so a retried delivery never mails one event
twice."""

from datetime import timedelta

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef, TextChoices, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from buyers.models import SentEmail
from buyers.notifications import send_once
from core import outbox
from subscriptions.services import get_shop_contacts

from .models import ContractChange, Purchase, RecurringContract, Refund


class EmailKind(TextChoices):
    """The kinds of buyer e-mail this app sends; registered with buyers' SentEmail by
    PurchasesConfig.ready(). A renewal kind also names its templates under purchases/email/."""

    PURCHASE_RECEIPT = "purchase_receipt", _("Purchase receipt")
    RENEWAL_REMINDER = "renewal_reminder", _("Renewal reminder")
    RENEWAL_RECEIPT = "renewal_receipt", _("Renewal receipt")
    RENEWAL_FAILED = "renewal_failed", _("Renewal failed")
    CONTRACT_ENDED = "contract_ended", _("Subscription ended")
    REFUND_CONFIRMATION = "refund_confirmation", _("Refund confirmation")
    CONTRACT_PAUSED = "contract_paused", _("Subscription paused")
    CONTRACT_RESUMED = "contract_resumed", _("Subscription resumed")
    PLAN_CHANGED = "plan_changed", _("Plan changed")


RECEIPT = EmailKind.PURCHASE_RECEIPT
RENEWAL_REMINDER = EmailKind.RENEWAL_REMINDER
RENEWAL_RECEIPT = EmailKind.RENEWAL_RECEIPT
RENEWAL_FAILED = EmailKind.RENEWAL_FAILED
CONTRACT_ENDED = EmailKind.CONTRACT_ENDED
REFUND_CONFIRMATION = EmailKind.REFUND_CONFIRMATION
CONTRACT_PAUSED = EmailKind.CONTRACT_PAUSED
CONTRACT_RESUMED = EmailKind.CONTRACT_RESUMED

# Outbox kinds (registered in PurchasesConfig.ready()).
RECEIPT_MESSAGE = "purchases.receipt"
RENEWAL_MESSAGE = "purchases.renewal_email"
REFUND_MESSAGE = "purchases.refund_confirmation"
PLAN_CHANGE_MESSAGE = "purchases.plan_changed"


def reminder_days() -> int:
    return settings.RENEWAL_REMINDER_DAYS


def _shop_name() -> str:
    return get_shop_contacts().name or settings.SHOP_NAME


# --- Purchases ---------------------------------------------------------------------------------


def queue_purchase_receipt(purchase: Purchase) -> None:
    """In the purchase's transaction: mail the receipt once it commits."""
    outbox.enqueue(
        RECEIPT_MESSAGE,
        {"purchase_id": purchase.pk},
        key=f"receipt:{purchase.code}",
        language=purchase.buyer.language,
    )


def send_purchase_receipt(purchase_id: int) -> bool:
    """Send the receipt of a completed purchase unless it was sent; True when sent now."""
    purchase = (
        Purchase.objects.select_related("buyer", "subscription", "pricing_model", "access")
        .filter(pk=purchase_id)
        .first()
    )
    if purchase is None or purchase.completed_at is None:
        return False
    return send_once(
        key=f"receipt:{purchase.code}",
        kind=RECEIPT,
        to=purchase.buyer.email,
        subject=gettext("Your receipt from {shop}: {subscription}").format(
            shop=_shop_name(), subscription=purchase.subscription.name
        ),
        template="purchases/email/receipt",
        context={"purchase": purchase, "buyer": purchase.buyer, "access": purchase.access},
        access=purchase.access,
    )


def queue_refund_confirmation(refund) -> None:
    """In the refund's transaction: tell the buyer what was given back, once it commits."""
    outbox.enqueue(
        REFUND_MESSAGE,
        {"refund_id": refund.pk},
        key=f"refund:{refund.code}",
        language=refund.purchase.buyer.language,
    )


def send_refund_confirmation(refund_id: int) -> bool:
    """Mail the buyer what a refund gave back and where to; True when sent now."""
    refund = (
        Refund.objects.select_related(
            "purchase__buyer", "purchase__subscription", "purchase__access", "contract_transaction"
        )
        .filter(pk=refund_id)
        .first()
    )
    if refund is None:
        return False
    purchase = refund.purchase
    return send_once(
        key=f"refund:{refund.code}",
        kind=REFUND_CONFIRMATION,
        to=purchase.buyer.email,
        subject=gettext("Your refund from {shop}: {subscription}").format(
            shop=_shop_name(), subscription=purchase.subscription.name
        ),
        template="purchases/email/refund_confirmation",
        context={"refund": refund, "purchase": purchase, "buyer": purchase.buyer},
        access=purchase.access,
    )


def queue_plan_change_email(change) -> None:
    """In the plan change's transaction: confirm it to the buyer once it commits."""
    outbox.enqueue(
        PLAN_CHANGE_MESSAGE,
        {"change_id": change.pk},
        key=f"plan-changed:{change.code}",
        language=change.contract.buyer.language,
    )


def send_plan_change_email(change_id: int) -> bool:
    """Mail the buyer an applied plan change: the new plan, the money of it, the next bill."""
    change = (
        ContractChange.objects.select_related(
            "contract__buyer",
            "contract__subscription",
            "contract__access",
            "from_pricing_model",
            "to_pricing_model",
        )
        .filter(pk=change_id, status=ContractChange.Status.APPLIED)
        .first()
    )
    if change is None:
        return False
    contract = change.contract
    return send_once(
        key=f"plan-changed:{change.code}",
        kind=EmailKind.PLAN_CHANGED,
        to=contract.buyer.email,
        subject=gettext("Your %(name)s plan is changed") % {"name": contract.subscription.name},
        template="purchases/email/plan_changed",
        context={"change": change, "contract": contract, "buyer": contract.buyer},
        access=contract.access,
    )


# --- Renewals -----------------------------------------------------------------------------------


def queue_renewal_emails(events: list[tuple[str, int, str]]) -> int:
    """In the renewal's transaction, a batch's e-mails: (kind, contract id, event key) each,
    one outbox row per e-mail (one insert), each mailed once after the commit. Answers how many
    were written (an event written before is not written again)."""
    languages = dict(
        RecurringContract.objects.filter(
            pk__in={contract_id for _kind, contract_id, _key in events}
        ).values_list("pk", "buyer__language")
    )
    return outbox.enqueue_many(
        outbox.Message(
            RENEWAL_MESSAGE,
            {"kind": kind, "contract_id": contract_id, "key": key},
            key=key,
            language=languages.get(contract_id, ""),
        )
        for kind, contract_id, key in events
    )


def send_renewal_email(kind: str, contract_id: int, key: str) -> bool:
    contract = (
        RecurringContract.objects.select_related("buyer", "subscription", "pricing_model", "access")
        .filter(pk=contract_id)
        .first()
    )
    if contract is None:
        return False
    last = contract.transactions.order_by("-transaction_date", "-pk").first()
    name = contract.subscription.name
    bill_day = f"{timezone.localtime(contract.next_bill_date):%Y-%m-%d}"
    subjects = {
        kind_: subject.format(subscription=name, day=bill_day)
        for kind_, subject in {
            RENEWAL_REMINDER: gettext("{subscription} renews on {day}"),
            RENEWAL_RECEIPT: gettext("Your {subscription} subscription is renewed"),
            RENEWAL_FAILED: gettext("We could not renew {subscription}"),
            CONTRACT_ENDED: gettext("Your {subscription} subscription has ended"),
        }.items()
    }
    subjects[CONTRACT_PAUSED] = gettext("Your %(name)s subscription is paused") % {"name": name}
    subjects[CONTRACT_RESUMED] = gettext("Your %(name)s subscription is running again") % {
        "name": name
    }
    return send_once(
        key=key,
        kind=kind,
        to=contract.buyer.email,
        subject=subjects[kind],
        template=f"purchases/email/{kind}",
        context={
            "contract": contract,
            "buyer": contract.buyer,
            "subscription": contract.subscription,
            "transaction": last,
            "retries_left": max(0, len(settings.RENEWAL_RETRY_DAYS) - contract.failed_attempts + 1),
            # The pause an e-mail about pausing or resuming tells of (the latest one).
            "pause": contract.pauses.first()
            if kind in (CONTRACT_PAUSED, CONTRACT_RESUMED)
            else None,
            # A plan change scheduled for the period's end: the renewal charges its price.
            "plan_change": scheduled_plan_change(contract) if kind == RENEWAL_REMINDER else None,
        },
        access=contract.access,
    )


def scheduled_plan_change(contract: RecurringContract) -> ContractChange | None:
    return (
        contract.plan_changes.filter(
            status=ContractChange.Status.SCHEDULED, timing=ContractChange.Timing.PERIOD_END
        )
        .select_related("to_pricing_model")
        .first()
    )


def contracts_to_remind(*, now=None, days: int | None = None):
    """Active contracts billed within `days` that have not been reminded of that bill."""
    now = now or timezone.now()
    days = reminder_days() if days is None else days
    reminded = SentEmail.objects.filter(
        key=Concat(
            Value("renewal-reminder:"),
            OuterRef("code"),
            Value(":"),
            Cast(OuterRef("periods_paid") + 1, CharField()),
        )
    )
    return RecurringContract.objects.filter(
        status=RecurringContract.Status.ACTIVE,
        cancel_at_period_end=False,
        next_bill_date__gt=now,
        next_bill_date__lte=now + timedelta(days=days),
    ).exclude(Exists(reminded))


def reminder_key(contract: RecurringContract) -> str:
    return f"renewal-reminder:{contract.code}:{contract.periods_paid + 1}"


OUTBOX_HANDLERS = {
    RECEIPT_MESSAGE: lambda payload: send_purchase_receipt(payload["purchase_id"]),
    REFUND_MESSAGE: lambda payload: send_refund_confirmation(payload["refund_id"]),
    PLAN_CHANGE_MESSAGE: lambda payload: send_plan_change_email(payload["change_id"]),
    RENEWAL_MESSAGE: lambda payload: send_renewal_email(
        payload["kind"], payload["contract_id"], payload["key"]
    ),
}
