"""E-mails not (yet) sent: the buyer e-mails waiting in the outbox, failed there, or delivered by
the outbox without a mail going out, each with why. The sent ones are buyers' SentEmail rows
(the e-mails page); this module knows every outbox kind of buyer e-mail, buyers' and ours, and
how each names its buyer (an access, a purchase, a contract, a sent e-mail)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import IntegerField, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from buyers import notifications as buyer_notifications
from buyers.models import Access, Buyer, SentEmail
from core.models import OutboxMessage

from .. import notifications
from ..models import Purchase, RecurringContract, Refund

# Outbox kind -> (what it is, the payload key naming its object, that object's model).
EMAIL_KINDS = {
    buyer_notifications.ACCESS_GRANTED: ("Access granted", "access_id", Access),
    buyer_notifications.ACCESS_REVOKED: ("Access revoked", "access_id", Access),
    buyer_notifications.ACCESS_EXPIRING: ("Access expiring", "access_id", Access),
    buyer_notifications.ACCESS_CHANGED: ("Access changed", "access_id", Access),
    buyer_notifications.NEW_ACCESS_HASH: ("New access password", "access_id", Access),
    buyer_notifications.RESEND: (_("Copy of a sent e-mail"), "email_id", SentEmail),
    notifications.RECEIPT_MESSAGE: ("Purchase receipt", "purchase_id", Purchase),
    notifications.REFUND_MESSAGE: ("Refund confirmation", "refund_id", Refund),
    notifications.RENEWAL_MESSAGE: (_("Renewal e-mail"), "contract_id", RecurringContract),
}

WAITING, RETRYING, FAILED, NOT_MAILED = "waiting", "retrying", "failed", "not_mailed"
STATE_LABELS = {
    WAITING: _("Waiting in the outbox"),
    RETRYING: _("Retrying"),
    FAILED: _("Failed"),
    NOT_MAILED: _("Not mailed"),
}


@dataclass
class UnsentEmail:
    kind: str
    state: str
    written_at: datetime
    attempts: int
    why: str
    message_id: int

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


def _of_buyer(buyer: Buyer) -> Q:
    condition = Q(pk__in=[])
    for kind, (_label, key, model) in EMAIL_KINDS.items():
        owner = "purchase__buyer" if model is Refund else "buyer"
        owned = model.objects.filter(**{owner: buyer}).values("pk")
        condition |= Q(kind=kind, **{f"_{key}__in": owned})
    return condition


def unsent_emails(*, buyer: Buyer | None = None, limit: int = 50) -> list[UnsentEmail]:
    """Buyer e-mails waiting or failed in the outbox (of `buyer`, else of every buyer), newest
    first; for one buyer also those the outbox delivered without a mail (no SentEmail)."""
    messages = OutboxMessage.objects.filter(kind__in=list(EMAIL_KINDS))
    if buyer is not None:
        messages = messages.annotate(
            **{
                f"_{key}": Cast(KeyTextTransform(key, "payload"), IntegerField())
                for key in {key for _, key, _ in EMAIL_KINDS.values()}
            }
        ).filter(_of_buyer(buyer))
        not_mailed = Q(status=OutboxMessage.Status.SENT) & ~Q(
            key__in=SentEmail.objects.filter(buyer=buyer).values("key")
        )
    else:
        not_mailed = Q(pk__in=[])
    rows = messages.filter(~Q(status=OutboxMessage.Status.SENT) | not_mailed).order_by(
        "-created_at", "-pk"
    )[:limit]
    return [_unsent(message, buyer) for message in rows]


def _unsent(message: OutboxMessage, buyer: Buyer | None) -> UnsentEmail:
    kind = EMAIL_KINDS[message.kind][0]
    error = message.last_error or "no error was recorded"
    if message.status == OutboxMessage.Status.DEAD:
        state = FAILED
        why = (
            f"Failed for good after {message.attempts} attempts: {error}. An admin can send it "
            "again (Admin › Outbox messages › Send again)."
        )
    elif message.status == OutboxMessage.Status.PENDING and message.attempts:
        state = RETRYING
        why = ngettext(
            "Failed %(attempts)d time: %(error)s. Next attempt %(when)s.",
            "Failed %(attempts)d times: %(error)s. Next attempt %(when)s.",
            message.attempts,
        ) % {
            "attempts": message.attempts,
            "error": error,
            "when": f"{message.available_at:%Y-%m-%d %H:%M}",
        }
    elif message.status == OutboxMessage.Status.PENDING:
        state = WAITING
        why = gettext(
            "Written {when}; a worker sends it shortly (later if the workers or the broker "
            "are down: the relay job sends it when they are back)."
        ).format(when=f"{message.created_at:%Y-%m-%d %H:%M}")
    else:
        state = NOT_MAILED
        if buyer is not None and not buyer.email:
            cause = gettext("the buyer has no e-mail address")
        else:
            cause = gettext(
                "what it was about no longer applied when it was delivered (an access revoked, "
                "a purchase not completed, an e-mail sent earlier for the same event)"
            )
        when = message.sent_at or message.created_at
        why = gettext("The outbox delivered it {when}, but no mail went out: {cause}.").format(
            when=f"{when:%Y-%m-%d %H:%M}", cause=cause
        )
    return UnsentEmail(kind, state, message.created_at, message.attempts, why, message.pk)
