"""Every write to buyers, accesses and e-wallets, with its rules: pages, the admin, tasks and
(later) the API and the purchases app call these.

Each function takes keyword arguments, runs in one transaction and returns what it wrote, or raises
a `BuyerError` (see errors.py) before anything is written. Rows that concurrent requests could
both change (a buyer's wallet and PIN counter, an access's activations, a subscription's stock)
are locked with SELECT ... FOR UPDATE first, so the rules hold under concurrency on PostgreSQL.
"""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from core import audit, events
from core.errors import Refusals
from core.money import (
    currency_codes,
    format_amount,
    has_more_digits_than_currency,
    minor_digits,
    quantize,
)
from core.text import has_control_character
from subscriptions.models import Subscription
from subscriptions.services import shop_datetime

from . import errors
from .models import (
    ACCESS_HASH_MAX_LENGTH,
    Access,
    Buyer,
    BuyerNote,
    WalletBalance,
    WalletEntry,
    default_buyer_language,
    new_access_password,
    phone_key,
    phone_key_of,
)
from .selectors import live_access_q
from .signals import wallet_entry_posted

# Omitted keyword arguments: "take the default", as opposed to an explicit None ("no limit").
UNSET = object()

PHONE_PATTERN = re.compile(r"^\+?[0-9 ()./-]{5,40}$")
PIN_PATTERN = re.compile(r"^[0-9]{4,8}$")
_validate_url = URLValidator(schemes=["http", "https"])


# --- Buyers -------------------------------------------------------------------------------------


def normalise_email(email: str | None) -> str:
    return (email or "").strip()


def normalise_phone(phone: str | None) -> str:
    return " ".join((phone or "").split())


def _canonical_buyers():
    """Buyers a contact finds: not the later copies of a phone shared before phones were unique."""
    return Buyer.objects.filter(duplicate_of__isnull=True)


def _with_phone(phone: str):
    return (
        _canonical_buyers()
        .alias(phone_key=phone_key())
        .filter(phone_key=phone_key_of(phone))
        .exclude(phone="")
    )


def find_buyer(*, email: str = "", phone: str = "") -> Buyer | None:
    """The buyer with this e-mail (any letter case), else with this phone (whatever separators
    it is typed with), or None."""
    email, phone = normalise_email(email), normalise_phone(phone)
    if email:
        return _canonical_buyers().filter(email__iexact=email).first()
    if phone:
        return _with_phone(phone).first()
    return None


def check_language(language: str) -> None:
    """Refuse a buyer language the shop does not write e-mails in (empty means the default)."""
    if language and language not in dict(settings.LANGUAGES):
        raise errors.InvalidLanguage()


def check_buyer_fields(
    *, email: str, phone: str, name: str, language: str = "", exclude_pk=None, taken=None
) -> None:
    """Raise every rule a buyer with these contacts breaks, all at once (shared with the CSV
    import, which passes the contacts already `taken`, looked up for many rows at once:
    imports.TakenContacts)."""
    refusals = Refusals(errors.BuyerRefusals)
    with refusals.collecting():
        check_language(language)
    # A form refuses NUL itself; the CSV import and the API come here with raw text, which
    # PostgreSQL cannot store. Other control characters would break the e-mails' headers.
    for name_of_field, value in (("email", email), ("phone", phone), ("name", name)):
        if "\x00" in value:
            refusals.add(errors.NullCharacter(field=name_of_field))
        elif has_control_character(value):
            refusals.add(errors.ControlCharacter(field=name_of_field))
    if not email and not phone:
        refusals.add(errors.EmailOrPhoneRequired())
    if email and not refusals.has("email"):
        if len(email) > Buyer._meta.get_field("email").max_length:
            refusals.add(errors.FieldTooLong(field="email"))
        else:
            try:
                validate_email(email)
            except ValidationError:
                refusals.add(errors.InvalidEmail())
            else:
                if taken is not None:
                    email_taken = email.lower() in taken.emails
                else:
                    others = Buyer.objects.filter(email__iexact=email)
                    if exclude_pk is not None:
                        others = others.exclude(pk=exclude_pk)
                    email_taken = others.exists()
                if email_taken:
                    refusals.add(errors.EmailTaken())
    if phone and not refusals.has("phone"):
        if not PHONE_PATTERN.match(phone):
            refusals.add(errors.InvalidPhone())
        else:
            if taken is not None:
                phone_taken = phone_key_of(phone) in taken.phones
            else:
                others = _with_phone(phone)
                if exclude_pk is not None:
                    others = others.exclude(pk=exclude_pk)
                phone_taken = others.exists()
            if phone_taken:
                refusals.add(errors.PhoneTaken())
    if len(name) > Buyer._meta.get_field("name").max_length:
        refusals.add(errors.FieldTooLong(field="name"))
    refusals.raise_any()


