"""Times and amounts as the generator computes with them, and as the database reads them.

The generator counts time in epoch seconds (ints) and money in the currency's minor units (ints):
cheap to add and compare in a loop that runs a million times. A row holds them as the text
PostgreSQL's COPY reads (and SQLite stores), made here once per value.
"""

from datetime import UTC, datetime
from decimal import Decimal

from core.money import minor_digits

DAY = 86400


def as_datetime(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def as_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_digits(currency))


class DatabaseText:
    """Epoch seconds and minor units as the database's text for a timestamp and a decimal."""

    def __init__(self, *, postgres: bool, currencies):
        self.postgres = postgres
        self._hours = {}
        suffix = "+00" if postgres else ""
        self._seconds = [f"{s // 60:02d}:{s % 60:02d}{suffix}" for s in range(3600)]
        self.minor = {c: minor_digits(c) for c in currencies}
        self._amounts = {c: {} for c in currencies}  # a few thousand prices, balances, refunds

    def ts(self, t):
        """Epoch seconds as the database's text: 'YYYY-MM-DD HH:' cached per hour, then
        'MM:SS' from a table of the hour's 3600 seconds."""
        if t is None:
            return None
        hour, second = divmod(int(t), 3600)
        text = self._hours.get(hour)
        if text is None:
            text = self._hours[hour] = as_datetime(hour * 3600).strftime("%Y-%m-%d %H:")
        return text + self._seconds[second]

    def money(self, minor, currency):
        known = self._amounts[currency]
        text = known.get(minor)
        if text is None:
            text = known[minor] = self._decimal(minor, self.minor[currency])
        return text

    @staticmethod
    def _decimal(minor, digits):
        if digits == 0:
            return str(minor)
        sign = "-" if minor < 0 else ""
        whole, part = divmod(abs(minor), 10**digits)
        return f"{sign}{whole}.{part:0{digits}d}"

    def purchase_amount(self, list_price, discount, currency):
        """The amount charged as text; on SQLite the double its CHECK computes, since SQLite
        subtracts decimals as floating point (59.99 - 29.99 is not 30.00 there)."""
        if self.postgres or not discount:
            return self.money(list_price - discount, currency)
        return float(self.money(list_price, currency)) - float(self.money(discount, currency))
