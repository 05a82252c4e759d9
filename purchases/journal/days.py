"""The journal's daily totals (JournalDay): rebuilt from the journal, and checked against it.

Booking keeps them (booking.py, in each journal row's transaction); they are rebuilt only when
the shop's time zone changes (`manage.py rebuild_journal_days`), because a day is a local day.
"""

from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .booking import shop_zone
from .models import JournalDay, JournalDayZone, JournalEntry, JournalShopDay

REBUILD_SQL = """
    INSERT INTO purchases_journalday
        (day, currency, kind, payment_type, subscription_id, amount, entries)
    SELECT (booked_at AT TIME ZONE %s)::date, currency, kind, payment_type, subscription_id,
           sum(amount), count(*)
    FROM purchases_journalentry
    GROUP BY 1, 2, 3, 4, 5
"""
REBUILD_SHOP_SQL = """
    INSERT INTO purchases_journalshopday (day, currency, kind, payment_type, amount, entries)
    SELECT day, currency, kind, payment_type, sum(amount), sum(entries)
    FROM purchases_journalday
    GROUP BY 1, 2, 3, 4
"""


def days_are_current() -> bool:
    """Whether JournalDay's days are local days of today's SHOP_TIME_ZONE."""
    zone = JournalDayZone.objects.values_list("time_zone", flat=True).first()
    return zone == settings.TIME_ZONE


@transaction.atomic
def rebuild_days() -> int:
    """Recompute every day's totals from the journal in the shop's time zone; answers how many
    days (keys) there are. Bookings wait meanwhile (the journal is locked against writes)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE purchases_journalentry IN SHARE MODE")
            cursor.execute("DELETE FROM purchases_journalday")
            cursor.execute("DELETE FROM purchases_journalshopday")
            cursor.execute(REBUILD_SQL, [settings.TIME_ZONE])
            cursor.execute(REBUILD_SHOP_SQL)
    else:
        JournalDay.objects.all().delete()
        JournalShopDay.objects.all().delete()
        days = journal_days()
        JournalDay.objects.bulk_create(
            JournalDay(
                day=day,
                currency=currency,
                kind=kind,
                payment_type=payment_type,
                subscription_id=subscription or None,
                amount=amount,
                entries=count,
            )
            for (day, currency, kind, payment_type, subscription), (amount, count) in days.items()
        )
        JournalShopDay.objects.bulk_create(
            JournalShopDay(
                day=day, currency=currency, kind=kind, payment_type=payment_type, **figures
            )
            for (day, currency, kind, payment_type), figures in shop_days_of(days).items()
        )
    JournalDayZone.objects.all().delete()
    JournalDayZone.objects.create(time_zone=settings.TIME_ZONE, built_at=timezone.now())
    return JournalDay.objects.count()


def journal_days() -> dict[tuple, tuple[Decimal, int]]:
    """The journal summed per (local day, currency, kind, payment type, subscription id or 0),
    in Python: what JournalDay must hold."""
    zone = shop_zone()
    sums: dict[tuple, list] = defaultdict(lambda: [Decimal(0), 0])
    for booked_at, currency, kind, payment_type, subscription, amount in (
        JournalEntry.objects.order_by()
        .values_list("booked_at", "currency", "kind", "payment_type", "subscription", "amount")
        .iterator(chunk_size=5000)
    ):
        total = sums[
            (booked_at.astimezone(zone).date(), currency, kind, payment_type, subscription or 0)
        ]
        total[0] += amount
        total[1] += 1
    return {key: (amount, count) for key, (amount, count) in sums.items()}


def shop_days_of(days: dict) -> dict[tuple, dict]:
    """Subscriptions' days summed into the shop's (the subscription left out of the key)."""
    shop: dict[tuple, dict] = defaultdict(lambda: {"amount": Decimal(0), "entries": 0})
    for key, (amount, count) in days.items():
        shop[key[:4]]["amount"] += amount
        shop[key[:4]]["entries"] += count
    return shop


def stored_days() -> dict[tuple, tuple[Decimal, int]]:
    return {
        (day, currency, kind, payment_type, subscription or 0): (amount, count)
        for day, currency, kind, payment_type, subscription, amount, count in (
            JournalDay.objects.order_by().values_list(
                "day", "currency", "kind", "payment_type", "subscription", "amount", "entries"
            )
        )
        if count
    }


def stored_shop_days() -> dict[tuple, tuple[Decimal, int]]:
    return {
        (day, currency, kind, payment_type): (amount, count)
        for day, currency, kind, payment_type, amount, count in (
            JournalShopDay.objects.order_by().values_list(
                "day", "currency", "kind", "payment_type", "amount", "entries"
            )
        )
        if count
    }


def days_differences() -> list[tuple]:
    """Where the daily totals differ from the journal: (key, stored, journal) per differing key
    of JournalDay (5 parts) or JournalShopDay (4 parts)."""
    expected = journal_days()
    expected_shop = {
        key: (figures["amount"], figures["entries"])
        for key, figures in shop_days_of(expected).items()
    }
    differences = []
    for stored, wanted in ((stored_days(), expected), (stored_shop_days(), expected_shop)):
        differences += [
            (key, stored.get(key), wanted.get(key))
            for key in sorted(set(stored) | set(wanted), key=str)
            if stored.get(key) != wanted.get(key)
        ]
    return differences
