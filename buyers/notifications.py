"""E-mails to buyers about their accesses: granted, changed by staff, new password, revoked,
expiring soon.

`queue_*` functions are called inside a service's transaction and write the e-mail to the outbox
(core/outbox.py) in that transaction: a rolled-back grant never mails a password, a committed one
always does, even when the broker was down at the commit. `send_*` functions run in the worker
(the outbox handlers below): each event has a key recorded in SentEmail in the same transaction
as the send, so a retried or duplicated delivery never mails the same event twice.
"""

import hashlib
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext

from core import events, outbox
from core.text import single_line
from subscriptions.services import get_shop_contacts

from . import errors
from .models import Access, Buyer, SentEmail
from .self_service_links import link_lifetime, self_service_url


def expiry_notice_days() -> int:
    return settings.ACCESS_EXPIRING_NOTICE_DAYS


ACCESS_GRANTED = "buyers.access_granted"
ACCESS_REVOKED = "buyers.access_revoked"
ACCESS_EXPIRING = "buyers.access_expiring"
NEW_ACCESS_HASH = "buyers.access_password"
ACCESS_CHANGED = "buyers.access_changed"
ACCESS_EMAIL_AGAIN = "buyers.access_email_again"
SELF_SERVICE_LINK = "buyers.self_service_link"


def queue_access_granted_email(access: Access) -> None:
    """In the grant's transaction: mail the access password once it commits."""
    outbox.enqueue(
        ACCESS_GRANTED,
        {"access_id": access.pk},
        key=f"access_granted:{access.pk}",
        language=access.buyer.language,
    )


def queue_access_email_again(access: Access, *, event: str) -> None:
    """In the caller's transaction: mail the access e-mail (password and link as the access is
    when it is sent) again, once per `event` (a bulk operation re-sends each access once)."""
    outbox.enqueue(
        ACCESS_EMAIL_AGAIN,
        {"access_id": access.pk, "event": event},
        key=f"access_again:{access.pk}:{event}",
        language=access.buyer.language,
    )


def queue_access_revoked_email(access: Access) -> None:
    """In the revocation's transaction: tell the buyer once it commits."""
    outbox.enqueue(
        ACCESS_REVOKED,
        {"access_id": access.pk},
        key=f"access_revoked:{access.pk}",
        language=access.buyer.language,
    )


def queue_access_expiring_emails(access_ids) -> int:
    """Write a reminder for each of these accesses (each once: its event key); answers how many
    were written now."""
    languages = dict(
        Access.objects.filter(pk__in=list(access_ids)).values_list("pk", "buyer__language")
    )
    messages = [
        outbox.Message(
            ACCESS_EXPIRING, {"access_id": pk}, key=f"access_expiring:{pk}", language=language
        )
        for pk, language in languages.items()
    ]
    with transaction.atomic():
        written = outbox.enqueue_many(messages)
        expiring = Access.objects.select_related("buyer", "subscription").filter(
            pk__in=[message.payload["access_id"] for message in messages]
        )
        events.publish_many(
            ("access.expiring", access, f"access.expiring:{access.pk}") for access in expiring
        )
        return written


def queue_access_password_email(access: Access) -> None:
    """In the reset's transaction: mail the new password once it commits."""
    # The event is this password: a second reset is a second e-mail, a retried delivery is not.
    event = hashlib.sha256(access.hash.encode()).hexdigest()[:16]
    outbox.enqueue(
        NEW_ACCESS_HASH,
        {"access_id": access.pk, "event": event},
        key=f"password_reset:{access.pk}:{event}",
        language=access.buyer.language,
    )


def queue_access_changed_email(access: Access) -> None:
    """In the change's transaction: tell the buyer what their access is now, once it commits."""
    # The event is this state of the access: the same change saved twice is one e-mail.
    state = "|".join(
        str(value)
        for value in (
            access.access_start,
            access.access_expire,
            access.activation_limit,
            access.email_link,
        )
    )
    event = hashlib.sha256(state.encode()).hexdigest()[:16]
    outbox.enqueue(
        ACCESS_CHANGED,
        {"access_id": access.pk, "event": event},
        key=f"access_changed:{access.pk}:{event}",
        language=access.buyer.language,
    )


def queue_self_service_link_email(buyer: Buyer) -> None:
    """In this transaction: mail `buyer` a fresh self-service link at the address on file once
    it commits (each request its own e-mail; how often is for the caller to limit)."""
    key = f"self_service_link:{buyer.code}:{uuid.uuid4().hex[:12]}"
    outbox.enqueue(
        SELF_SERVICE_LINK, {"buyer_id": buyer.pk, "key": key}, key=key, language=buyer.language
    )


