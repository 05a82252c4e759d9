"""Reading API parameters by shape only (text, a whole number, an amount, a yes/no, a date);
whether a value is allowed is the services' rule, not this module's."""

import ipaddress
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.conf import settings

from core.money import STORED_DECIMAL_PLACES
from subscriptions.models import MONEY_DIGITS
from subscriptions.services import END_OF_DAY, START_OF_DAY


class BadParameter(Exception):
    """A parameter missing or not of its type, or naming nothing that exists."""

    def __init__(self, parameter: str, message: str, *, code: str = "invalid", status=400):
        super().__init__(message)
        self.parameter, self.message, self.code, self.status = parameter, message, code, status


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
MAX_INTEGER = 2**31 - 1
MAX_AMOUNT = Decimal(10) ** (MONEY_DIGITS - STORED_DECIMAL_PLACES)
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


def given(params, name: str) -> bool:
    return params.get(name) is not None


def text(params, name: str, *, required: bool = False, max_length: int | None = None) -> str:
    value = (params.get(name) or "").strip()
    if required and not value:
        raise BadParameter(name, f"The parameter “{name}” is required.", code="required")
    if "\x00" in value:
        raise BadParameter(name, f"The parameter “{name}” must not contain NUL characters.")
    if max_length is not None and len(value) > max_length:
        raise BadParameter(
            name, f"The parameter “{name}” has {max_length} characters at most.", code="too_long"
        )
    return value


def column_text(params, name: str, model, field: str, *, required: bool = False) -> str:
    """Text for `model.field`, at most as long as its column (as a form of it would check)."""
    max_length = model._meta.get_field(field).max_length
    return text(params, name, required=required, max_length=max_length)


def ip_address(params, name: str) -> str | None:
    value = text(params, name)
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise BadParameter(name, f"The parameter “{name}” must be an IP address.") from None


def integer(params, name: str) -> int | None:
    value = text(params, name)
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = None
    # A number a database integer column holds; beyond it the value cannot be meant.
    if number is None or abs(number) > MAX_INTEGER:
        raise BadParameter(name, f"The parameter “{name}” must be a whole number.")
    return number


def boolean(params, name: str) -> bool:
    value = text(params, name).lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise BadParameter(name, f"The parameter “{name}” must be 1 or 0 (true or false).")


def amount(params, name: str) -> Decimal | None:
    value = text(params, name)
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = None
    # An amount the money columns hold (MONEY_DIGITS digits, STORED_DECIMAL_PLACES of them
    # decimals); whether it is allowed (not negative, the currency's decimals) is the service's.
    if number is None or not number.is_finite() or abs(number) >= MAX_AMOUNT:
        raise BadParameter(name, f"The parameter “{name}” must be an amount like 100.00.")
    return number


# Dates a shop can mean: far-off years would overflow date arithmetic (a year 9999 start plus
# a period in days) rather than be refused as a rule.
YEARS = range(1970, 3000)
# Reference 004 clients' "no date", which the PPV API answers for one too (read back as such).
ZERO_DATE = "0000-00-00 00:00:00"
ZERO_DATES = {ZERO_DATE, "0000-00-00", "0000-00-00 00:00"}


class ZeroDate:
    """The zero date given as a parameter: each method says what it means there."""

    def __repr__(self):
        return ZERO_DATE


ZERO = ZeroDate()


def api_zone() -> ZoneInfo:
    """The time zone the PPV API reads and writes dates in (PPV_API_TIME_ZONE)."""
    return ZoneInfo(settings.PPV_API_TIME_ZONE)


def _parse_date_or_time(value: str) -> date | datetime | None:
    if len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            continue
    return None


def date_or_time(params, name: str, *, end_of_day: bool) -> datetime | ZeroDate | None:
    """YYYY-MM-DD or YYYY-MM-DD H:i:s in PPV_API_TIME_ZONE, as an aware datetime; a date alone
    is 00:00:01 or, with `end_of_day`, 23:59:59 (reference 004). The zero date answers ZERO."""
    value = text(params, name)
    if not value:
        return None
    if value in ZERO_DATES:
        return ZERO
    parsed = _parse_date_or_time(value)
    if parsed is None or parsed.year not in YEARS:
        raise BadParameter(
            name,
            f"The parameter “{name}” must be a date as YYYY-MM-DD or YYYY-MM-DD H:i:s "
            f"(years {YEARS.start} to {YEARS.stop - 1}), or {ZERO_DATE} for none.",
        )
    if not isinstance(parsed, datetime):
        parsed = datetime.combine(parsed, END_OF_DAY if end_of_day else START_OF_DAY)
    return parsed.replace(tzinfo=api_zone())
