"""Text that must stay on one line (names, titles, subjects, e-mail headers): control characters
(CR, LF, NUL, tab and the rest of Unicode's Cc category) are refused by the services, and text
written before that rule is made safe where it becomes a header."""

import re

from django.db import models

# Cc: U+0000-U+001F and U+007F-U+009F.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# What a multi-line text (a description) may hold besides printable characters.
_MULTILINE_ALLOWED = {"\n", "\r", "\t"}


def has_control_character(value, *, multiline: bool = False) -> bool:
    """Whether `value` holds a control character (for multi-line text: other than CR, LF, tab)."""
    if not isinstance(value, str):
        return False
    found = _CONTROL.findall(value)
    if multiline:
        found = [c for c in found if c not in _MULTILINE_ALLOWED]
    return bool(found)


def single_line(value: str) -> str:
    """`value` with every run of control characters made one space (for an e-mail header)."""
    return " ".join(_CONTROL.sub(" ", value or "").split())


def field_with_control_character(instance: models.Model) -> str | None:
    """The name of the first text field of `instance` that holds a control character that it
    may not (any in a one-line field, any but CR/LF/tab in a TextField), or None."""
    for field in instance._meta.concrete_fields:
        if not isinstance(field, models.CharField | models.TextField):
            continue
        value = getattr(instance, field.attname, None)
        if has_control_character(value, multiline=isinstance(field, models.TextField)):
            return field.name
    return None