def send_self_service_link_email(buyer_id: int, key: str) -> bool:
    """Mail the buyer a self-service link made now (its lifetime counts from the sending)."""
    buyer = Buyer.objects.filter(pk=buyer_id).first()
    if buyer is None or not buyer.email:
        return False
    # In the buyer's language: the outbox runs this handler in the language it was written with.
    subject = gettext("Your link to manage your subscriptions")
    return send_once(
        key=key,
        kind=SentEmail.Kind.SELF_SERVICE_LINK,
        to=buyer.email,
        subject=subject,
        template="buyers/email/self_service_link",
        context={"buyer": buyer},
    )


def send_once(
    *,
    key: str,
    kind: str,
    to: str,
    subject: str,
    template: str,
    context: dict,
    access: Access | None = None,
) -> bool:
    """Render `template` (.txt and .html) and mail it to `to` unless event `key` was mailed;
    True when sent now. Used for every buyer e-mail, these and the purchases app's.

    The SentEmail row is written in the transaction that sends: a failed send (SMTP error) rolls
    it back so a retry sends again, and a second worker with the same key waits on the unique
    row, then finds it sent."""
    if not to:
        return False
    # A name saved before control characters were refused must not break (or inject) a header.
    subject = single_line(subject)[:255]
    # Rendered in the active language: the outbox runs each handler in the language its message
    # was written with (the buyer's), core/outbox.py.
    with transaction.atomic():
        buyer = context.get("buyer") or (access.buyer if access is not None else None)
        record, created = SentEmail.objects.select_for_update().get_or_create(
            key=key,
            defaults={
                "kind": kind,
                "access": access,
                "buyer": buyer,
                "to": to,
                "subject": subject,
            },
        )
        if not created:
            return False
        contacts = get_shop_contacts()
        context = {
            **context,
            "contacts": contacts if contacts.pk else None,
            "shop_name": contacts.name or settings.SHOP_NAME,
            "subject": subject,
            # Every buyer e-mail can link to the buyer's self-service page (made now, so it
            # lasts its whole lifetime from this e-mail on).
            "self_service_url": self_service_url(buyer) if buyer is not None else "",
            "self_service_link_days": link_lifetime().days,
        }
        # Kept as rendered, so staff read (and a resend sends) exactly what the buyer got.
        record.text_body = render_to_string(f"{template}.txt", context)
        record.html_body = render_to_string(f"{template}.html", context)
        record.save(update_fields=["text_body", "html_body"])
        _mail(record, reply_to=contacts.email)
    return True


def _mail(record: SentEmail, *, reply_to: str = "") -> None:
    message = EmailMultiAlternatives(
        subject=record.subject,
        body=record.text_body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[record.to],
        reply_to=[reply_to] if reply_to else None,
    )
    if record.html_body:
        message.attach_alternative(record.html_body, "text/html")
    message.send()


# --- Resending an e-mail as it was sent ----------------------------------------------------------

RESEND = "buyers.resend_email"


def queue_resend(*, email: SentEmail, resent_by=None) -> str:
    """Staff's "resend": in this transaction, write to the outbox a copy of `email` (the bodies
    as sent, to the same address), mailed once after the commit. Answers the copy's event key.
    Refused for an e-mail sent before bodies were kept (there is nothing as sent to repeat)."""
    if not email.has_bodies:
        raise errors.EmailNotResendable()
    key = f"resend:{email.pk}:{uuid.uuid4().hex[:12]}"
    outbox.enqueue(
        RESEND,
        {"email_id": email.pk, "key": key, "resent_by": getattr(resent_by, "pk", None)},
        key=key,
    )
    return key


def send_copy(email_id: int, key: str, resent_by: int | None = None) -> bool:
    """Mail the copy of e-mail `email_id` named `key` unless it was mailed; True when now."""
    original = SentEmail.objects.filter(pk=email_id).first()
    if original is None or not original.has_bodies:
        return False
    with transaction.atomic():
        copy, created = SentEmail.objects.select_for_update().get_or_create(
            key=key,
            defaults={
                "kind": original.kind,
                "access_id": original.access_id,
                "buyer_id": original.buyer_id,
                "to": original.to,
                "subject": original.subject,
                "text_body": original.text_body,
                "html_body": original.html_body,
                "resent_from": original,
                "resent_by_id": resent_by,
            },
        )
        if not created:
            return False
        _mail(copy, reply_to=get_shop_contacts().email)
    return True


def _send_once(*, key: str, kind: str, access: Access, template: str, subject: str) -> bool:
    return send_once(
        key=key,
        kind=kind,
        to=access.buyer.email,
        subject=subject,
        template=f"buyers/email/{template}",
        context={
            "access": access,
            "buyer": access.buyer,
            "subscription": access.subscription,
            "link": access.email_link,
        },
        access=access,
    )


def _load(access_id: int) -> Access | None:
    return Access.objects.select_related("buyer", "subscription").filter(pk=access_id).first()


