""".xlsx downloads: the spreadsheet twin of every CSV export (core.csv_export), from the same
columns and the same rows.

A workbook of one sheet, written with XlsxWriter in its `constant_memory` mode (each row goes
to a temporary file as it is written, so memory stays flat however many rows; measured against
openpyxl's write-only mode in tests/bench/bench_xlsx.py: faster at the same flat memory). The
cells are typed, so a spreadsheet in any language reads them without guessing:
- times as dates with time (`yyyy-mm-dd hh:mm:ss`) in the shop's time zone, named in the header;
- amounts as numbers shown with their currency's minor digits (`0.00`, `0`, `0.000`), the
  currency in its own column;
- codes and text as text cells: leading zeros stay, and nothing a buyer typed can run as a
  formula (a text cell is never read as one), so text is written exactly as stored, without the
  CSV's quote prefix;
- the header row bold and frozen; after the rows, a totals row per currency for the amount
  columns (summed exactly as Decimals while the rows stream past; none when the export has no
  currency column, rather than a sum across currencies).

A zip's directory comes last, so a workbook cannot leave before its last row is written: the
file is built in a temporary file (deleted once sent) and then streamed from disk in blocks.
"""

import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter
from django.http import FileResponse
from django.utils.translation import gettext

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"


def _number_format(digits: int) -> str:
    return "0" if digits <= 0 else "0." + "0" * digits


def write_workbook(target, columns: Sequence, rows: Iterable[Sequence]) -> int:
    """Write `rows` (typed cells, one per column: core.csv_export.typed_value) under the
    columns' titles into a workbook at `target` (a path or a binary file); return the rows
    written. Amounts carry their digits in their Decimal exponent."""
    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "tmpdir": tempfile.gettempdir(),
            "remove_timezone": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    sheet = workbook.add_worksheet("Export")
    bold = workbook.add_format({"bold": True})
    time_format = workbook.add_format({"num_format": TIME_FORMAT})
    date_format = workbook.add_format({"num_format": DATE_FORMAT})
    number_formats: dict[int, object] = {}

    def money_format(digits: int):
        if digits not in number_formats:
            number_formats[digits] = workbook.add_format({"num_format": _number_format(digits)})
        return number_formats[digits]

    kinds = [column.kind for column in columns]
    for index, kind in enumerate(kinds):
        width = {"time": 19, "date": 11, "money": 12, "number": 10}.get(kind, 18)
        sheet.set_column(index, index, max(width, len(str(columns[index].title)) + 2))
    sheet.write_row(0, 0, [str(column.title) for column in columns], bold)
    sheet.freeze_panes(1, 0)

    money = [index for index, kind in enumerate(kinds) if kind == "money"]
    currency_index = _currency_column(columns)
    totals: dict[str, list[Decimal]] = {}
    digits_of: dict[str, int] = {}
    write_string, write_number = sheet.write_string, sheet.write_number
    row_number = 0
    for row_number, row in enumerate(rows, start=1):
        for index, (value, kind) in enumerate(zip(row, kinds, strict=True)):
            if value is None:
                continue
            if isinstance(value, Decimal) and kind in ("money", "any"):
                digits = max(0, -value.as_tuple().exponent)
                write_number(row_number, index, float(value), money_format(digits))
            elif isinstance(value, datetime):  # to the second, as the CSV writes it
                sheet.write_datetime(row_number, index, value.replace(microsecond=0), time_format)
            elif kind in ("time", "date") and isinstance(value, (date, str)):
                day = date.fromisoformat(value) if isinstance(value, str) else value
                sheet.write_datetime(row_number, index, day, date_format)
            elif isinstance(value, date) and kind == "any":
                sheet.write_datetime(row_number, index, value, date_format)
            elif isinstance(value, bool):
                sheet.write_boolean(row_number, index, value)
            elif kind == "number" or (kind == "any" and isinstance(value, (int, float))):
                write_number(row_number, index, float(value))
            else:
                write_string(row_number, index, str(value))
        if money and currency_index is not None:  # no sum across currencies
            currency = str(row[currency_index] or "")
            sums = totals.setdefault(currency, [Decimal(0)] * len(money))
            for position, index in enumerate(money):
                if row[index] is not None:
                    sums[position] += row[index]
                    digits_of[currency] = max(
                        digits_of.get(currency, 0), -row[index].as_tuple().exponent
                    )
    total_row = row_number + 1
    label = _label_column(columns, currency_index)
    for currency, sums in sorted(totals.items()):
        sheet.write_string(
            total_row, label, gettext("Total {currency}").format(currency=currency).strip(), bold
        )
        if currency_index not in (None, 0):
            sheet.write_string(total_row, currency_index, currency, bold)
        for position, index in enumerate(money):
            sheet.write_number(
                total_row, index, float(sums[position]), money_format(digits_of.get(currency, 2))
            )
        total_row += 1
    workbook.close()
    return row_number


def _label_column(columns: Sequence, currency_index: int | None) -> int:
    """Where a totals row says "Total EUR": the first text or code column (not a date's)."""
    for index, column in enumerate(columns):
        if column.kind in ("text", "code", "any") and index != currency_index:
            return index
    return 0


def _currency_column(columns: Sequence) -> int | None:
    """The column holding each row's currency (its source named like the amounts' currency)."""
    wanted = {column.currency for column in columns if column.kind == "money"}
    for index, column in enumerate(columns):
        if column.kind != "money" and column.source in wanted:
            return index
    return None


def xlsx_response(filename: str, columns: Sequence, rows: Iterable[Sequence]) -> FileResponse:
    """A download of `rows` as a workbook named `filename`, built in a temporary file that is
    gone from the disk once the response has sent it (it is unlinked while open)."""
    file = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (the response closes it)
    write_workbook(file, columns, rows)
    file.seek(0)
    return FileResponse(file, as_attachment=True, filename=filename, content_type=CONTENT_TYPE)
