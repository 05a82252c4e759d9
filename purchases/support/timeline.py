"""A buyer's timeline: every event of one buyer, newest first, from the rows that record it
(nothing is copied into a log of its own): purchases with their payment outcome, accesses
granted and revoked, device activations, renewal charges and declines, cancellations, refunds,
e-wallet movements, coupons used, e-mails sent and staff notes.

One page is one query: a UNION ALL of a select per kind, each filtered to the buyer and to the
rows after the page's key, ordered by (time, kind, id) descending and limited (inside each
select too where the database allows it, so each reads only a page from its index); then the
page's rows are loaded, one query per kind shown. The key of the last row is the next page's
`after`: paging stays as fast at the 10,000th event as at the first."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from django.db import connection
from django.db.models import BooleanField, CharField, F, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_aware, make_aware
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from buyers.models import Access, AccessActivation, Buyer, BuyerNote, SentEmail, WalletEntry
from core.money import quantize
from core.roles import MONEY_REPORTS

from ..gateways import payment_type_label
from ..models import (
    Cancellation,
    ContractChange,
    ContractPause,
    ContractTransaction,
    Purchase,
    RecurringContract,
    Refund,
)

PAGE_SIZE = 50


def _money(amount, currency) -> str:
    return f"{quantize(amount, currency)} {currency}"


@dataclass
class Event:
    at: datetime
    kind: str
    pk: int
    label: str
    title: str
    detail: str = ""
    link: str = ""
    tone: str = "secondary"

    @property
    def key(self) -> str:
        return f"{self.at.isoformat()}|{self.kind}|{self.pk}"


@dataclass(frozen=True)
class EventKind:
    """One kind of event: its rows of a buyer, their time, and how one reads."""

    name: str  # stable: it orders events of the same instant and names the kind in URLs
    label: str
    permission: str
    rows: Callable[[Buyer], QuerySet]
    time: str
    related: tuple[str, ...]
    describe: Callable[[object, bool], tuple[str, str, str, str]]  # title, detail, link, tone


def _owned_through(model, parent, fk: str, buyer: Buyer):
    """Rows of `model` whose `fk` row (a `parent`) is the buyer's. On PostgreSQL as
    `fk = ANY(ARRAY(SELECT id FROM parent WHERE buyer_id = …))`: the buyer's few parent ids are
    read first and each is looked up in the fk's index. As a join the planner reads the whole
    table instead (a parallel scan of 800k device activations at 1M purchases: 280 ms)."""
    rows = model.objects.all()
    if connection.vendor != "postgresql":
        return rows.filter(**{f"{fk}__buyer": buyer})
    # Only our models' table and column names go into the text; the buyer is a parameter.
    quote = connection.ops.quote_name
    column = f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(fk).column)}"
    parents = quote(parent._meta.db_table)
    where = f"{column} = ANY(ARRAY(SELECT id FROM {parents} WHERE buyer_id = %s))"  # noqa: S608
    return rows.filter(RawSQL(where, [buyer.pk], output_field=BooleanField()))  # noqa: S611


def _access_granted(access, money):
    title = (
        gettext("Access {code} to {subscription} granted by {user}").format(
            code=access.code,
            subscription=access.subscription.name,
            user=access.granted_by.username,
        )
        if access.granted_by_id
        else gettext("Access {code} to {subscription} granted by a purchase or import").format(
            code=access.code, subscription=access.subscription.name
        )
    )
    return (
        title,
        _window(access),
        reverse("accesses:detail", args=[access.code]),
        "success",
    )


def _window(access) -> str:
    parts = []
    if access.access_start:
        parts.append(gettext("from {when}").format(when=f"{access.access_start:%Y-%m-%d %H:%M}"))
    if access.access_expire:
        parts.append(gettext("until {when}").format(when=f"{access.access_expire:%Y-%m-%d %H:%M}"))
    if access.activation_limit is None:
        parts.append(gettext("{used} activations, no limit").format(used=access.activations_used))
    else:
        parts.append(
            gettext("activations {used} of {limit}").format(
                used=access.activations_used, limit=access.activation_limit
            )
        )
    return ", ".join(parts)


def _access_revoked(access, money):
    title = gettext("Access {code} to {subscription} revoked").format(
        code=access.code, subscription=access.subscription.name
    )
    if access.revoked_by_id:
        title = gettext("Access {code} to {subscription} revoked by {user}").format(
            code=access.code, subscription=access.subscription.name, user=access.revoked_by.username
        )
    return (
        title,
        "",
        reverse("accesses:detail", args=[access.code]),
        "danger",
    )


def _activation(activation, money):
    access = activation.access
    return (
        gettext("Device “{device}” activated access {code}").format(
            device=activation.device_id, code=access.code
        ),
        gettext("{subscription}, from {address}").format(
            subscription=access.subscription.name, address=activation.ip_address
        )
        if activation.ip_address
        else access.subscription.name,
        reverse("accesses:detail", args=[access.code]),
        "info",
    )


def _purchase(purchase, money):
    tone = {"completed": "success", "failed": "danger", "pending": "warning"}.get(
        purchase.status, "secondary"
    )
    outcome = purchase.get_status_display()
    if purchase.response_message:
        outcome += f": {purchase.response_message}"
    price = _money(purchase.amount, purchase.currency)
    return (
        gettext("Purchase {code} of {subscription}, {price} by {payment}").format(
            code=purchase.code,
            subscription=purchase.subscription.name,
            price=price,
            payment=payment_type_label(purchase.payment_type),
        ),
        outcome,
        reverse("purchases:detail", args=[purchase.code]),
        tone,
    )


def _coupon(purchase, money):
    return (
        gettext("Coupon {coupon} used on purchase {code}").format(
            coupon=purchase.coupon_code, code=purchase.code
        ),
        gettext("{amount} off {subscription}").format(
            amount=_money(purchase.discount, purchase.currency),
            subscription=purchase.subscription.name,
        ),
        reverse("purchases:detail", args=[purchase.code]),
        "info",
    )


def _renewal(tx, money):
    contract = tx.contract
    approved = tx.status == ContractTransaction.Status.APPROVED
    title = {
        "approved": gettext("Renewal of {subscription} charged: {amount}"),
        "declined": gettext("Renewal of {subscription} declined: {amount}"),
        "pending": gettext("Renewal of {subscription} charging: {amount}"),
    }[tx.status]
    detail = gettext("Period {period}, attempt {attempt}").format(
        period=tx.period, attempt=tx.attempt
    )
    return (
        title.format(
            subscription=contract.subscription.name, amount=_money(tx.amount, tx.currency)
        ),
        f"{detail}: {tx.response_message}" if tx.response_message else detail,
        reverse("contracts:detail", args=[contract.code]),
        "success" if approved else ("danger" if tx.status == "declined" else "warning"),
    )


def _pause(pause, money):
    contract = pause.contract
    if pause.by_buyer:
        title = gettext("Subscription %(name)s paused by the buyer")
    else:
        title = gettext("Subscription %(name)s paused by %(who)s")
    who = pause.created_by.username if pause.created_by_id else gettext("staff")
    if pause.open_ended:
        detail = gettext("From %(start)s until resumed, at the latest %(end)s")
    else:
        detail = gettext("From %(start)s until %(end)s")
    dates = {"start": f"{pause.starts_at:%Y-%m-%d %H:%M}", "end": f"{pause.ends_at:%Y-%m-%d %H:%M}"}
    return (
        title % {"name": contract.subscription.name, "who": who},
        (detail % dates) + "; " + gettext("no charge and no access while paused"),
        reverse("contracts:detail", args=[contract.code]),
        "warning",
    )


def _resume(pause, money):
    contract = pause.contract
    if pause.resumed_automatically:
        title = gettext("Subscription %(name)s resumed at the pause's end")
    elif pause.resumed_by_buyer:
        title = gettext("Subscription %(name)s resumed by the buyer")
    else:
        title = gettext("Subscription %(name)s resumed by %(who)s")
    who = pause.resumed_by.username if pause.resumed_by_id else gettext("staff")
    bill = (
        gettext("Next bill %(date)s") % {"date": f"{pause.next_bill_after:%Y-%m-%d %H:%M}"}
        if pause.next_bill_after
        else ""
    )
    return (
        title % {"name": contract.subscription.name, "who": who},
        bill,
        reverse("contracts:detail", args=[contract.code]),
        "success",
    )


def _cancellation(cancellation, money):
    purchase = cancellation.purchase
    who = (
        gettext("the buyer")
        if cancellation.by_buyer
        else (cancellation.created_by.username if cancellation.created_by_id else gettext("staff"))
    )
    return (
        gettext("Purchase {code} of {subscription} cancelled by {who}").format(
            code=purchase.code, subscription=purchase.subscription.name, who=who
        ),
        cancellation.get_mode_display(),
        reverse("purchases:detail", args=[purchase.code]),
        "warning",
    )


def _refund(refund, money):
    purchase = refund.purchase
    title = (
        gettext("Refund {code} of {amount} on purchase {purchase}").format(
            code=refund.code, amount=_money(refund.amount, refund.currency), purchase=purchase.code
        )
        if money
        else gettext("Refund {code} on purchase {purchase}").format(
            code=refund.code, purchase=purchase.code
        )
    )
    to = gettext("To {method}").format(method=payment_type_label(refund.method))
    return (
        title,
        f"{to}: {refund.reason}" if refund.reason else to,
        reverse("purchases:detail", args=[purchase.code]),
        "warning",
    )


def _wallet(entry, money):
    detail = entry.reason or ""
    if entry.reference:
        detail = f"{detail} {entry.reference}".strip()
    title = gettext("E-wallet {kind}: {amount}").format(
        kind=entry.get_kind_display().lower(), amount=entry.amount_display
    )
    if entry.created_by_id:
        title = gettext("E-wallet {kind}: {amount} by {user}").format(
            kind=entry.get_kind_display().lower(),
            amount=entry.amount_display,
            user=entry.created_by.username,
        )
    balance = gettext("Balance after: {balance}").format(balance=entry.balance_after_display)
    return (
        title,
        f"{balance}. {detail}" if detail else balance,
        reverse("buyers:wallet_ledger") + f"?buyer={entry.buyer.code}",
        "secondary",
    )


def _plan_change(change, money):
    contract = change.contract
    plans = {
        "plan": contract.subscription.name,
        "old": change.from_pricing_model.title,
        "new": change.to_pricing_model.title,
    }
    titles = {
        "applied": gettext("Plan of %(plan)s changed from %(old)s to %(new)s"),
        "scheduled": gettext(
            "Plan of %(plan)s to change from %(old)s to %(new)s at the period's end"
        ),
        "cancelled": gettext("Plan change of %(plan)s to %(new)s cancelled"),
        "declined": gettext("Plan change of %(plan)s to %(new)s declined"),
    }
    detail = change.get_timing_display()
    if change.timing == "now" and money:
        detail = gettext(
            "%(timing)s: credit %(credit)s, charge %(charge)s, charged now %(now)s"
        ) % {
            "timing": detail,
            "credit": _money(change.credit, change.currency),
            "charge": _money(change.charge, change.currency),
            "now": _money(change.charged_now, change.currency),
        }
    if change.status == "declined" and change.response_message:
        detail = f"{detail}: {change.response_message}"
    tones = {"applied": "success", "declined": "danger"}
    return (
        titles[change.status] % plans,
        detail,
        reverse("contracts:detail", args=[contract.code]),
        tones.get(change.status, "info"),
    )


def _email(email, money):
    return (
        gettext("E-mail sent: {subject} (resent copy)").format(subject=email.subject)
        if email.resent_from_id
        else gettext("E-mail sent: {subject}").format(subject=email.subject),
        gettext("{kind} to {to}").format(kind=email.get_kind_display(), to=email.to),
        reverse("emails:detail", args=[email.code]),
        "primary",
    )


def _note(note, money):
    by = note.written_by.username if note.written_by_id else gettext("staff")
    return (gettext("Note by {user}").format(user=by), note.text, "", "dark")


KINDS: tuple[EventKind, ...] = (
    EventKind(
        "access",
        _("Access granted"),
        "buyers.view_access",
        lambda b: Access.objects.filter(buyer=b),
        "created_at",
        ("subscription", "granted_by"),
        _access_granted,
    ),
    EventKind(
        "access_revoked",
        _("Access revoked"),
        "buyers.view_access",
        lambda b: Access.objects.filter(buyer=b, revoked_at__isnull=False),
        "revoked_at",
        ("subscription", "revoked_by"),
        _access_revoked,
    ),
    EventKind(
        "activation",
        _("Device activation"),
        "buyers.view_access",
        lambda b: _owned_through(AccessActivation, Access, "access", b),
        "first_seen_at",
        ("access__subscription",),
        _activation,
    ),
    EventKind(
        "cancellation",
        _("Cancellation"),
        "purchases.view_cancellation",
        lambda b: _owned_through(Cancellation, Purchase, "purchase", b),
        "created_at",
        ("purchase__subscription", "created_by"),
        _cancellation,
    ),
    EventKind(
        "coupon",
        _("Coupon used"),
        "purchases.view_purchase",
        lambda b: Purchase.objects.filter(
            buyer=b, coupon__isnull=False, completed_at__isnull=False
        ),
        "completed_at",
        ("subscription",),
        _coupon,
    ),
    EventKind(
        "email",
        _("E-mail"),
        "buyers.view_sentemail",
        lambda b: SentEmail.objects.filter(buyer=b),
        "sent_at",
        (),
        _email,
    ),
    EventKind(
        "note",
        _("Staff note"),
        "buyers.view_buyernote",
        lambda b: BuyerNote.objects.filter(buyer=b),
        "created_at",
        ("written_by",),
        _note,
    ),
    EventKind(
        "pause",
        _("Subscription paused"),
        "purchases.view_recurringcontract",
        lambda b: _owned_through(ContractPause, RecurringContract, "contract", b),
        "created_at",
        ("contract__subscription", "created_by"),
        _pause,
    ),
    EventKind(
        "plan_change",
        _("Plan change"),
        "purchases.view_recurringcontract",
        lambda b: _owned_through(ContractChange, RecurringContract, "contract", b),
        "requested_at",
        ("contract__subscription", "from_pricing_model", "to_pricing_model"),
        _plan_change,
    ),
    EventKind(
        "purchase",
        _("Purchase and payment"),
        "purchases.view_purchase",
        lambda b: Purchase.objects.filter(buyer=b),
        "created_at",
        ("subscription",),
        _purchase,
    ),
    EventKind(
        "refund",
        _("Refund"),
        "purchases.view_purchase",
        lambda b: _owned_through(Refund, Purchase, "purchase", b),
        "created_at",
        ("purchase__subscription",),
        _refund,
    ),
    EventKind(
        "renewal",
        _("Renewal charge or decline"),
        "purchases.view_contracttransaction",
        lambda b: _owned_through(ContractTransaction, RecurringContract, "contract", b),
        "transaction_date",
        ("contract__subscription",),
        _renewal,
    ),
    EventKind(
        "resume",
        _("Subscription resumed"),
        "purchases.view_recurringcontract",
        lambda b: _owned_through(ContractPause, RecurringContract, "contract", b).filter(
            resumed_at__isnull=False
        ),
        "resumed_at",
        ("contract__subscription", "resumed_by"),
        _resume,
    ),
    EventKind(
        "wallet",
        _("E-wallet movement"),
        "buyers.view_walletentry",
        lambda b: WalletEntry.objects.filter(buyer=b),
        "created_at",
        ("buyer", "created_by"),
        _wallet,
    ),
)
KINDS_BY_NAME = {kind.name: kind for kind in KINDS}


class BadKey(ValueError):
    """A page key that does not read as time|kind|id."""


def parse_key(value: str):
    try:
        at, kind, pk = value.split("|")
        at, pk = parse_datetime(at), int(pk)
    except (ValueError, TypeError):
        raise BadKey(value) from None
    if at is None or at.tzinfo is None or kind not in KINDS_BY_NAME:
        raise BadKey(value)
    return at, kind, pk


def kinds_for(user, wanted=()) -> list[EventKind]:
    """The kinds `user` may read, narrowed to `wanted` (names) when given."""
    allowed = [kind for kind in KINDS if user.has_perm(kind.permission)]
    return [kind for kind in allowed if kind.name in wanted] if wanted else allowed


def _after(kind: EventKind, key) -> Q:
    """This kind's rows that come after `key` in (time, kind, id) descending order."""
    if key is None:
        return Q()
    at, key_kind, pk = key
    time = kind.time
    if kind.name < key_kind:
        return Q(**{f"{time}__lte": at})
    if kind.name == key_kind:
        return Q(**{f"{time}__lt": at}) | Q(**{time: at, "pk__lt": pk})
    return Q(**{f"{time}__lt": at})


