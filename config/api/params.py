"""Reading API parameters by shape only (text, a whole number, an amount, a yes/no, a date);
whether a value is allowed is the services' rule, not this module's."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation


class BadParameter(Exception):
    """A parameter missing or not of its type, or naming nothing that exists."""

    def __init__(self, parameter: str, message: str, *, code: str = "invalid", status=400):
        super().__init__(message)
        self.parameter, self.message, self.code, self.status = parameter, message, code, status


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


def given(params, name: str) -> bool:
    return params.get(name) is not None


def text(params, name: str, *, required: bool = False) -> str:
    value = (params.get(name) or "").strip()
    if required and not value:
        raise BadParameter(name, f"The parameter “{name}” is required.", code="required")
    return value


def integer(params, name: str) -> int | None:
    value = text(params, name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadParameter(name, f"The parameter “{name}” must be a whole number.") from None


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
    if number is None or not number.is_finite():
        raise BadParameter(name, f"The parameter “{name}” must be an amount like 100.00.")
    return number


def date_or_time(params, name: str) -> date | datetime | None:
    """YYYY-MM-DD (the service reads a date alone as 00:00:01 or 23:59:59) or with H:i:s."""
    value = text(params, name)
    if not value:
        return None
    if len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            continue
    raise BadParameter(
        name, f"The parameter “{name}” must be a date as YYYY-MM-DD or YYYY-MM-DD H:i:s."
    )
