"""Keyset ("seek") paging: the page after a row is found by its sort key, not by counting rows.

`ORDER BY … OFFSET 999975` makes the database walk a million rows; `WHERE (sort key) > (the last
row's key) ORDER BY … LIMIT 25` reads 25 from an index, however deep the page. A Keyset reads the
ordering of a queryset, turns a row into an opaque cursor token, and turns a token back into the
filter for the rows after (or before) it. NULLs sort where the database puts them: last in
ascending order on PostgreSQL, first on SQLite.
"""

import base64
import binascii
import json
from datetime import date, datetime, time
from decimal import Decimal
from uuid import UUID

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connections
from django.db.models import F, Q
from django.db.models.expressions import OrderBy


class Keyset:
    def __init__(self, queryset):
        self.queryset = queryset
        self.keys = self._ordering_keys(queryset)  # [(path, descending, model field)] or None

    @property
    def usable(self) -> bool:
        return bool(self.keys)

    @staticmethod
    def _ordering_keys(queryset):
        model = queryset.model
        keys = []
        for item in queryset.query.order_by:
            if isinstance(item, str):
                descending, path = item.startswith("-"), item.lstrip("-")
            elif isinstance(item, OrderBy) and isinstance(item.expression, F):
                descending, path = item.descending, item.expression.name
            else:
                return None
            if path == "?":
                return None
            field = _resolve_field(model, path)
            if field is None:
                return None
            keys.append((path, descending, field))
        if not keys or not keys[-1][2].unique:
            return None  # without a unique last key a cursor cannot point at one row
        return keys

    def signature(self) -> list[str]:
        return [f"{'-' if descending else ''}{path}" for path, descending, _ in self.keys]

    def token_for(self, record) -> str:
        values = [_value_at(record, path) for path, _, _ in self.keys]
        raw = json.dumps([self.signature(), values], default=_encode, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def values_from(self, token: str):
        """The sort key in `token`, or None when it is malformed or made for another ordering."""
        try:
            padded = token + "=" * (-len(token) % 4)
            signature, values = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if signature != self.signature() or len(values) != len(self.keys):
                return None
            return [
                None if value is None else field.to_python(value)
                for value, (_, _, field) in zip(values, self.keys, strict=True)
            ]
        except (ValueError, TypeError, binascii.Error, ValidationError, UnicodeDecodeError):
            return None

    def after(self, values) -> Q:
        """Rows strictly after the row whose sort key is `values`, in this ordering."""
        return self._beyond(values, forward=True)

    def before(self, values) -> Q:
        """Rows strictly before it."""
        return self._beyond(values, forward=False)

    def _beyond(self, values, *, forward: bool) -> Q:
        nulls_large = connections[self.queryset.db].vendor != "sqlite"
        condition = Q(pk__in=[])
        equal_so_far = Q()
        for (path, descending, _), value in zip(self.keys, values, strict=True):
            greater = forward != descending
            condition |= equal_so_far & _strictly(path, value, greater, nulls_large)
            equal_so_far &= Q(**{f"{path}__isnull": True}) if value is None else Q(**{path: value})
        # The same bound on the first key alone lets the database start its index scan there.
        path, descending, field = self.keys[0]
        first = values[0]
        if first is not None and not field.null:
            greater = forward != descending
            condition &= Q(**{f"{path}__{'gte' if greater else 'lte'}": first})
        return condition

    def reversed_ordering(self):
        return [
            F(path).asc() if descending else F(path).desc() for path, descending, _ in self.keys
        ]


def _strictly(path, value, greater: bool, nulls_large: bool) -> Q:
    """Rows whose `path` sorts strictly greater (or smaller) than `value`, NULLs included."""
    is_null, not_null = Q(**{f"{path}__isnull": True}), Q(**{f"{path}__isnull": False})
    nothing = Q(pk__in=[])
    if value is None:
        if greater:
            return nothing if nulls_large else not_null
        return not_null if nulls_large else nothing
    compare = Q(**{f"{path}__{'gt' if greater else 'lt'}": value})
    if greater:
        return compare | is_null if nulls_large else compare
    return compare if nulls_large else compare | is_null


def _resolve_field(model, path):
    if path == "pk":
        return model._meta.pk
    field = None
    for part in path.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if field.is_relation:
            if not (field.many_to_one or field.one_to_one) or part == path.split("__")[-1]:
                return None
            model = field.related_model
    return field


def _value_at(record, path):
    value = record
    for part in path.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _encode(value):
    # Full precision: DjangoJSONEncoder would cut datetimes to milliseconds, and a cursor must
    # compare equal to the row it came from.
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")