def _contact_taken(email: str, phone: str, exclude_pk=None) -> errors.BuyerError:
    """Which contact a unique constraint refused (someone wrote it since the check)."""
    if email:
        taken = Buyer.objects.filter(email__iexact=email)
        if exclude_pk is not None:
            taken = taken.exclude(pk=exclude_pk)
        if taken.exists():
            return errors.EmailTaken()
    return errors.PhoneTaken()


@transaction.atomic
def create_buyer(*, email: str = "", phone: str = "", name: str = "", language: str = "") -> Buyer:
    """A new buyer; an e-mail or a phone is required, and an e-mail or a phone belongs to one
    buyer only (the database's unique indexes keep it so under concurrency). `language` (of
    their e-mails) defaults to the shop's."""
    email, phone, name = normalise_email(email), normalise_phone(phone), (name or "").strip()
    check_buyer_fields(email=email, phone=phone, name=name, language=language)
    try:
        with transaction.atomic():
            buyer = Buyer.objects.create(
                email=email,
                phone=phone,
                name=name,
                language=language or default_buyer_language(),
            )
    except IntegrityError:  # the same e-mail or phone written by someone else since the check
        raise _contact_taken(email, phone) from None
    audit.record("created", buyer)
    events.publish("buyer.created", buyer)
    return buyer


def get_or_create_buyer(
    *, email: str = "", phone: str = "", name: str = "", language: str = ""
) -> tuple[Buyer, bool]:
    """The buyer with this e-mail (else this phone), created if there is none; True when created.

    Two requests for one new buyer at once make one buyer: the loser's insert meets the
    winner's unique index, waits for its commit, and reads the winner's row back. A phone that
    belongs to a buyer with another e-mail is refused (PhoneTaken), as in `create_buyer`."""
    email, phone = normalise_email(email), normalise_phone(phone)
    check_language(language)  # refused even when the buyer exists: bad input is never ignored
    found = find_buyer(email=email, phone=phone)
    if found is not None:
        return found, False
    try:
        with transaction.atomic():
            return create_buyer(email=email, phone=phone, name=name, language=language), True
    except errors.BuyerError as refusal:
        taken = (errors.EmailTaken, errors.PhoneTaken)
        if not all(isinstance(single, taken) for single in refusal.each()):
            raise
        found = find_buyer(email=email, phone=phone)
        if found is not None:
            return found, False
        raise refusal from None


@transaction.atomic
def update_buyer(
    *, buyer: Buyer, email: str = "", phone: str = "", name: str = "", language: str = ""
) -> Buyer:
    """Change a buyer's contacts, name and language (kept when not given) under the same rules
    as `create_buyer`."""
    email, phone, name = normalise_email(email), normalise_phone(phone), (name or "").strip()
    check_buyer_fields(email=email, phone=phone, name=name, language=language, exclude_pk=buyer.pk)
    buyer = Buyer.objects.select_for_update().get(pk=buyer.pk)
    before = audit.snapshot(buyer, ("email", "phone", "name"))
    buyer.email, buyer.phone, buyer.name = email, phone, name
    buyer.language = language or buyer.language
    try:
        with transaction.atomic():
            buyer.save(update_fields=["email", "phone", "name", "language"])
    except IntegrityError:  # the same e-mail or phone written by someone else since the check
        raise _contact_taken(email, phone, exclude_pk=buyer.pk) from None
    audit.record("changed", buyer, before=before)
    events.publish("buyer.updated", buyer)
    return buyer


