"""The data generator puts every value in its own column: each row it loads fills exactly its
model's columns, each with a value of that column's kind (a time where a time goes, an amount
where an amount goes, a status among the statuses). A model that gains a column the generator
does not fill stops the load with a message naming it, and nothing is written."""

import ipaddress
import re
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, models

from buyers.models import Buyer
from purchases.generator import generate_data, load
from purchases.generator.load import LOADED, ColumnMismatch, RowWriter
from purchases.models import Purchase
from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\+00)?")
DECIMAL = re.compile(r"-?(\d+)(?:\.(\d+))?")
POSITIVE = (
    models.PositiveBigIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
)


def problem(field, value):
    """What is wrong with `value` (as the generator hands it to the database) in `field`'s
    column, or None when it fits."""
    postgres = connection.vendor == "postgresql"
    kind = type(value).__name__
    if value is None:
        return None if field.null else "None in a NOT NULL column"
    if isinstance(field, models.BooleanField):
        return None if type(value) is bool else f"{kind} in a boolean column"
    if field.is_relation or isinstance(field, models.IntegerField):  # ids and counts
        if type(value) is not int:
            return f"{kind} {value!r} in an integer column"
        if isinstance(field, POSITIVE) and value < 0:
            return f"{value} in a column of positive numbers"
        return None
    if isinstance(field, models.DateTimeField):
        text = value if type(value) is str else ""
        if TIMESTAMP.fullmatch(text) and text.endswith("+00") == postgres:
            return None
        return f"{kind} {value!r} in a timestamp column"
    if isinstance(field, models.DecimalField):
        if type(value) is float and not postgres:
            return None  # SQLite's own subtraction (DatabaseText.purchase_amount)
        match = DECIMAL.fullmatch(value) if type(value) is str else None
        if match is None:
            return f"{kind} {value!r} in a decimal column"
        whole, places = match.group(1), match.group(2) or ""
        if (
            len(places) > field.decimal_places
            or len(whole) > field.max_digits - field.decimal_places
        ):
            return f"{value!r} does not fit a decimal({field.max_digits}, {field.decimal_places})"
        return None
    if isinstance(field, models.GenericIPAddressField):
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return f"{kind} {value!r} in an IP address column"
        return None
    if isinstance(field, models.CharField | models.TextField):  # e-mail and URL fields too
        if type(value) is not str:
            return f"{kind} {value!r} in a text column"
        if TIMESTAMP.fullmatch(value):
            return f"a time, {value!r}, in a text column"
        try:
            field.run_validators(value)
            if field.choices and not (value == "" and field.blank):
                field.validate(value, None)
        except ValidationError as invalid:
            return f"{value!r}: {' '.join(invalid.messages)}"
        return None
    return f"no rule for a {type(field).__name__} column yet: add one to this test"


@pytest.fixture
def loaded_rows(monkeypatch):
    """A small shop, and every row the generator handed to the writer, per model."""
    rows = defaultdict(list)
    add = RowWriter.add

    def add_and_keep(writer, model, row):
        rows[model].append(row)
        add(writer, model, row)

    monkeypatch.setattr(RowWriter, "add", add_and_keep)
    generate_data(purchases=600, buyers=100, contracts=60, seed=9, now=NOW)
    return rows


def test_every_loaded_row_fills_exactly_its_models_columns(loaded_rows):
    for model in LOADED:
        columns = {field.column for field in model._meta.concrete_fields}
        assert loaded_rows[model], f"no {model.__name__} rows: the checks below saw none"
        for row in loaded_rows[model]:
            assert set(row) == columns, model.__name__


def test_every_value_is_of_its_columns_kind(loaded_rows):
    misplaced = []
    for model in LOADED:
        for field in model._meta.concrete_fields:
            found = [problem(field, row[field.column]) for row in loaded_rows[model]]
            found = [text for text in found if text is not None]
            if found:
                misplaced.append(f"{model.__name__}.{field.column}: {found[0]} ({len(found)} rows)")
    assert misplaced == []


def test_the_kind_check_sees_a_value_put_in_the_wrong_column(loaded_rows):
    fields = {field.column: field for field in Purchase._meta.concrete_fields}
    row = dict(loaded_rows[Purchase][0])
    swapped = dict(row, created_at=row["amount"], amount=row["created_at"])
    assert problem(fields["created_at"], swapped["created_at"])  # an amount as a time
    assert problem(fields["amount"], swapped["amount"])  # a time as an amount
    assert problem(fields["buyer_id"], row["code"])  # text as an id
    assert problem(fields["status"], row["currency"])  # a currency as a status
    assert problem(fields["currency"], row["payment_type"])  # a payment type as a currency
    assert problem(fields["is_recurring"], 1)  # a number as a yes/no


def test_a_column_a_model_gains_stops_the_load_and_writes_nothing(monkeypatch):
    columns_of = load.columns_of
    monkeypatch.setattr(
        load,
        "columns_of",
        lambda model: columns_of(model) + (["loyalty_points"] if model is Purchase else []),
    )
    with pytest.raises(ColumnMismatch, match="Purchase's column 'loyalty_points'"):
        generate_data(purchases=50, seed=1, now=NOW)
    assert not Purchase.objects.exists()
    assert not Buyer.objects.exists()
    assert not Subscription.objects.exists()


def test_a_row_naming_a_column_its_model_lacks_is_refused_before_anything_is_written():
    writer = RowWriter(tables=(Buyer,))
    row = {
        "id": 1,
        "code": "AB123456",
        "email": "ann@example.com",
        "phone": "",
        "name": "Ann",
        "language": "en",
        "created_at": "2026-01-01 10:00:00" + ("+00" if writer.postgres else ""),
        "pin_hash": "",
        "pin_failed_attempts": 0,
        "pin_locked_at": None,
        "duplicate_of_id": None,
    }
    with pytest.raises(ColumnMismatch, match="Buyer columns it does not have: nickname"):
        writer.add(Buyer, dict(row, nickname="Annie"))
    with pytest.raises(ColumnMismatch, match="Buyer's column 'pin_locked_at'"):
        writer.add(Buyer, {key: value for key, value in row.items() if key != "pin_locked_at"})
    writer.flush()
    writer.close()
    assert not Buyer.objects.exists()