def page_keys_query(buyer: Buyer, kinds: list[EventKind], after=None, size: int = PAGE_SIZE):
    """The UNION ALL of a select per kind: (time, kind, id) of the page's events and one more
    (to tell whether a next page exists), newest first."""
    limited = connection.features.supports_slicing_ordering_in_compound
    selects = []
    for kind in kinds:
        rows = (
            kind.rows(buyer)
            .filter(_after(kind, after))
            .annotate(
                ev_at=F(kind.time),
                ev_kind=Value(kind.name, output_field=CharField()),
                ev_id=F("pk"),
            )
            .values_list("ev_at", "ev_kind", "ev_id")
            .order_by()
        )
        if limited:
            # Each select reads at most a page from its own rows (PostgreSQL); SQLite cannot
            # limit inside a compound select, and its outer LIMIT gives the same rows.
            rows = rows.order_by("-ev_at", "-ev_id")[: size + 1]
        selects.append(rows)
    if len(selects) == 1:
        return selects[0] if limited else selects[0].order_by("-ev_at", "-ev_id")[: size + 1]
    union = selects[0].union(*selects[1:], all=True).order_by("-ev_at", "-ev_kind", "-ev_id")
    return union[: size + 1]


# Building the UNION through the ORM costs more than PostgreSQL takes to run it (about 20 ms
# against 6 ms for 11 kinds): its SQL is built once per (kinds, key's kind) with stand-in values
# for the buyer and the key, which each request replaces in the parameters.
_STAND_IN_BUYER = -7_000_000_001
_STAND_IN_PK = -7_000_000_002
_STAND_IN_AT = datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)


