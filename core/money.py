"""Money in the catalog: ISO 4217 currencies and amounts rounded to each currency's minor units.

The currencies and their minor units (2 for EUR, 0 for JPY, 3 for KWD) come from the `iso4217`
package, which ships the ISO 4217 maintenance agency's own table, rather than a hand-kept one:
a currency change (BGN gave way to EUR in 2026) is a package update, not a code change. Babel's
CLDR data was considered and not used: its "digits" are the units in practical use, which differ
from ISO 4217 for a dozen currencies (IQD 0 instead of 3, RSD 0 instead of 2), and payment
gateways speak ISO 4217. Babel does give the currencies' names in the reader's language when it
is not English (names only: the units stay ISO 4217's).
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import get_currency_name
from django.utils import translation
from iso4217 import Currency, raw_xml

# The model columns keep this many decimal places: the most ISO 4217 gives any currency (UYW).
STORED_DECIMAL_PLACES = 4


@lru_cache(maxsize=1)
def _currencies() -> dict[str, Currency]:
    """Currencies with minor units, without funds (BOV, CHE, ...) and metals (XAU, ...)."""
    funds = {
        entry.findtext("Ccy")
        for entry in raw_xml.findall("CcyTbl/CcyNtry")
        if entry.find("CcyNm") is not None and entry.find("CcyNm").get("IsFund")
    }
    return {
        currency.code: currency
        for currency in sorted(Currency, key=lambda currency: currency.code)
        if currency.exponent is not None and currency.code not in funds
    }


def currency_codes() -> tuple[str, ...]:
    """ISO 4217 codes of the currencies in use today, sorted."""
    return tuple(_currencies())


def currency_choices() -> list[tuple[str, str]]:
    """Choices for a currency field in the active language: ("EUR", "EUR · Euro"), in Russian
    ("EUR", "EUR · Евро"); a currency CLDR has no name for is its code alone."""
    return _choices_in(translation.get_language() or "en")


@lru_cache(maxsize=8)
def _choices_in(language: str) -> list[tuple[str, str]]:
    if language.split("-")[0] == "en":
        return [
            (code, f"{code} · {currency.currency_name}") for code, currency in _currencies().items()
        ]
    locale = translation.to_locale(language)
    choices = []
    for code in _currencies():
        name = get_currency_name(code, locale=locale)
        choices.append((code, code if name == code else f"{code} · {name[:1].upper()}{name[1:]}"))
    return choices


def minor_digits(currency: str) -> int:
    """How many digits after the decimal point `currency` has (ISO 4217 minor units)."""
    return _currencies()[currency].exponent


def quantize(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to `currency`'s minor units: 1.005 EUR -> 1.01, 2.5 JPY -> 3."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-minor_digits(currency)), ROUND_HALF_UP)


def format_amount(amount: Decimal, currency: str) -> str:
    """`amount` with its currency's minor digits and the code: "1,234.50 EUR", "300 JPY"."""
    try:
        return f"{quantize(amount, currency):,} {currency}"
    except KeyError:  # not a currency we know: shown as stored
        return f"{amount} {currency}"


def to_minor_units(amount: Decimal, currency: str) -> int:
    """`amount` as an integer count of the currency's minor units: 12.34 EUR -> 1234."""
    return int(quantize(amount, currency).scaleb(minor_digits(currency)))


def has_more_digits_than_currency(amount: Decimal, currency: str) -> bool:
    """True when `amount` has digits the currency cannot hold, like 1.234 EUR or 10.5 JPY."""
    return quantize(amount, currency) != amount
