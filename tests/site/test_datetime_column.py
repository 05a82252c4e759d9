"""core.listing.DateTimeColumn shows what django-tables2's DateTimeColumn does, and exports the
time itself."""

from datetime import UTC, date, datetime

import django_tables2 as tables
import pytest

from core.listing import DateTimeColumn

VALUES = [
    datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # the night the shop's clocks change
    datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5),  # naive
    datetime(7, 8, 9, 10, 11, 12, 999_999, tzinfo=UTC),  # a year of one digit
    None,
]


def tables_for(fmt):
    class Ours(tables.Table):
        when = DateTimeColumn(format=fmt) if fmt else DateTimeColumn()

    class Theirs(tables.Table):
        when = tables.DateTimeColumn(format=fmt) if fmt else tables.DateTimeColumn()

    data = [{"when": value} for value in VALUES]
    return Ours(data), Theirs(data)


@pytest.mark.parametrize("fmt", ["Y-m-d H:i", "Y-m-d", "Y-m-d H:i:s", None])
def test_cells_and_exported_values_are_django_tables2s(fmt, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    ours, theirs = tables_for(fmt)
    for our_row, their_row in zip(ours.rows, theirs.rows, strict=True):
        assert str(our_row.get_cell("when")) == str(their_row.get_cell("when")).strip()
        if our_row.record["when"] is None:
            # Exported empty rather than "—": a spreadsheet reads the column as dates.
            assert our_row.get_cell_value("when") is None
        else:
            # Exported as the time itself: the export writes it in the shop's time zone, to
            # the second, the zone in the header (core.csv_export).
            assert our_row.get_cell_value("when") == our_row.record["when"]


def test_a_date_shows_with_a_date_format_and_a_dash_with_a_time_format():
    class Ours(tables.Table):
        day = DateTimeColumn(format="Y-m-d")
        moment = DateTimeColumn(format="Y-m-d H:i")

    row = next(iter(Ours([{"day": date(2030, 12, 31), "moment": date(2030, 12, 31)}]).rows))
    assert str(row.get_cell("day")) == "2030-12-31"
    assert str(row.get_cell("moment")) == "—"  # django-tables2's column raises TypeError here


def test_a_time_is_shown_in_the_shops_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    ours, _ = tables_for("Y-m-d H:i")
    assert str(next(iter(ours.rows)).get_cell("when")) == "2026-03-29 01:30"