# --- Purchase PIN -------------------------------------------------------------------------------


def pin_failure_limit() -> int:
    return settings.PURCHASE_PIN_FAILURE_LIMIT


@transaction.atomic
def set_purchase_pin(*, buyer: Buyer, pin: str) -> Buyer:
    """Set or reset the buyer's purchase PIN (stored hashed) and unlock it."""
    pin = (pin or "").strip()
    if not PIN_PATTERN.match(pin):
        raise errors.InvalidPin()
    buyer = Buyer.objects.select_for_update().get(pk=buyer.pk)
    before = audit.snapshot(buyer, ("pin_hash", "pin_failed_attempts", "pin_locked_at"))
    buyer.pin_hash = make_password(pin)
    buyer.pin_failed_attempts = 0
    buyer.pin_locked_at = None
    buyer.save(update_fields=["pin_hash", "pin_failed_attempts", "pin_locked_at"])
    audit.record("set purchase PIN", buyer, before=before)
    return buyer


def verify_purchase_pin(*, buyer: Buyer, pin: str) -> None:
    """Return when `pin` is the buyer's purchase PIN; else count the failure and raise
    UserPurchasePinValueNoMatch, or PurchasePinLocked once the failures reach the limit.

    A right PIN clears the count. The count is committed even though the call raises, provided
    the caller is not inside its own transaction: call it before opening one, or a rolled-back
    caller un-counts the wrong PIN (and a brute force never locks)."""
    refusal = None
    with transaction.atomic():
        locked = Buyer.objects.select_for_update().get(pk=buyer.pk)
        if locked.pin_locked_at is not None:
            refusal = errors.PurchasePinLocked()
        elif not pin or not locked.pin_hash:
            refusal = errors.UserPurchasePinValueNoMatch()
        elif check_password(str(pin), locked.pin_hash):
            if locked.pin_failed_attempts:
                locked.pin_failed_attempts = 0
                locked.save(update_fields=["pin_failed_attempts"])
        else:
            locked.pin_failed_attempts += 1
            refusal = errors.UserPurchasePinValueNoMatch()
            if locked.pin_failed_attempts >= pin_failure_limit():
                locked.pin_locked_at = timezone.now()
                refusal = errors.PurchasePinLocked()
            locked.save(update_fields=["pin_failed_attempts", "pin_locked_at"])
    buyer.pin_failed_attempts = locked.pin_failed_attempts
    buyer.pin_locked_at = locked.pin_locked_at
    if refusal is not None:
        raise refusal


# --- Accesses -----------------------------------------------------------------------------------


def _as_datetime(value, *, end_of_day: bool) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, (date, datetime)):
        return shop_datetime(value, end_of_day=end_of_day)
    raise TypeError(f"expected a date or datetime, got {type(value).__name__}")


def _check_activation_limit(value) -> None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise errors.InvalidActivationLimit()


def _check_custom_url(value: str) -> str:
    value = (value or "").strip()
    if value:
        try:
            _validate_url(value)
        except ValidationError:
            raise errors.InvalidUrl() from None
    return value


