"""Writing the money journal: every service that moves money calls one of these inside its own
transaction, so the movement, its journal row and the day's totals commit together or not at all.

- `book(entries)`: the one way rows are written (per-row paths): refuses a row dated inside a
  closed period (PeriodClosed), inserts the rows with fresh public codes (one taken is drawn
  again) and adds them to their days' totals (one upsert per day table, keys in a fixed order
  so that two transactions never wait on each other's days in opposite orders); inside
  `at_the_end()`, all of that when the block ends.
- `book_renewals_in_sql(charge_ids)`: the set-based renewal path's version on PostgreSQL: one
  statement inserts the approved charges' rows, one upsert per day table adds them.
- `book_wallet_entry`: the receiver of buyers' wallet_entry_posted signal.
The who: a staff user is passed in; an API request's key is set for the request with `api_key`.
"""

import contextlib
import contextvars
import zoneinfo
from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.codes import new_public_codes
from purchases.errors import PeriodClosed

from .models import (
    WALLET_ENTRY_KINDS,
    ClosedPeriod,
    JournalEntry,
    Kind,
)

WALLET = "wallet"

# The prefix of the API key whose request is being served (set by the API for the request).
_api_key = contextvars.ContextVar("journal_api_key", default="")


@contextlib.contextmanager
def api_key(prefix: str):
    """Rows booked inside this block were caused by the API key with this prefix."""
    token = _api_key.set(prefix or "")
    try:
        yield
    finally:
        _api_key.reset(token)


def current_api_key() -> str:
    """The prefix of the API key whose request is being served, or ""."""
    return _api_key.get()


def shop_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def closed_until():
    """The end of the latest closed period (everything booked before it is closed), or None."""
    return ClosedPeriod.objects.order_by("-ends_at").values_list("ends_at", flat=True).first()


def surely_open(booked_at) -> bool:
    """Whether `booked_at` cannot be inside a closed period without asking the database: only
    months that have ended are closed, so this month is open (two days' margin for a change of
    the shop's time zone since a month was closed)."""
    month_start = timezone.localdate(timezone.now(), shop_zone()).replace(day=1)
    return booked_at >= datetime.combine(month_start, time.min, shop_zone()) - timedelta(days=2)


def check_open(booked_at) -> None:
    """PeriodClosed when `booked_at` falls inside a closed period."""
    if surely_open(booked_at):
        return
    until = closed_until()
    if until is not None and booked_at < until:
        raise PeriodClosed(
            f"The books are closed until {until.astimezone(shop_zone()):%Y-%m-%d %H:%M}: "
            "book it in the open period, with a reference to the original."
        )


# Rows booked inside `at_the_end()`, written when it ends.
_deferred = contextvars.ContextVar("journal_deferred", default=None)


@contextlib.contextmanager
def at_the_end():
    """Write the rows booked inside this block when it ends, all at once (put it inside the
    transaction, around the whole use case): one insert and one upsert of each day table, and a
    day's totals row locked only for the last moment of the transaction, so purchases of the
    same day and currency wait on each other as briefly as possible."""
    if _deferred.get() is not None:  # an outer block writes them
        yield
        return
    pending: list = []
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    _write(pending)


def book(entries: list[JournalEntry]) -> list[JournalEntry]:
    """Write `entries` (unsaved JournalEntry objects) and add them to their days' totals, in the
    caller's transaction (inside `at_the_end()`, when that block ends). PeriodClosed (nothing
    written) if one is dated inside a closed period."""
    entries = [entry for entry in entries if entry is not None]
    if not entries:
        return []
    check_open(min(entry.booked_at for entry in entries))
    prefix = _api_key.get()
    for entry in entries:
        if prefix and not entry.api_key:
            entry.api_key = prefix
    pending = _deferred.get()
    if pending is not None:
        pending.extend(entries)
    else:
        _write(entries)
    return entries


def _write(entries: list[JournalEntry]) -> None:
    if not entries:
        return
    _insert(entries)
    add_to_days(entries)


