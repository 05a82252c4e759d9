"""CSV downloads: the one module every export of the site is written by.

A download streams: the first bytes leave at once and memory stays flat. The file is UTF-8 with
a header row, and a BOM first with `excel=1` so that Excel reads the encoding.

Cells are made safe for spreadsheets (OWASP CSV injection): a text cell that starts with `=`,
`+`, `-`, `@`, tab or carriage return is prefixed with a single quote, so no spreadsheet reads it
as a formula; numbers are written as they are. A field holding a comma, a quote or a line break is
quoted (its quotes doubled), as is a line of one field that is empty or exactly `\\.` (which would
read as a blank line, or as PostgreSQL's end of data).

Two kinds of export are written here, each keeping the line end its files have always had:

- a list page's table (core.listing.ListPageView): each cell as its column gives it, written by
  its type; lines end in CRLF, as the csv module's "excel" dialect ends them;
- a report (`CsvReport`): columns named once (`ExportColumn`: a header, an ORM path or
  expression, and a kind: text, money, time or number), read as one `SELECT` of exactly the
  filtered, sorted queryset the list page shows; lines end in LF, as PostgreSQL's COPY ends them.
  On PostgreSQL it runs as `COPY (SELECT <formatted> FROM (<query>) AS r) TO STDOUT WITH CSV`
  through psycopg 3, the formatting done by the database: amounts rounded to exactly their
  currency's minor digits (a CASE over the currencies that do not have 2), times as ISO 8601 in
  the shop's time zone (the session's TimeZone, restored afterwards), formula-like text quoted.
  COPY takes no bind parameters, so the query's parameters are inlined by psycopg's client-side
  `mogrify` (Django's `compose_sql`), which quotes them as literals. On SQLite (the embedded
  default) it reads `values().iterator()` and formats each cell in Python the same way, to the
  same bytes. Its file is named after the report and the date range of the filters.

Rows already computed (a summary's) download through `download_rows` with the same columns.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import connections
from django.db.models import Expression, F
from django.http import StreamingHttpResponse
from django.utils import timezone

from .money import currency_codes, minor_digits, quantize

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXCEL_LINE_END = "\r\n"  # a list page's table
COPY_LINE_END = "\n"  # a report, as PostgreSQL's COPY writes it
ROWS_PER_CHUNK = 1000


# --- Cells and lines ----------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Text as a spreadsheet should see it: text that could run as a formula is quoted."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def format_cell(value, kind: str = "any", currency: str | None = None) -> str:
    """A cell's text. A report column's kind says how: `money` with its currency's minor digits,
    `time` as ISO 8601 in the shop's time zone to the second, `number` as it is, `text`
    neutralised. A table's cells are of `any` kind, written by their type: yes/no, numbers as
    they are, dates and times as ISO 8601 (aware times in the shop's time zone), text
    neutralised."""
    if value is None:
        return ""
    if kind == "money":
        return f"{quantize(value, currency):f}" if currency else f"{value:f}"
    if kind == "time":
        if isinstance(value, datetime):
            return timezone.localtime(value).replace(microsecond=0).isoformat()
        return value.isoformat()
    if kind == "number":
        return str(value)
    if kind == "any":
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (int, float, Decimal)):
            return str(value)
        if isinstance(value, datetime):
            return (timezone.localtime(value) if timezone.is_aware(value) else value).isoformat()
        if isinstance(value, date):
            return value.isoformat()
    return neutralise(str(value))


def _field(text: str) -> str:
    if any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(cells: Iterable, end: str = COPY_LINE_END) -> str:
    """One line of CSV: each cell (already formatted) quoted when it must be."""
    fields = [str(cell) for cell in cells]
    if len(fields) == 1 and fields[0] in ("", "\\."):
        return f'"{fields[0]}"{end}'
    return ",".join(_field(field) for field in fields) + end


def csv_chunks(header: Iterable, rows: Iterable[Iterable], *, end: str = COPY_LINE_END):
    """The CSV text as bytes: the header line alone first (it leaves before any row is read),
    then the rows, ROWS_PER_CHUNK lines at a time."""
    yield csv_line(header, end).encode()
    chunk = []
    for row in rows:
        chunk.append(csv_line(row, end))
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()


def csv_response(filename: str, chunks: Iterable[bytes], *, excel: bool = False):
    """A streaming response downloading `chunks` as `filename`; with `excel`, a BOM first."""

    def content():
        if excel:
            yield "\ufeff".encode()
        yield from chunks

    response = StreamingHttpResponse(content(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def local_iso_date(value) -> str | None:
    """A date, or a time's date in the shop's time zone, as YYYY-MM-DD (None for anything else)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return None


# --- Reports: named columns, COPY on PostgreSQL ---------------------------------------------------


@dataclass(frozen=True)
class ExportColumn:
    header: str
    source: str | Expression  # an ORM path ("buyer__email") or an expression; a key of a row dict
    kind: str = "text"  # text | money | time | number
    currency: str = "currency"  # money only: the ORM path (or key) of the amount's currency


def download_rows(filename: str, columns: Sequence[ExportColumn], rows, *, excel=False):
    """A download of rows already computed (dicts keyed by each column's source)."""
    lines = (
        [format_cell(row[col.source], col.kind, row.get(col.currency)) for col in columns]
        for row in rows
    )
    return csv_response(
        filename, csv_chunks([column.header for column in columns], lines), excel=excel
    )


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _digits_case(column: str) -> str:
    """SQL: the minor digits of the currency in `column` (2 unless listed)."""
    by_digits: dict[int, list[str]] = {}
    for code in currency_codes():
        digits = minor_digits(code)
        if digits != 2:
            by_digits.setdefault(digits, []).append(code)
    branches = " ".join(
        f"WHEN {column} IN ({', '.join(_sql_literal(code) for code in codes)}) THEN {digits}"
        for digits, codes in sorted(by_digits.items())
    )
    return f"CASE {branches} ELSE 2 END"


# FORMULA_PREFIXES in SQL (control characters as chr(n)).
_SQL_FORMULA_PREFIXES = ", ".join(
    _sql_literal(prefix) if prefix.isprintable() else f"chr({ord(prefix)})"
    for prefix in FORMULA_PREFIXES
)


def _sql_cell(kind: str, column: str, currency_column: str | None) -> str:
    if kind == "money":
        return f"round({column}, {_digits_case(currency_column)})::text"
    if kind == "time":
        return f"""to_char({column}, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')"""
    if kind == "number":
        return f"{column}::text"
    text = f"{column}::text"
    formula = f"left({text}, 1) IN ({_SQL_FORMULA_PREFIXES})"
    return f"CASE WHEN {formula} THEN '''' || {text} ELSE NULLIF({text}, '') END"


@dataclass(frozen=True)
class CsvReport:
    """A CSV export: its name (the file's), its columns, and the filter naming its date range."""

    name: str
    columns: tuple[ExportColumn, ...]
    date_filter: str = "created"

    def header(self) -> list[str]:
        return [column.header for column in self.columns]

    def _values(self, queryset):
        values = {}
        for index, column in enumerate(self.columns):
            source = column.source
            values[f"c{index}"] = F(source) if isinstance(source, str) else source
            if column.kind == "money":
                values[f"m{index}"] = F(column.currency)
        return queryset.values(**values)

    def rows(self, queryset, using: str | None = None):
        """Yield the CSV text as bytes, header first, in chunks; COPY on PostgreSQL."""
        using = using or queryset.db
        if connections[using].vendor == "postgresql":
            yield from self._copy_rows(queryset, using)
        else:
            yield from self._iterator_rows(queryset)

    def _iterator_rows(self, queryset):
        records = self._values(queryset).iterator(chunk_size=2000)
        yield from csv_chunks(
            self.header(),
            (
                [
                    format_cell(record[f"c{i}"], column.kind, record.get(f"m{i}"))
                    for i, column in enumerate(self.columns)
                ]
                for record in records
            ),
        )

    def copy_sql(self, queryset, using: str | None = None) -> str:
        """The COPY statement for `queryset`, its parameters inlined as quoted literals."""
        connection = connections[using or queryset.db]
        sql, params = self._values(queryset).query.sql_with_params()
        inner = connection.ops.compose_sql(sql, params)
        cells = ", ".join(
            _sql_cell(column.kind, f'r."c{i}"', f'r."m{i}"')
            for i, column in enumerate(self.columns)
        )
        # `inner` was quoted by psycopg; `cells` is built from our own column kinds and aliases.
        return f"COPY (SELECT {cells} FROM ({inner}) AS r) TO STDOUT WITH (FORMAT csv)"  # noqa: S608

    def _copy_rows(self, queryset, using):
        yield csv_line(self.header()).encode()
        connection = connections[using]
        statement = self.copy_sql(queryset, using)
        with connection.cursor() as cursor:
            raw = cursor.cursor
            # to_char's TZH:TZM and the local time follow the session's time zone: the shop's.
            raw.execute("SELECT set_config('TimeZone', %s, false)", [settings.TIME_ZONE])
            try:
                with raw.copy(statement) as copy:
                    for block in copy:
                        yield bytes(block)
            finally:
                raw.execute(
                    "SELECT set_config('TimeZone', %s, false)",
                    [connection.timezone_name],
                )

    def filename(self, filterset=None) -> str:
        start = end = None
        if filterset is not None and filterset.is_bound and filterset.form.is_valid():
            value = filterset.form.cleaned_data.get(self.date_filter)
            if value is not None:
                start, end = value.start, value.stop
        start_text = local_iso_date(start) or "start"
        end_text = local_iso_date(end) or timezone.localdate().isoformat()
        return f"{self.name}_{start_text}_to_{end_text}.csv"

    def download(self, queryset, *, filterset=None, excel=False):
        """A streaming response downloading `queryset` (already filtered and sorted)."""
        return csv_response(self.filename(filterset), self.rows(queryset), excel=excel)
