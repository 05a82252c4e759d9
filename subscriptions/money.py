"""Money in the catalog: ISO 4217 currencies and amounts rounded to each currency's minor units.

The minor digits (2 for EUR, 0 for JPY, 3 for KWD) and the list of currencies come from Babel's
copy of the Unicode CLDR data rather than a hand-kept table, so a currency reform is a package
update, not a code change.
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.core import get_global
from babel.numbers import get_currency_name, get_currency_precision

# The model columns keep this many decimal places: enough for every currency in use (CLF has 4).
STORED_DECIMAL_PLACES = 4


@lru_cache(maxsize=1)
def currency_codes() -> tuple[str, ...]:
    """ISO 4217 codes that are legal tender somewhere today (no withdrawn or fund codes)."""
    codes = set()
    for currencies in get_global("territory_currencies").values():
        for code, _start, end, tender in currencies:
            if end is None and tender:
                codes.add(code)
    return tuple(sorted(codes))


def currency_choices() -> list[tuple[str, str]]:
    """Choices for a currency field: ("EUR", "EUR · Euro")."""
    return [(code, f"{code} · {get_currency_name(code, locale='en')}") for code in currency_codes()]


def minor_digits(currency: str) -> int:
    """How many digits after the decimal point `currency` has (ISO 4217 minor units)."""
    return get_currency_precision(currency)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to `currency`'s minor units: 1.005 EUR -> 1.01, 2.5 JPY -> 3."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-minor_digits(currency)), ROUND_HALF_UP)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """`amount` as an integer count of the currency's minor units: 12.34 EUR -> 1234."""
    return int(quantize(amount, currency).scaleb(minor_digits(currency)))


def has_more_digits_than_currency(amount: Decimal, currency: str) -> bool:
    """True when `amount` has digits the currency cannot hold, like 1.234 EUR or 10.5 JPY."""
    return quantize(amount, currency) != amount
