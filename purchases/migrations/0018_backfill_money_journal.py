"""Backfill the money journal from the rows that moved money before it existed, build its daily
totals (per subscription, and the shop's), and make the journal append-only on PostgreSQL.

What is booked (the same as the services book from now on; tests/purchases/test_journal_backfill.py
proves the sums equal their sources):
- sale: each purchase whose money was taken (completed, cancelling, cancelled, refunded; a failed
  one only if its charge was given back), at its completion (else its creation), for its amount;
  free ones (trials, 100% coupons) move no money and are not booked;
- renewal: each approved renewal charge with an amount, at its transaction date;
- refund: each Refund, negative, at its date, naming the charge it reverses;
- e-wallet: each WalletEntry as it is (top-up, payment, refund to the wallet, adjustment), linked
  to the purchase or renewal charge its reference names.
The SQL is this migration's own (a frozen copy): later code changes do not change what it did.
"""

import zoneinfo
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from core.codes import new_public_code

COLUMNS = (
    "booked_at, kind, amount, currency, buyer_id, subscription_id, pricing_model_id, "
    "purchase_id, contract_id, renewal_charge_id, refund_id, wallet_entry_id, corrects_id, "
    "payment_type, gateway_reference, created_by_id, api_key, reason"
)

SALES = """
    SELECT COALESCE(p.completed_at, p.created_at), 'sale', p.amount, p.currency, p.buyer_id,
           p.subscription_id, p.pricing_model_id, p.id,
           CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
           p.payment_type,
           CASE WHEN p.payment_type = 'wallet' THEN '' ELSE p.gateway_reference END,
           p.created_by_id, '', ''
    FROM purchases_purchase AS p
    WHERE p.amount > 0
      AND (p.status IN ('completed', 'cancelling', 'cancelled', 'refunded')
           OR (p.status = 'failed'
               AND EXISTS (SELECT 1 FROM purchases_refund AS r WHERE r.purchase_id = p.id)))
"""
RENEWALS = """
    SELECT t.transaction_date, 'renewal', t.amount, t.currency, c.buyer_id, c.subscription_id,
           c.pricing_model_id, c.purchase_id, c.id, t.id,
           CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), c.payment_type,
           CASE WHEN c.payment_type = 'wallet' THEN '' ELSE t.pnref END, CAST(NULL AS BIGINT), '', ''
    FROM purchases_contracttransaction AS t
    JOIN purchases_recurringcontract AS c ON c.id = t.contract_id
    WHERE t.status = 'approved' AND t.amount > 0
"""
REFUNDS = """
    SELECT r.created_at, 'refund', -r.amount, r.currency, p.buyer_id, p.subscription_id,
           p.pricing_model_id, p.id, t.contract_id, r.contract_transaction_id, r.id,
           CAST(NULL AS BIGINT),
           CASE WHEN r.contract_transaction_id IS NULL
                THEN (SELECT j.id FROM purchases_journalentry AS j
                      WHERE j.purchase_id = p.id AND j.kind = 'sale')
                ELSE (SELECT j.id FROM purchases_journalentry AS j
                      WHERE j.renewal_charge_id = r.contract_transaction_id
                        AND j.kind = 'renewal') END,
           r.method, r.gateway_reference, r.created_by_id, '', r.reason
    FROM purchases_refund AS r
    JOIN purchases_purchase AS p ON p.id = r.purchase_id
    LEFT JOIN purchases_contracttransaction AS t ON t.id = r.contract_transaction_id
"""
WALLET = """
    SELECT w.created_at,
           CASE w.kind WHEN 'top_up' THEN 'wallet_top_up' WHEN 'purchase' THEN 'wallet_payment'
                       WHEN 'refund' THEN 'wallet_refund' ELSE 'wallet_adjustment' END,
           w.amount, w.currency, w.buyer_id,
           COALESCE(p.subscription_id, c.subscription_id),
           COALESCE(p.pricing_model_id, c.pricing_model_id),
           COALESCE(p.id, c.purchase_id), c.id, t.id, CAST(NULL AS BIGINT), w.id, CAST(NULL AS BIGINT),
           'wallet', '',
           w.created_by_id, '',
           CASE WHEN w.reason <> '' THEN w.reason ELSE w.reference END
    FROM buyers_walletentry AS w
    LEFT JOIN purchases_purchase AS p ON w.reference <> '' AND p.code = w.reference
    LEFT JOIN purchases_contracttransaction AS t
           ON w.reference LIKE 'contract:%%' AND t.idempotency_key = w.reference
    LEFT JOIN purchases_recurringcontract AS c ON c.id = t.contract_id
"""
# Sales and renewals first: a refund names the row of the charge it reverses.
SOURCES = (SALES, RENEWALS, REFUNDS, WALLET)

# Eight letters and digits, drawn per row (the base64 of an md5 of a random number, with its
# two non-alphanumeric symbols taken out); a code already taken is drawn again below.
PG_CODE = (
    "substr(translate(encode(decode(md5(random()::text || clock_timestamp()::text), 'hex'), "
    "'base64'), '+/=', ''), 1, 8)"
)
PG_INSERT = """
    INSERT INTO purchases_journalentry (code, {columns})
    SELECT {code}, s.* FROM ({source}) AS s
    ON CONFLICT DO NOTHING
"""