@lru_cache(maxsize=256)
def _compiled(vendor: str, names: tuple[str, ...], key_kind: str | None, size: int):
    kinds = [KINDS_BY_NAME[name] for name in names]
    key = (_STAND_IN_AT, key_kind, _STAND_IN_PK) if key_kind else None
    query = page_keys_query(Buyer(pk=_STAND_IN_BUYER), kinds, key, size)
    sql, params = query.query.sql_with_params()
    return sql, tuple(params)


def _as_datetime(value) -> datetime:
    if isinstance(value, str):  # SQLite answers a compound select's times as text
        value = parse_datetime(value)
    return value if is_aware(value) else make_aware(value, UTC)


def page_keys(buyer: Buyer, kinds: list[EventKind], after=None, size: int = PAGE_SIZE):
    """(time, kind, id) of the page's events and one more (to tell whether a next page
    exists), newest first, in one query."""
    if not kinds:
        return []
    names = tuple(kind.name for kind in kinds)
    sql, params = _compiled(connection.vendor, names, after[1] if after else None, size)
    ops = connection.ops
    real = {_STAND_IN_BUYER: buyer.pk, ops.adapt_datetimefield_value(_STAND_IN_AT): None}
    if after is not None:
        real[_STAND_IN_PK] = after[2]
        real[ops.adapt_datetimefield_value(_STAND_IN_AT)] = ops.adapt_datetimefield_value(after[0])

    def actual(param):
        # bool is an int too: a True parameter must not be read as a stand-in.
        if isinstance(param, bool) or not isinstance(param, int | str | datetime):
            return param
        return real.get(param, param)

    params = [actual(param) for param in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(_as_datetime(at_), kind, pk) for at_, kind, pk in cursor.fetchall()]