def default_access_window(
    subscription: Subscription, *, start: datetime | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """Start and expiry from the subscription: its access window, else `start` + its period."""
    start = start or subscription.access_start or now
    if subscription.access_expire is not None:
        return start, subscription.access_expire
    if subscription.period:
        try:
            return start, start + timedelta(days=subscription.period)
        except OverflowError:
            raise errors.AccessWindowOutOfRange() from None
    return start, None


def _resolve_buyer(*, buyer, email, phone, name, language="") -> Buyer:
    if buyer is not None:
        check_language(language)
        return buyer
    email, phone = normalise_email(email), normalise_phone(phone)
    if not email and not phone:
        raise errors.BuyerNotFound()
    buyer, _ = get_or_create_buyer(email=email, phone=phone, name=name, language=language)
    return buyer


def check_access_password(value: str) -> str:
    """An access password an API client chose: 1 to ACCESS_HASH_MAX_LENGTH printable characters
    (letters, digits, punctuation such as `|` and `:`, inner spaces), kept as given."""
    if not value or not value.isprintable() or value != value.strip():
        raise errors.InvalidAccessPassword()
    if len(value) > ACCESS_HASH_MAX_LENGTH:
        raise errors.InvalidAccessPassword(
            f"An access password has {ACCESS_HASH_MAX_LENGTH} characters at most."
        )
    return value


class GrantOutcome(StrEnum):
    """What `grant_access` did: answered in `Access.grant_outcome` of the access it returns."""

    CREATED = "created"  # a new access
    EXTENDED = "extended"  # the buyer's live access, its end or activation limit raised
    KEPT = "kept"  # the live access (or the one with the chosen password) as it was


def _later_end(current: datetime | None, wanted: datetime | None) -> datetime | None:
    if current is None or wanted is None:
        return None  # no end outlasts every end
    return max(current, wanted)


def _higher_limit(current: int | None, wanted: int | None) -> int | None:
    if current is None or wanted is None:
        return None  # no limit is the highest
    return max(current, wanted)


def _extend(access: Access, *, expire, activation_limit) -> Access:
    """Raise the live access's end and activation limit to this grant's, never lower them."""
    end, limit = (
        _later_end(access.access_expire, expire),
        _higher_limit(access.activation_limit, activation_limit),
    )
    access.grant_outcome = GrantOutcome.KEPT
    if (end, limit) != (access.access_expire, access.activation_limit):
        before = audit.snapshot(access, ("access_expire", "activation_limit"))
        access.access_expire, access.activation_limit = end, limit
        access.save(update_fields=["access_expire", "activation_limit"])
        audit.record("extended", access, before=before)
        access.grant_outcome = GrantOutcome.EXTENDED
    return access


@transaction.atomic
def grant_access(
    *,
    subscription: Subscription,
    buyer: Buyer | None = None,
    email: str = "",
    phone: str = "",
    name: str = "",
    language: str = "",
    access_password: str = "",
    activation_limit=UNSET,
    access_start: date | datetime | None = None,
    access_expire: date | datetime | None = None,
    custom_url: str = "",
    use_subscription_custom_url: bool = False,
    notify: bool = False,
    granted_by=None,
    purchased_at: datetime | None = None,
) -> Access:
    """Grant `buyer` (or the buyer with this e-mail/phone, created if new) access to
    `subscription` (reference 004 `addbuyer`): refused on an archived subscription or beyond its
    stock. Limits and dates default from the subscription. With `notify`, the buyer is e-mailed
    the access password after the transaction commits.

    Granting twice never makes a second live access, so a client may call it on every page view
    and retry it: with `access_password` (a client's choice) the access holding that password
    is answered as it is (a revoked one is refused), else one is created with it; without, the
    buyer's live access is answered, and an `access_expire` or `activation_limit` given here
    that reaches further than the access's raises it (defaults from the subscription change
    nothing, so a repeated grant is answered the same). The access answered says which in
    `grant_outcome` (GrantOutcome); only a new access takes stock and is e-mailed."""
    now = timezone.now()
    # Locking the subscription serialises grants, so two at once cannot both take the last stock,
    # nor both create the same buyer's access or the same password.
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.archived_at is not None:
        raise errors.SubscriptionArchived()
    if access_password:
        access_password = check_access_password(access_password)
        chosen = (
            Access.objects.select_related("buyer", "subscription")
            .filter(subscription=subscription, hash=access_password)
            .first()
        )
        if chosen is not None:
            if chosen.revoked_at is not None:
                raise errors.AccessRevoked(
                    "This access password was revoked: it opens nothing again; choose another.",
                    field="hash",
                )
            chosen.grant_outcome = GrantOutcome.KEPT
            return chosen
    limit_given = activation_limit is not UNSET
    if not limit_given:
        activation_limit = subscription.activation
    _check_activation_limit(activation_limit)
    custom_url = _check_custom_url(custom_url)
    start = _as_datetime(access_start, end_of_day=False)
    expire = _as_datetime(access_expire, end_of_day=True)
    expire_given = expire is not None
    start = start or subscription.access_start or now
    if expire is None:
        # Only a window without its own expiry needs the period added (which may overflow).
        start, expire = default_access_window(subscription, start=start, now=now)
    if start and expire and start >= expire:
        raise errors.AccessStartNotBeforeExpire()
    buyer = _resolve_buyer(buyer=buyer, email=email, phone=phone, name=name, language=language)
    if notify and not buyer.email:
        raise errors.NotifyNeedsEmail()
    if not access_password:
        live = (
            Access.objects.select_for_update()
            .select_related("buyer", "subscription")
            .filter(live_access_q(now), buyer=buyer, subscription=subscription)
            .order_by("purchased_at", "pk")
            .first()
        )
        if live is not None:
            return _extend(
                live,
                expire=expire if expire_given else live.access_expire,
                activation_limit=activation_limit if limit_given else live.activation_limit,
            )
    if subscription.stock is not None:
        granted = subscription.accesses.filter(revoked_at__isnull=True).count()
        if granted >= subscription.stock:
            raise errors.SubscriptionOutOfStock()
    access = Access.objects.create(
        buyer=buyer,
        subscription=subscription,
        hash=access_password or new_access_password(),
        activation_limit=activation_limit,
        access_start=start,
        access_expire=expire,
        purchased_at=purchased_at or now,
        granted_by=granted_by,
        custom_url=custom_url,
        use_subscription_custom_url=bool(use_subscription_custom_url),
    )
    access.grant_outcome = GrantOutcome.CREATED
    audit.record("granted", access)
    if notify:
        from .notifications import queue_access_granted_email

        queue_access_granted_email(access)
    events.publish("access.granted", access)
    return access


@transaction.atomic
def update_access(
    *,
    access: Access,
    activation_limit=UNSET,
    access_start=UNSET,
    access_expire=UNSET,
    custom_url=UNSET,
    use_subscription_custom_url=UNSET,
    name=UNSET,
    notify: bool = False,
) -> Access:
    """Change an access's dates, activation limit or e-mail link, and the buyer's name (reference
    004 `updatebuyer`). A revoked access stays as it was; the limit never drops below the
    activations used. With `notify`, the buyer is e-mailed the access as it now is, after the
    transaction commits."""
    access = Access.objects.select_for_update().select_related("buyer").get(pk=access.pk)
    if access.revoked_at is not None:
        raise errors.AccessRevoked()
    if notify and not access.buyer.email:
        raise errors.NotifyNeedsEmail()
    before = audit.snapshot(access)
    if name is not UNSET:
        buyer = access.buyer
        update_buyer(buyer=buyer, email=buyer.email, phone=buyer.phone, name=name)
    if activation_limit is not UNSET:
        _check_activation_limit(activation_limit)
        if activation_limit is not None and activation_limit < access.activations_used:
            raise errors.ActivationLimitBelowUsed(
                f"{access.activations_used} activations are already used: the limit cannot be "
                "lower.",
            )
        access.activation_limit = activation_limit
    if access_start is not UNSET:
        access.access_start = _as_datetime(access_start, end_of_day=False)
    if access_expire is not UNSET:
        access.access_expire = _as_datetime(access_expire, end_of_day=True)
    if access.access_start and access.access_expire and access.access_start >= access.access_expire:
        raise errors.AccessStartNotBeforeExpire()
    if custom_url is not UNSET:
        access.custom_url = _check_custom_url(custom_url)
    if use_subscription_custom_url is not UNSET:
        access.use_subscription_custom_url = bool(use_subscription_custom_url)
    access.save()
    audit.record("changed", access, before=before)
    events.publish("access.changed", access)
    if notify:
        from .notifications import queue_access_changed_email

        queue_access_changed_email(access)
    return access


@transaction.atomic
def reset_access_password(*, access: Access, notify: bool = False) -> Access:
    """Give an access a new random password (`hash`): the old one stops working at once. A
    revoked access keeps its old one. With `notify`, the buyer is e-mailed the new password after
    the transaction commits."""
    access = Access.objects.select_for_update().select_related("buyer").get(pk=access.pk)
    if access.revoked_at is not None:
        raise errors.AccessRevoked()
    if notify and not access.buyer.email:
        raise errors.NotifyNeedsEmail()
    while True:  # 2**60 passwords: a clash with another access is as good as impossible
        password = new_access_password()
        if not Access.objects.filter(hash=password).exists():
            break
    before = audit.snapshot(access, ("hash",))
    access.hash = password
    access.save(update_fields=["hash"])
    audit.record("reset password", access, before=before)
    if notify:
        from .notifications import queue_access_password_email

        queue_access_password_email(access)
    return access


@transaction.atomic
def revoke_access(*, access: Access, revoked_by=None, notify: bool = False) -> Access:
    """Revoke an access (reference 004 `deletebuyer`): the row stays, marked with who and when.
    Revoking twice changes nothing. With `notify`, the buyer is e-mailed after commit."""
    access = Access.objects.select_for_update().select_related("buyer").get(pk=access.pk)
    if access.revoked_at is not None:
        return access
    if notify and not access.buyer.email:
        raise errors.NotifyNeedsEmail()
    before = audit.snapshot(access, ("revoked_at", "revoked_by"))
    access.revoked_at = timezone.now()
    access.revoked_by = revoked_by
    access.save(update_fields=["revoked_at", "revoked_by"])
    audit.record("revoked", access, before=before)
    if notify:
        from .notifications import queue_access_revoked_email

        queue_access_revoked_email(access)
    events.publish("access.revoked", access)
    return access


@transaction.atomic
def restore_access(*, access: Access) -> Access:
    """Give back a revoked access as it was (the undo of a revocation): its password, dates and
    activations unchanged. Refused when it is not revoked, when the subscription's stock is
    used up meanwhile, or when the buyer holds another live access to the subscription now."""
    access = (
        Access.objects.select_for_update().select_related("buyer", "subscription").get(pk=access.pk)
    )
    if access.revoked_at is None:
        raise errors.AccessNotRevoked()
    subscription = Subscription.objects.select_for_update().get(pk=access.subscription_id)
    if subscription.stock is not None:
        granted = subscription.accesses.filter(revoked_at__isnull=True).count()
        if granted >= subscription.stock:
            raise errors.SubscriptionOutOfStock()
    now = timezone.now()
    other = (
        Access.objects.filter(live_access_q(now), buyer=access.buyer_id, subscription=subscription)
        .exclude(pk=access.pk)
        .first()
    )
    if other is not None and (access.access_expire is None or access.access_expire > now):
        raise errors.AccessRestoreConflict(
            gettext("The buyer has another live access to this subscription now (%(code)s).")
            % {"code": other.code}
        )
    before = audit.snapshot(access, ("revoked_at", "revoked_by"))
    access.revoked_at = None
    access.revoked_by = None
    access.save(update_fields=["revoked_at", "revoked_by"])
    audit.record("restored", access, before=before)
    events.publish("access.changed", access)
    return access


def resend_access_email(*, access: Access, event: str) -> None:
    """Write the access e-mail (password and link, as the access is now) to the outbox again,
    in the caller's transaction; mailed once per `event` after the commit. Refused for a
    revoked access or a buyer without an e-mail address."""
    if access.revoked_at is not None:
        raise errors.AccessRevoked()
    if not access.buyer.email:
        raise errors.NotifyNeedsEmail(gettext("This buyer has no e-mail address."))
    from .notifications import queue_access_email_again

    queue_access_email_again(access, event=event)


# The players' access check lives in access_check.py; its names stay importable from here.
from .access_check import (  # noqa: E402
    ACCESS_RULES,
    AccessCheck,
    AccessRefusal,
    AccessRule,
    check_access,
)

__all__ = ["ACCESS_RULES", "AccessCheck", "AccessRefusal", "AccessRule", "check_access"]


# --- E-wallet -----------------------------------------------------------------------------------


# What a ledger amount or balance column holds (14 digits, 4 of them decimals).
WALLET_LIMIT = Decimal(10) ** (14 - 4)


def _check_amount(amount, currency: str) -> Decimal:
    if currency not in currency_codes():
        raise errors.InvalidCurrency()
    try:
        amount = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise errors.InvalidAmount() from None
    if not amount.is_finite() or amount == 0:
        raise errors.InvalidAmount()
    if has_more_digits_than_currency(amount, currency):
        digits = minor_digits(currency)
        raise errors.AmountTooPrecise(
            f"{currency} amounts have {digits} decimal place{'s' if digits != 1 else ''} at most."
        )
    if abs(amount) >= WALLET_LIMIT:
        raise errors.InvalidAmount("This amount is too large.")
    return amount


def _check_reason(reason: str) -> None:
    if has_control_character(reason or ""):
        raise errors.ControlCharacter(field="reason")
    if len((reason or "").strip()) > WalletEntry._meta.get_field("reason").max_length:
        raise errors.FieldTooLong(field="reason")


def _post_wallet_entry(
    *,
    buyer: Buyer,
    kind: str,
    amount: Decimal,
    currency: str,
    reason="",
    reference="",
    by=None,
    links=None,
) -> WalletEntry:
    # The buyer row is the wallet's lock: concurrent postings to one wallet queue here, so each
    # reads the balance the previous one wrote. The CHECK constraints refuse a negative balance
    # even if some code skipped this lock.
    Buyer.objects.select_for_update().only("pk").get(pk=buyer.pk)
    balance, _ = WalletBalance.objects.get_or_create(buyer_id=buyer.pk, currency=currency)
    new_balance = balance.balance + amount
    if new_balance >= WALLET_LIMIT:
        raise errors.InvalidAmount(
            f"The e-wallet holds {quantize(balance.balance, currency)} {currency}: with this "
            f"amount it would pass the most it can hold ({quantize(WALLET_LIMIT - 1, currency)} "
            f"{currency})."
        )
    if new_balance < 0:
        raise errors.InsufficientBalance(
            f"The e-wallet holds {quantize(balance.balance, currency)} {currency}: "
            f"not enough for {quantize(abs(amount), currency)} {currency}."
        )
    balance.balance = Decimal(new_balance)
    balance.save(update_fields=["balance", "updated_at"])
    entry = WalletEntry.objects.create(
        buyer_id=buyer.pk,
        kind=kind,
        amount=amount,
        currency=currency,
        balance_after=new_balance,
        reason=(reason or "").strip(),
        reference=reference,
        created_by=by,
    )
    shown = [format_amount(value, currency) for value in (new_balance - amount, new_balance)]
    audit.record(f"wallet {kind}", buyer, changes={"balance": shown}, reason=reason)
    # Booked in the money journal by its receiver, in this transaction (buyers/signals.py).
    wallet_entry_posted.send(sender=WalletEntry, entry=entry, links=links or {})
    return entry


def _check_within_limit(amount: Decimal, currency: str, by) -> None:
    """Staff change an e-wallet by hand up to WALLET_ADJUSTMENT_LIMIT (the currency's own, else
    the one for every currency) a time; more needs the Finance role."""
    limits = settings.WALLET_ADJUSTMENT_LIMIT
    limit = limits.get(currency, limits.get("*"))
    if (
        limit is not None
        and by is not None
        and abs(amount) > limit
        and not by.has_perm(ABOVE_LIMIT_PERMISSION)
    ):
        raise errors.AmountAboveLimit(
            f"More than {limit} {currency} at a time needs the Finance role: ask finance to "
            "make this change."
        )


ABOVE_LIMIT_PERMISSION = "buyers.adjust_wallet_above_limit"


@transaction.atomic
def top_up_wallet(
    *, buyer: Buyer, amount, currency: str, created_by=None, reason: str = ""
) -> WalletEntry:
    """Add money to the buyer's e-wallet (by staff: within WALLET_ADJUSTMENT_LIMIT unless they
    hold the Finance role)."""
    amount = _check_amount(amount, currency)
    if amount < 0:
        raise errors.InvalidAmount()
    _check_within_limit(amount, currency, created_by)
    _check_reason(reason)
    return _post_wallet_entry(
        buyer=buyer,
        kind=WalletEntry.Kind.TOP_UP,
        amount=amount,
        currency=currency,
        reason=reason,
        by=created_by,
    )


@transaction.atomic
def adjust_wallet(*, buyer: Buyer, amount, currency: str, reason: str, created_by) -> WalletEntry:
    """A manual correction by staff, up or down, with a reason; never below zero; within
    WALLET_ADJUSTMENT_LIMIT unless `created_by` holds the Finance role."""
    amount = _check_amount(amount, currency)
    if not (reason or "").strip():
        raise errors.ReasonRequired()
    _check_within_limit(amount, currency, created_by)
    _check_reason(reason)
    return _post_wallet_entry(
        buyer=buyer,
        kind=WalletEntry.Kind.ADJUSTMENT,
        amount=amount,
        currency=currency,
        reason=reason,
        by=created_by,
    )


@transaction.atomic
def debit_wallet(
    *, buyer: Buyer, amount, currency: str, reference: str = "", links=None
) -> WalletEntry:
    """Pay for a purchase from the e-wallet; InsufficientBalance when it holds too little.
    `links` (what the payment belongs to) goes to the wallet_entry_posted signal."""
    amount = _check_amount(amount, currency)
    if amount < 0:
        raise errors.InvalidAmount()
    return _post_wallet_entry(
        buyer=buyer,
        kind=WalletEntry.Kind.PURCHASE,
        amount=-amount,
        currency=currency,
        reference=reference,
        links=links,
    )


@transaction.atomic
def refund_to_wallet(
    *, buyer: Buyer, amount, currency: str, reference: str = "", links=None, by=None
) -> WalletEntry:
    """Credit a refund to the e-wallet (`by`: the staff member refunding; `links` as for
    `debit_wallet`)."""
    amount = _check_amount(amount, currency)
    if amount < 0:
        raise errors.InvalidAmount()
    return _post_wallet_entry(
        buyer=buyer,
        kind=WalletEntry.Kind.REFUND,
        amount=amount,
        currency=currency,
        reference=reference,
        by=by,
        links=links,
    )


# --- Staff notes --------------------------------------------------------------------------------

NOTE_MAX_LENGTH = 2000


def add_buyer_note(*, buyer: Buyer, text: str, written_by=None) -> BuyerNote:
    """Write a staff note on the buyer's timeline (notes are never edited or deleted)."""
    text = (text or "").strip()
    if not text:
        raise errors.InvalidNote("Write the note.")
    if len(text) > NOTE_MAX_LENGTH:
        raise errors.InvalidNote(f"A note has {NOTE_MAX_LENGTH} characters at most.")
    if has_control_character(text, multiline=True):
        raise errors.InvalidNote("A note cannot contain control characters.")
    return BuyerNote.objects.create(buyer=buyer, text=text, written_by=written_by)