PG_DAYS = """
    INSERT INTO purchases_journalday
        (day, currency, kind, payment_type, subscription_id, amount, entries)
    SELECT (booked_at AT TIME ZONE %s)::date, currency, kind, payment_type, subscription_id,
           sum(amount), count(*)
    FROM purchases_journalentry
    GROUP BY 1, 2, 3, 4, 5
"""
PG_SHOP_DAYS = """
    INSERT INTO purchases_journalshopday (day, currency, kind, payment_type, amount, entries)
    SELECT day, currency, kind, payment_type, sum(amount), sum(entries)
    FROM purchases_journalday
    GROUP BY 1, 2, 3, 4
"""

APPEND_ONLY = """
CREATE FUNCTION purchases_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% of % refused: its rows are never changed or deleted; book a correction',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER journal_entry_append_only BEFORE UPDATE OR DELETE ON purchases_journalentry
    FOR EACH ROW EXECUTE FUNCTION purchases_refuse_change();
CREATE TRIGGER closed_period_append_only BEFORE UPDATE OR DELETE ON purchases_closedperiod
    FOR EACH ROW EXECUTE FUNCTION purchases_refuse_change();
CREATE TRIGGER closed_period_total_append_only BEFORE UPDATE OR DELETE
    ON purchases_closedperiodtotal FOR EACH ROW EXECUTE FUNCTION purchases_refuse_change();

CREATE FUNCTION purchases_journal_refuse_closed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    closed timestamptz;
BEGIN
    SELECT max(ends_at) INTO closed FROM purchases_closedperiod;
    IF closed IS NOT NULL AND EXISTS (SELECT 1 FROM new_rows WHERE booked_at < closed) THEN
        RAISE EXCEPTION 'The books are closed until %: nothing may be booked before it', closed
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER journal_entry_open_period AFTER INSERT ON purchases_journalentry
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION purchases_journal_refuse_closed();
"""
APPEND_ONLY_REVERSE = """
DROP TRIGGER journal_entry_open_period ON purchases_journalentry;
DROP FUNCTION purchases_journal_refuse_closed();
DROP TRIGGER closed_period_total_append_only ON purchases_closedperiodtotal;
DROP TRIGGER closed_period_append_only ON purchases_closedperiod;
DROP TRIGGER journal_entry_append_only ON purchases_journalentry;
DROP FUNCTION purchases_refuse_change();
"""


def backfill_postgresql(cursor):
    for source in SOURCES:
        while True:
            cursor.execute(PG_INSERT.format(columns=COLUMNS, code=PG_CODE, source=source))
            if not cursor.rowcount:
                break
            # A drawn code that was taken left its row out: the next round books only those,
            # since the unique keys (one sale per purchase, one row per renewal charge, refund
            # and wallet entry) skip what is booked.
    cursor.execute(PG_DAYS, [settings.TIME_ZONE])
    cursor.execute(PG_SHOP_DAYS)


def backfill_in_python(cursor):
    """SQLite: the same SELECTs, codes drawn in Python, days summed in Python."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    codes = set()
    placeholders = ", ".join(["%s"] * (COLUMNS.count(",") + 2))
    for source in SOURCES:
        cursor.execute(source.replace("%%", "%"))
        rows = cursor.fetchall()
        batch = []
        for row in rows:
            code = new_public_code()
            while code in codes:
                code = new_public_code()
            codes.add(code)
            batch.append((code, *row))
        cursor.executemany(
            f"INSERT INTO purchases_journalentry (code, {COLUMNS}) VALUES ({placeholders})",  # noqa: S608
            batch,
        )
    cursor.execute(
        "SELECT booked_at, currency, kind, payment_type, subscription_id, amount "
        "FROM purchases_journalentry"
    )
    days = defaultdict(lambda: [Decimal(0), 0])
    for booked_at, currency, kind, payment_type, subscription_id, amount in cursor.fetchall():
        if isinstance(booked_at, str):
            booked_at = timezone.datetime.fromisoformat(booked_at)
        if timezone.is_naive(booked_at):
            booked_at = booked_at.replace(tzinfo=zoneinfo.ZoneInfo("UTC"))
        total = days[(booked_at.astimezone(zone).date(), currency, kind, payment_type,
                      subscription_id)]
        total[0] += Decimal(str(amount))
        total[1] += 1
    cursor.executemany(
        "INSERT INTO purchases_journalday "
        "(day, currency, kind, payment_type, subscription_id, amount, entries) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [(*key, str(total[0]), total[1]) for key, total in days.items()],
    )
    shop_days = defaultdict(lambda: [Decimal(0), 0])
    for key, (amount, count) in days.items():
        shop_days[key[:4]][0] += amount
        shop_days[key[:4]][1] += count
    cursor.executemany(
        "INSERT INTO purchases_journalshopday "
        "(day, currency, kind, payment_type, amount, entries) VALUES (%s, %s, %s, %s, %s, %s)",
        [(*key, str(total[0]), total[1]) for key, total in shop_days.items()],
    )


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            backfill_postgresql(cursor)
        else:
            backfill_in_python(cursor)
    apps.get_model("purchases", "JournalDayZone").objects.create(
        time_zone=settings.TIME_ZONE, built_at=timezone.now()
    )


def append_only(apps, schema_editor):
    # Through a plain cursor: the schema editor would read RAISE's "%" as placeholders.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(APPEND_ONLY)


def allow_changes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(APPEND_ONLY_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("purchases", "0017_money_journal")]

    operations = [
        # Reversed by dropping the tables (the previous migration's reversal).
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(append_only, allow_changes),
    ]
