"""What each kind of journal row is booked from, read in bulk from the rows that moved the money:
the rule the services follow one movement at a time (booking.py), for a whole database at once.

The data generator books the shop it generated with it, and tests compare the journal with it.
Migration 0016 (the backfill) keeps its own frozen copy of the same SELECTs.

- sale: each purchase whose money was taken (completed, cancelling, cancelled, refunded; a
  failed one only if its charge was given back), at its completion (else its creation); free
  ones (trials, 100% coupons) move no money and are not booked;
- renewal: each approved renewal charge with an amount, at its transaction date;
- refund: each Refund, negative, at its date, naming the charge it reverses;
- e-wallet: each WalletEntry as it is, linked to the purchase or renewal charge its reference
  names.
Each SELECT leaves out what the journal already has, so booking them twice books nothing more.
"""

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice

from django.core.management.color import no_style
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from core.codes import CODE_ALPHABET, CODE_LENGTH, new_public_codes

from .days import rebuild_days
from .models import JournalEntry

# Columns of each SELECT, in order; `corrects` is filled in Python (see `rows_from_sources`).
COLUMNS = (
    "booked_at",
    "kind",
    "amount",
    "currency",
    "buyer_id",
    "subscription_id",
    "pricing_model_id",
    "purchase_id",
    "contract_id",
    "renewal_charge_id",
    "refund_id",
    "wallet_entry_id",
    "payment_type",
    "gateway_reference",
    "created_by_id",
    "api_key",
    "reason",
)
NULL_ID = "CAST(NULL AS BIGINT)"

SALES = f"""
    SELECT COALESCE(p.completed_at, p.created_at), 'sale', p.amount, p.currency, p.buyer_id,
           p.subscription_id, p.pricing_model_id, p.id, {NULL_ID}, {NULL_ID}, {NULL_ID},
           {NULL_ID}, p.payment_type,
           CASE WHEN p.payment_type = 'wallet' THEN '' ELSE p.gateway_reference END,
           p.created_by_id, '', ''
    FROM purchases_purchase AS p
    WHERE p.amount > 0
      AND (p.status IN ('completed', 'cancelling', 'cancelled', 'refunded')
           OR (p.status = 'failed'
               AND EXISTS (SELECT 1 FROM purchases_refund AS r WHERE r.purchase_id = p.id)))
      AND NOT EXISTS (SELECT 1 FROM purchases_journalentry AS j
                      WHERE j.purchase_id = p.id AND j.kind = 'sale')
    ORDER BY p.id
"""  # noqa: S608 (no input: constants only)
RENEWALS = f"""
    SELECT t.transaction_date, 'renewal', t.amount, t.currency, c.buyer_id, c.subscription_id,
           c.pricing_model_id, c.purchase_id, c.id, t.id, {NULL_ID}, {NULL_ID}, c.payment_type,
           CASE WHEN c.payment_type = 'wallet' THEN '' ELSE t.pnref END, {NULL_ID}, '', ''
    FROM purchases_contracttransaction AS t
    JOIN purchases_recurringcontract AS c ON c.id = t.contract_id
    WHERE t.status = 'approved' AND t.amount > 0
      AND NOT EXISTS (SELECT 1 FROM purchases_journalentry AS j
                      WHERE j.renewal_charge_id = t.id AND j.kind = 'renewal')
    ORDER BY t.id
"""  # noqa: S608
REFUNDS = f"""
    SELECT r.created_at, 'refund', -r.amount, r.currency, p.buyer_id, p.subscription_id,
           p.pricing_model_id, p.id, t.contract_id, r.contract_transaction_id, r.id, {NULL_ID},
           r.method, r.gateway_reference, r.created_by_id, '', r.reason
    FROM purchases_refund AS r
    JOIN purchases_purchase AS p ON p.id = r.purchase_id
    LEFT JOIN purchases_contracttransaction AS t ON t.id = r.contract_transaction_id
    WHERE NOT EXISTS (SELECT 1 FROM purchases_journalentry AS j
                      WHERE j.refund_id = r.id AND j.kind = 'refund')
    ORDER BY r.id
"""  # noqa: S608
WALLET = f"""
    SELECT w.created_at,
           CASE w.kind WHEN 'top_up' THEN 'wallet_top_up' WHEN 'purchase' THEN 'wallet_payment'
                       WHEN 'refund' THEN 'wallet_refund' ELSE 'wallet_adjustment' END,
           w.amount, w.currency, w.buyer_id,
           COALESCE(p.subscription_id, c.subscription_id),
           COALESCE(p.pricing_model_id, c.pricing_model_id),
           COALESCE(p.id, c.purchase_id), c.id, t.id, {NULL_ID}, w.id, 'wallet', '',
           w.created_by_id, '', CASE WHEN w.reason <> '' THEN w.reason ELSE w.reference END
    FROM buyers_walletentry AS w
    LEFT JOIN purchases_purchase AS p ON w.reference <> '' AND p.code = w.reference
    LEFT JOIN purchases_contracttransaction AS t
           ON w.reference LIKE 'contract:%%' AND t.idempotency_key = w.reference
    LEFT JOIN purchases_recurringcontract AS c ON c.id = t.contract_id
    WHERE NOT EXISTS (SELECT 1 FROM purchases_journalentry AS j WHERE j.wallet_entry_id = w.id)
    ORDER BY w.id
"""  # noqa: S608
# Sales and renewals before refunds: a refund names the row of the charge it reverses.
SOURCES = (SALES, RENEWALS, REFUNDS, WALLET)