def _insert(entries: list[JournalEntry]) -> None:
    """Insert the rows with fresh public codes in one statement; a code already taken (one
    chance in 10^8 at ten million rows) skips its row, which goes again with another code. This
    spares asking the database which codes are free first."""
    fields = [field for field in JournalEntry._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    pending = list(entries)
    with connection.cursor() as cursor:
        while pending:
            for entry, code in zip(pending, new_public_codes(len(pending)), strict=True):
                entry.code = code
            params = [
                field.get_db_prep_save(getattr(entry, field.attname), connection)
                for entry in pending
                for field in fields
            ]
            # Table and column names come from the model's metadata; values are parameters.
            cursor.execute(
                f"INSERT INTO {quote(JournalEntry._meta.db_table)} ({columns}) "  # noqa: S608
                f"VALUES {', '.join([row] * len(pending))} "
                "ON CONFLICT (code) DO NOTHING RETURNING id, code",
                params,
            )
            ids = {code: pk for pk, code in cursor.fetchall()}
            for entry in pending:
                if entry.code in ids:
                    entry.pk = ids.pop(entry.code)
                    entry._state.adding, entry._state.db = False, connection.alias
            pending = [entry for entry in pending if entry._state.adding]


def day_key(entry) -> tuple:
    return (
        entry.booked_at.astimezone(shop_zone()).date(),
        entry.currency,
        entry.kind,
        entry.payment_type,
        entry.subscription_id or 0,
    )


UPSERT_DAYS_SQL = """
    INSERT INTO purchases_journalday
        (day, currency, kind, payment_type, subscription_id, amount, entries)
    VALUES {values}
    ON CONFLICT (day, currency, kind, payment_type, COALESCE(subscription_id, 0))
    DO UPDATE SET amount = purchases_journalday.amount + excluded.amount,
                  entries = purchases_journalday.entries + excluded.entries
"""
UPSERT_SHOP_DAYS_SQL = """
    INSERT INTO purchases_journalshopday (day, currency, kind, payment_type, amount, entries)
    VALUES {values}
    ON CONFLICT (day, currency, kind, payment_type)
    DO UPDATE SET amount = purchases_journalshopday.amount + excluded.amount,
                  entries = purchases_journalshopday.entries + excluded.entries
"""


def add_to_days(entries) -> None:
    """Add journal rows to the daily totals, JournalDay and JournalShopDay (one upsert each;
    keys sorted, so two transactions always take their days' row locks in the same order)."""
    add_amounts_to_days((day_key(entry), entry.amount) for entry in entries)


def add_amounts_to_days(amounts) -> None:
    """Add (day key, amount) pairs (see `day_key`) to the daily totals."""
    sums: dict[tuple, list] = defaultdict(lambda: [Decimal(0), 0])
    shop_sums: dict[tuple, list] = defaultdict(lambda: [Decimal(0), 0])
    for key, amount in amounts:
        for total in (sums[key], shop_sums[key[:4]]):
            total[0] += amount
            total[1] += 1
    if not sums:
        return
    with connection.cursor() as cursor:
        for sql, totals, width in (
            (UPSERT_SHOP_DAYS_SQL, shop_sums, 6),
            (UPSERT_DAYS_SQL, sums, 7),
        ):
            params = []
            for key in sorted(totals):
                values = list(key)
                if width == 7:
                    values[4] = values[4] or None  # the subscription: 0 in the key is none
                params += [*values, *totals[key]]
            row = "(" + ", ".join(["%s"] * width) + ")"
            cursor.execute(sql.format(values=", ".join([row] * len(totals))), params)


# --- What each movement books -----------------------------------------------------------------


def sale_entry(purchase, *, booked_at) -> JournalEntry | None:
    """A purchase's charge (card, payment page or e-wallet); nothing when it cost nothing."""
    if not purchase.amount:
        return None
    return JournalEntry(
        booked_at=booked_at,
        kind=Kind.SALE,
        amount=purchase.amount,
        currency=purchase.currency,
        buyer_id=purchase.buyer_id,
        subscription_id=purchase.subscription_id,
        pricing_model_id=purchase.pricing_model_id,
        purchase=purchase,
        payment_type=purchase.payment_type,
        gateway_reference=purchase.gateway_reference if purchase.payment_type != WALLET else "",
        created_by_id=purchase.created_by_id,
    )


def refund_entry(refund, *, contract=None) -> JournalEntry:
    """Money given back for a purchase or one of its renewal charges."""
    purchase = refund.purchase
    charge = refund.contract_transaction
    return JournalEntry(
        booked_at=refund.created_at,
        kind=Kind.REFUND,
        amount=-refund.amount,
        currency=refund.currency,
        buyer_id=purchase.buyer_id,
        subscription_id=purchase.subscription_id,
        pricing_model_id=purchase.pricing_model_id,
        purchase=purchase,
        contract=contract if contract is not None else (charge.contract if charge else None),
        renewal_charge=charge,
        refund=refund,
        corrects=original_charge_entry(purchase, charge),
        payment_type=refund.method,
        gateway_reference=refund.gateway_reference,
        created_by_id=refund.created_by_id,
        reason=refund.reason[:255],
    )


def original_charge_entry(purchase, charge=None) -> JournalEntry | None:
    """The journal row of the charge a refund or chargeback reverses."""
    if charge is not None:
        return JournalEntry.objects.filter(renewal_charge=charge, kind=Kind.RENEWAL).first()
    return JournalEntry.objects.filter(purchase=purchase, kind=Kind.SALE).first()


def book_wallet_entry(sender, *, entry, links, **kwargs) -> JournalEntry:
    """The e-wallet ledger's row for a WalletEntry (the wallet_entry_posted receiver). `links`:
    `purchase` or `contract` (objects) and `contract_id`, `renewal_charge_id`, `refund_id`."""
    purchase = links.get("purchase")
    contract = links.get("contract")
    source = purchase or contract
    purchase_id = purchase.pk if purchase else (contract.purchase_id if contract else None)
    return book(
        [
            JournalEntry(
                booked_at=entry.created_at,
                kind=WALLET_ENTRY_KINDS[entry.kind],
                amount=entry.amount,
                currency=entry.currency,
                buyer_id=entry.buyer_id,
                subscription_id=source.subscription_id if source else None,
                pricing_model_id=source.pricing_model_id if source else None,
                purchase_id=purchase_id,
                contract_id=links.get("contract_id") or (contract.pk if contract else None),
                renewal_charge_id=links.get("renewal_charge_id"),
                refund_id=links.get("refund_id"),
                wallet_entry=entry,
                payment_type=WALLET,
                created_by_id=entry.created_by_id,
                reason=entry.reason or entry.reference,
            )
        ]
    )[0]


BOOK_RENEWALS_SQL = """
    WITH charges AS (
        SELECT n.code, t.id, t.transaction_date, t.amount, t.currency, t.pnref, c.id AS contract_id,
               c.buyer_id, c.subscription_id, c.pricing_model_id, c.purchase_id, c.payment_type
        FROM unnest(%(ids)s::bigint[], %(codes)s::text[]) AS n(id, code)
        JOIN purchases_contracttransaction AS t ON t.id = n.id
        JOIN purchases_recurringcontract AS c ON c.id = t.contract_id
        WHERE t.status = 'approved' AND t.amount > 0
    )
    INSERT INTO purchases_journalentry (
        code, booked_at, kind, amount, currency, buyer_id, subscription_id, pricing_model_id,
        purchase_id, contract_id, renewal_charge_id, payment_type, gateway_reference, api_key,
        reason
    )
    SELECT code, transaction_date, 'renewal', amount, currency, buyer_id, subscription_id,
           pricing_model_id, purchase_id, contract_id, id, payment_type,
           CASE WHEN payment_type = 'wallet' THEN '' ELSE pnref END, '', ''
    FROM charges
    ORDER BY id
    ON CONFLICT DO NOTHING
    RETURNING renewal_charge_id, booked_at, currency, kind, payment_type, subscription_id, amount
"""

UNBOOKED_RENEWALS_SQL = """
    SELECT t.id FROM purchases_contracttransaction AS t
    WHERE t.id = ANY(%s) AND t.status = 'approved' AND t.amount > 0
      AND NOT EXISTS (
          SELECT 1 FROM purchases_journalentry AS j
          WHERE j.renewal_charge_id = t.id AND j.kind = 'renewal'
      )
"""


def book_renewals_in_sql(charge_ids: list[int], *, earliest) -> None:
    """Book approved renewal charges (ContractTransaction ids, all with an amount) set-based,
    on PostgreSQL: one statement writes their rows and answers what the days need, one upsert
    per day table adds them. A charge already booked is skipped (its unique key); a code drawn
    twice (one chance in 10^8 a batch) skips its row, which is written again with a new one."""
    if not charge_ids:
        return
    check_open(earliest)
    pending, booked = list(charge_ids), []
    with connection.cursor() as cursor:
        while pending:
            codes = new_public_codes(len(pending))
            cursor.execute(BOOK_RENEWALS_SQL, {"ids": pending, "codes": codes})
            rows = cursor.fetchall()
            booked += rows
            if len(rows) == len(pending):
                break
            cursor.execute(UNBOOKED_RENEWALS_SQL, [pending])
            pending = [row[0] for row in cursor.fetchall()]
    zone = shop_zone()
    add_amounts_to_days(
        (
            (booked_at.astimezone(zone).date(), currency, kind, payment_type, subscription or 0),
            amount,
        )
        for _, booked_at, currency, kind, payment_type, subscription, amount in booked
    )


def renewal_entry(charge, contract) -> JournalEntry | None:
    """An approved renewal charge's row (the per-row path)."""
    if not charge.amount:
        return None
    return JournalEntry(
        booked_at=charge.transaction_date,
        kind=Kind.RENEWAL,
        amount=charge.amount,
        currency=charge.currency,
        buyer_id=contract.buyer_id,
        subscription_id=contract.subscription_id,
        pricing_model_id=contract.pricing_model_id,
        purchase_id=contract.purchase_id,
        contract_id=contract.pk,
        renewal_charge=charge,
        payment_type=contract.payment_type,
        gateway_reference=charge.pnref if contract.payment_type != WALLET else "",
    )