def _send_to_live_access(access_id: int, *, key: str, kind, template: str, subject: str) -> bool:
    """An e-mail about a live access (not revoked), as the access is now, once per key;
    `subject` names the subscription as `{subscription}`."""
    access = _load(access_id)
    if access is None or access.revoked_at is not None:
        return False
    return _send_once(
        key=key,
        kind=kind,
        access=access,
        template=template,
        subject=subject.format(subscription=access.subscription.name),
    )


def send_access_granted_email(access_id: int) -> bool:
    """E-mail the buyer the access password and link, once per access."""
    return _send_to_live_access(
        access_id,
        key=f"access_granted:{access_id}",
        kind=SentEmail.Kind.ACCESS_GRANTED,
        template="access_granted",
        subject=gettext("Your access to {subscription}"),
    )


def send_access_email_again(access_id: int, event: str) -> bool:
    """E-mail the buyer the access password and link again (a bulk re-send), once per event, in
    the buyer's language like the first."""
    return _send_to_live_access(
        access_id,
        key=f"access_again:{access_id}:{event}",
        kind=SentEmail.Kind.ACCESS_GRANTED,
        template="access_granted",
        subject=gettext("Your access to {subscription}"),
    )


def send_access_revoked_email(access_id: int) -> bool:
    """Tell the buyer their access was revoked, once per access."""
    access = _load(access_id)
    if access is None or access.revoked_at is None:
        return False
    return _send_once(
        key=f"access_revoked:{access.pk}",
        kind=SentEmail.Kind.ACCESS_REVOKED,
        access=access,
        template="access_revoked",
        subject=gettext("Your access to {subscription} has ended").format(
            subscription=access.subscription.name
        ),
    )


def send_access_password_email(access_id: int, event: str) -> bool:
    """E-mail the buyer their access's new password, once per password."""
    return _send_to_live_access(
        access_id,
        key=f"password_reset:{access_id}:{event}",
        kind=SentEmail.Kind.PASSWORD_RESET,
        template="access_password",
        subject=gettext("Your new access password for {subscription}"),
    )


def send_access_changed_email(access_id: int, event: str) -> bool:
    """Tell the buyer their access's dates, limit or link as staff changed them, once per
    change (the access as it is when the e-mail is sent)."""
    return _send_to_live_access(
        access_id,
        key=f"access_changed:{access_id}:{event}",
        kind=SentEmail.Kind.ACCESS_CHANGED,
        template="access_changed",
        subject=gettext("Your access to {subscription} has changed"),
    )


def send_access_expiring_email(access_id: int) -> bool:
    """Remind the buyer that their access expires soon, once per access."""
    access = _load(access_id)
    now = timezone.now()
    if (
        access is None
        or access.revoked_at is not None
        or access.access_expire is None
        or access.access_expire <= now
    ):
        return False
    return _send_once(
        key=f"access_expiring:{access.pk}",
        kind=SentEmail.Kind.ACCESS_EXPIRING,
        access=access,
        template="access_expiring",
        subject=gettext("Your access to {subscription} expires soon").format(
            subscription=access.subscription.name
        ),
    )


def accesses_expiring_soon(*, now=None, days: int | None = None):
    """Ids of live accesses expiring within `days` whose buyer has an e-mail and was not yet
    reminded."""
    now = now or timezone.now()
    days = expiry_notice_days() if days is None else days
    reminded = SentEmail.objects.filter(kind=SentEmail.Kind.ACCESS_EXPIRING).values("access_id")
    return (
        Access.objects.filter(
            revoked_at__isnull=True,
            access_expire__gt=now,
            access_expire__lte=now + timedelta(days=days),
        )
        .exclude(buyer__email="")
        .exclude(pk__in=reminded)
        # An access a live recurring contract renews does not "expire soon": the renewal
        # reminder speaks for it; nor does a paused one's (the pause e-mail said when it ends).
        .exclude(
            contracts__status__in=["active", "past_due", "paused"],
            contracts__cancel_at_period_end=False,
        )
        .values_list("pk", flat=True)
    )


# The outbox kinds this app delivers (registered in BuyersConfig.ready()).
OUTBOX_HANDLERS = {
    ACCESS_GRANTED: lambda payload: send_access_granted_email(payload["access_id"]),
    ACCESS_REVOKED: lambda payload: send_access_revoked_email(payload["access_id"]),
    ACCESS_EMAIL_AGAIN: lambda payload: send_access_email_again(
        payload["access_id"], payload["event"]
    ),
    ACCESS_EXPIRING: lambda payload: send_access_expiring_email(payload["access_id"]),
    ACCESS_CHANGED: lambda payload: send_access_changed_email(
        payload["access_id"], payload["event"]
    ),
    NEW_ACCESS_HASH: lambda payload: send_access_password_email(
        payload["access_id"], payload["event"]
    ),
    SELF_SERVICE_LINK: lambda payload: send_self_service_link_email(
        payload["buyer_id"], payload["key"]
    ),
    RESEND: lambda payload: send_copy(payload["email_id"], payload["key"], payload["resent_by"]),
}
