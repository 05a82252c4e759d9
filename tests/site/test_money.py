"""ISO 4217 currencies and their minor units, from the ISO table itself."""

from decimal import Decimal

import pytest

from core.money import (
    currency_choices,
    currency_codes,
    has_more_digits_than_currency,
    minor_digits,
    quantize,
    to_minor_units,
)


@pytest.mark.parametrize(
    ("currency", "digits"),
    [
        ("EUR", 2),
        ("USD", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("IQD", 3),
        ("RSD", 2),
    ],
)
def test_minor_digits_are_iso_4217s(currency, digits):
    assert minor_digits(currency) == digits


def test_the_choices_offer_currencies_in_use_not_funds_metals_or_withdrawn_ones():
    codes = currency_codes()
    assert {"EUR", "USD", "GBP", "JPY", "CHF"} <= set(codes)
    assert not {"XAU", "XXX", "CHE", "BOV", "BGN", "DEM"} & set(codes)
    assert ("EUR", "EUR · Euro") in currency_choices()


def test_rounding_is_half_up_to_the_minor_units():
    assert quantize(Decimal("1.005"), "EUR") == Decimal("1.01")
    assert quantize(Decimal("2.5"), "JPY") == Decimal("3")
    assert to_minor_units(Decimal("12.34"), "EUR") == 1234
    assert to_minor_units(Decimal("5"), "KWD") == 5000
    assert has_more_digits_than_currency(Decimal("1.234"), "EUR")
    assert not has_more_digits_than_currency(Decimal("1.230"), "EUR")