def rows_from_sources(*, first_id: int) -> Iterator[dict]:
    """Every journal row the database's money rows call for, as column dicts with an `id`
    (from `first_id` on, in the order of SOURCES) and `corrects_id` (a refund's charge row)."""
    next_id = first_id
    sale_ids, renewal_ids = {}, {}
    for source in SOURCES:
        postgresql = connection.vendor == "postgresql"
        # A server-side cursor on PostgreSQL: a million purchases are read in batches.
        with connection.chunked_cursor() if postgresql else connection.cursor() as cursor:
            cursor.execute(source if postgresql else source.replace("%%", "%"))
            while batch := cursor.fetchmany(5000):
                for values in batch:
                    row = dict(zip(COLUMNS, values, strict=True))
                    if not postgresql:  # SQLite answers expressions' times as text, amounts
                        row["booked_at"] = _aware(row["booked_at"])  # as floats
                        row["amount"] = Decimal(str(row["amount"]))
                    row["id"], next_id = next_id, next_id + 1
                    if row["kind"] == "sale":
                        sale_ids[row["purchase_id"]] = row["id"]
                    elif row["kind"] == "renewal":
                        renewal_ids[row["renewal_charge_id"]] = row["id"]
                    row["corrects_id"] = (
                        (
                            renewal_ids.get(row["renewal_charge_id"])
                            if row["renewal_charge_id"]
                            else sale_ids.get(row["purchase_id"])
                        )
                        if row["kind"] == "refund"
                        else None
                    )
                    yield row


def _aware(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if timezone.is_naive(value) else value


def book_from_sources(*, seed: str = "") -> int:
    """Book every money row of the database that the journal lacks, and rebuild its days: for a
    shop whose rows were written without the services (the data generator). On PostgreSQL one
    INSERT ... SELECT per kind, codes drawn from `seed` and the row (one taken is drawn again at
    random); elsewhere in Python, codes drawn from `seed` in order. The same seed and rows give
    the same codes; no seed, random ones. Answers how many rows were booked."""
    if connection.vendor == "postgresql":
        booked = _book_in_sql(seed or new_public_codes(1)[0])
    else:
        booked = _book_in_python(seed)
    rebuild_days()
    return booked


def _seeded_codes(seed: str):
    """Codes drawn from `seed` (the same seed, the same codes), none of them taken."""
    rng = random.Random(seed)  # noqa: S311 (reproducible codes for generated data)
    seen = set()

    def draw(count: int) -> list[str]:
        codes = []
        while len(codes) < count:
            wanted = [
                "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                for _ in range(count - len(codes))
            ]
            taken = set(JournalEntry.objects.filter(code__in=wanted).values_list("code", flat=True))
            for code in wanted:
                if code not in seen and code not in taken:
                    seen.add(code)
                    codes.append(code)
        return codes

    return draw


def _book_in_python(seed: str = "") -> int:
    first_id = (JournalEntry.objects.aggregate(last=Max("id"))["last"] or 0) + 1
    new_codes = _seeded_codes(seed) if seed else new_public_codes
    booked = 0
    rows = rows_from_sources(first_id=first_id)
    while chunk := list(islice(rows, 5000)):
        JournalEntry.objects.bulk_create(
            JournalEntry(code=code, **row)
            for code, row in zip(new_codes(len(chunk)), chunk, strict=True)
        )
        booked += len(chunk)
    # The rows carry their ids (a refund names its charge's): move the id sequence past them.
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [JournalEntry]):
            cursor.execute(statement)
    return booked


# Eight letters and digits from the seed and the row's source (kind and id): the base64 of their
# md5 with its two symbols taken out.
SQL_CODE = (
    "substr(translate(encode(decode(md5(%(seed)s || ':' || s.kind || ':' || {key}), 'hex'), "
    "'base64'), '+/=', ''), 1, 8)"
)
RANDOM_CODE = (
    "substr(translate(encode(decode(md5(random()::text || clock_timestamp()::text), 'hex'), "
    "'base64'), '+/=', ''), 1, 8)"
)
SQL_KEYS = {
    "sale": "s.purchase_id",
    "renewal": "s.renewal_charge_id",
    "refund": "s.refund_id",
    "wallet": "s.wallet_entry_id",
}
# A refund names its charge's row (booked by the SELECTs before it).
CORRECTS = """
    CASE WHEN s.kind <> 'refund' THEN NULL
         WHEN s.renewal_charge_id IS NULL
         THEN (SELECT j.id FROM purchases_journalentry AS j
               WHERE j.purchase_id = s.purchase_id AND j.kind = 'sale')
         ELSE (SELECT j.id FROM purchases_journalentry AS j
               WHERE j.renewal_charge_id = s.renewal_charge_id AND j.kind = 'renewal') END
"""


def _book_in_sql(seed: str) -> int:
    columns = ", ".join(COLUMNS)
    selected = ", ".join(f"s.{name}" for name in COLUMNS)
    booked = 0
    with connection.cursor() as cursor:
        for source, key in zip(SOURCES, SQL_KEYS.values(), strict=True):
            for code in (SQL_CODE.format(key=key), RANDOM_CODE):
                # Column names and expressions are this module's constants; the seed a parameter.
                cursor.execute(
                    f"INSERT INTO purchases_journalentry (code, corrects_id, {columns}) "  # noqa: S608
                    f"SELECT {code}, {CORRECTS}, {selected} "
                    f"FROM ({source}) AS s({columns}) ON CONFLICT DO NOTHING",
                    {"seed": seed},
                )
                booked += cursor.rowcount
                # A code taken by another row left its row out: the random round books it.
    return booked