@dataclass
class TimelinePage:
    events: list[Event]
    next_key: str | None
    kinds: list[EventKind]


def timeline_page(
    *, buyer: Buyer, user, wanted=(), after: str = "", size: int = PAGE_SIZE
) -> TimelinePage:
    """One page of the buyer's events that `user` may read (refund amounts only with the
    money-reports permission), newest first; `after` is the previous page's next_key. A key
    that does not read raises BadKey."""
    key = parse_key(after) if after else None
    kinds = kinds_for(user, wanted)
    keys = page_keys(buyer, kinds, key, size)
    more = len(keys) > size
    keys = keys[:size]
    money = user.has_perm(MONEY_REPORTS)
    by_kind: dict[str, list[int]] = {}
    for _when, name, pk in keys:
        by_kind.setdefault(name, []).append(pk)
    loaded = {}
    for name, pks in by_kind.items():
        kind = KINDS_BY_NAME[name]
        model = kind.rows(buyer).model
        objects = model.objects.select_related(*kind.related).in_bulk(pks)
        loaded[name] = objects
    events = []
    for at, name, pk in keys:
        kind = KINDS_BY_NAME[name]
        title, detail, link, tone = kind.describe(loaded[name][pk], money)
        events.append(Event(at, name, pk, kind.label, title, detail, link, tone))
    next_key = events[-1].key if more and events else None
    return TimelinePage(events, next_key, kinds)
