"""Streaming CSV downloads: the first byte leaves at once and memory stays flat.

Cells are made safe for spreadsheets (OWASP CSV injection): a text cell that starts with
`=`, `+`, `-`, `@`, tab or carriage return is prefixed with a single quote so no spreadsheet
reads it as a formula. Numbers are written as they are.
"""

import csv
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.utils import timezone

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 500


def neutralise_cell(value):
    """The cell as a spreadsheet should see it: text that could run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, datetime):
        return (
            timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _LineBuffer:
    """A file-like object that hands back what csv.writer writes instead of storing it."""

    def write(self, value):
        return value


def iter_csv_chunks(header: list[str], rows: Iterable[Iterable], *, excel: bool = False):
    """Yield the CSV text in chunks of ROWS_PER_CHUNK rows, header first."""
    writer = csv.writer(_LineBuffer())
    first = ("\ufeff" if excel else "") + writer.writerow([neutralise_cell(h) for h in header])
    yield first
    chunk = []
    for row in rows:
        chunk.append(writer.writerow([neutralise_cell(cell) for cell in row]))
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def csv_download(
    filename: str, header: list[str], rows: Iterable[Iterable], *, excel: bool = False
):
    """A streaming response that downloads `rows` as `filename`."""
    response = StreamingHttpResponse(
        iter_csv_chunks(header, rows, excel=excel), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
