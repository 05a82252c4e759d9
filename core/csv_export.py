"""CSV downloads: the one module every export of the site is written by (its `.xlsx` twin is
core.xlsx_export, from the same columns).

A download streams: the first bytes leave at once and memory stays flat. The file is UTF-8 with
a header row. CSV is the machine format; a spreadsheet user downloads the `.xlsx`.

The cells, for a spreadsheet and for a program alike:
- times as `YYYY-MM-DD HH:MM:SS` in the shop's time zone (settings.TIME_ZONE), the zone named in
  the column's header (`Created (Europe/Berlin)`): a spreadsheet reads that as a date and time;
- amounts as plain numbers with exactly their currency's minor digits (`7.50`, `1500`), the
  currency in a column of its own;
- codes (ours and gateways': public codes, auth codes, references) as written, leading zeros kept:
  CSV has no types, so a program reads them as they are; a spreadsheet that guesses types
  would drop leading zeros, which is why the `.xlsx` writes them as text cells;
- text a person or another system typed (names, e-mails, reasons, gateway messages) made safe
  for spreadsheets (OWASP CSV injection): a text cell that starts with `=`, `+`, `-`, `@`, tab or
  carriage return is prefixed with a single quote, so no spreadsheet reads it as a formula. Codes
  and numbers are not: we make them, or they are checked on the way in (kind `code`).
A field holding a comma, a quote or a line break is quoted (its quotes doubled), as is a line of
one field that is empty or exactly `\\.` (which would read as a blank line, or as PostgreSQL's
end of data).

Two kinds of export are written here, each keeping the line end its files have always had:

- a list page's table (core.listing.ListPageView): each cell as its column gives it, written by
  its type; lines end in CRLF, as the csv module's "excel" dialect ends them;
- a report (`CsvReport`): columns named once (`ExportColumn`: a header, an ORM path or
  expression, and a kind: text, code, money, time, date or number), read as one `SELECT` of
  exactly the filtered, sorted queryset the list page shows; lines end in LF, as PostgreSQL's
  COPY ends them. On PostgreSQL it runs as `COPY (SELECT <cells> FROM (<query>) AS r) TO STDOUT
  WITH CSV` through psycopg 3, with only cheap expressions per cell, so that it keeps pace with
  `psql \\copy` of the plain join (tests/bench/bench_exports.py): a time is its text in the
  session's time zone (the shop's, set for the COPY and restored after) cut to the second; an
  amount is `round()`ed to digits computed once per row from its currency; only `text` columns
  carry the formula guard (one `ascii()` test); an empty text is written `""` and a missing one
  as nothing, as COPY writes them. COPY takes no bind parameters, so the query's parameters are
  inlined by psycopg's client-side `mogrify` (Django's `compose_sql`), which quotes them as
  literals. On SQLite (the embedded default) it reads `values().iterator()` and formats each cell
  in Python the same way, to the same bytes. Its file is named after the report and the date
  range of the filters.

Rows already computed (a summary's) download through `download_rows` with the same columns.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import connections
from django.db.models import Case, Expression, F, IntegerField, Value, When
from django.http import StreamingHttpResponse
from django.utils import timezone

from .money import currency_codes, minor_digits, quantize

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXCEL_LINE_END = "\r\n"  # a list page's table
COPY_LINE_END = "\n"  # a report, as PostgreSQL's COPY writes it
ROWS_PER_CHUNK = 1000
COPY_CHUNK_BYTES = 256 * 1024  # what a report's COPY stream is sent in
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
KINDS = ("text", "code", "money", "time", "date", "number", "any")  # any: a table's cell


# --- Cells and lines ----------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Text as a spreadsheet should see it: text that could run as a formula is quoted."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def local_time_text(value: datetime) -> str:
    """A time as `YYYY-MM-DD HH:MM:SS` in the shop's time zone (naive times as they are)."""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime(TIME_FORMAT)


def time_header(header: str) -> str:
    """A time column's header names the zone its times are in: `Created (Europe/Berlin)`."""
    return f"{header} ({settings.TIME_ZONE})"


def format_cell(value, kind: str = "any", currency: str | None = None) -> str | None:
    """A cell's text (None for a missing value). A report column's kind says how: `money` with
    its currency's minor digits, `time` as local `YYYY-MM-DD HH:MM:SS`, `date` as YYYY-MM-DD,
    `number` and `code` as they are, `text` neutralised. A table's cells are of `any` kind,
    written by their type: yes/no, numbers as they are, times and dates as above, text
    neutralised."""
    if value is None:
        return None
    if kind == "money":
        return f"{quantize(value, currency):f}" if currency else f"{value:f}"
    if kind in ("time", "date"):
        if isinstance(value, datetime):
            return local_time_text(value) if kind == "time" else local_iso_date(value)
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind in ("number", "code"):
        return str(value)
    if kind == "any":
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (int, float, Decimal)):
            return str(value)
        if isinstance(value, datetime):
            return local_time_text(value)
        if isinstance(value, date):
            return value.isoformat()
    return neutralise(str(value))


def _field(text: str) -> str:
    if any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(cells: Iterable, end: str = COPY_LINE_END) -> str:
    """One line of CSV: each cell (already formatted) quoted when it must be. A missing cell
    (None) is written as nothing; in a report (LF lines, as COPY writes them) an empty text is
    written `""`, in a table (CRLF) as nothing."""
    empty = '""' if end == COPY_LINE_END else ""
    fields = [None if cell is None else str(cell) for cell in cells]
    if len(fields) == 1 and fields[0] in ("", "\\.", None):
        return f'"{fields[0] or ""}"{end}'
    return (
        ",".join("" if field is None else (_field(field) if field else empty) for field in fields)
        + end
    )


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


def csv_response(filename: str, chunks: Iterable[bytes]):
    """A streaming response downloading `chunks` as `filename`."""
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
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


def export_filename(name: str, start, end, extension: str) -> str:
    """`<name>_<start>_to_<end>.<extension>`: the filter's date range ("start" when open, today
    when it has no end), so two downloads of different ranges never share a name."""
    start_text = local_iso_date(start) or "start"
    end_text = local_iso_date(end) or timezone.localdate().isoformat()
    return f"{name}_{start_text}_to_{end_text}.{extension}"


# --- Reports: named columns, COPY on PostgreSQL ---------------------------------------------------


@dataclass(frozen=True)
class ExportColumn:
    header: str
    source: str | Expression  # an ORM path ("buyer__email") or an expression; a key of a row dict
    # text (typed by people or other systems: formula-guarded in CSV) | code (ours, or checked
    # on the way in: written as it is) | money | time | date | number | any (a table's cell,
    # written by its type)
    kind: str = "text"
    currency: str = "currency"  # money only: the ORM path (or key) of the amount's currency

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.header}: unknown kind {self.kind!r}")

    @property
    def title(self) -> str:
        """The header as written: a time column names the shop's time zone."""
        # The header may be lazy (translated): written in the language of the request.
        header = str(self.header)
        return time_header(header) if self.kind == "time" else header


def typed_value(value, kind: str, currency: str | None = None):
    """A cell as its column's type: an amount quantized to its currency's minor digits (its
    exponent then says how many digits a spreadsheet shows), a time in the shop's time zone."""
    if value is None:
        return None
    if kind == "money":
        return quantize(value, currency) if currency else Decimal(value)
    if kind == "time" and isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def download_rows(filename: str, columns: Sequence[ExportColumn], rows):
    """A CSV download of rows already computed (dicts keyed by each column's source)."""
    lines = (
        [format_cell(row[col.source], col.kind, row.get(col.currency)) for col in columns]
        for row in rows
    )
    return csv_response(filename, csv_chunks([column.title for column in columns], lines))


def typed_rows(columns: Sequence[ExportColumn], rows):
    """Rows already computed (dicts keyed by each column's source) as typed cells."""
    for row in rows:
        yield [typed_value(row[col.source], col.kind, row.get(col.currency)) for col in columns]


def minor_digits_expression(currency_path: str) -> Case:
    """The minor digits of the currency at `currency_path` (2 unless listed), for one row."""
    by_digits: dict[int, list[str]] = {}
    for code in currency_codes():
        digits = minor_digits(code)
        if digits != 2:
            by_digits.setdefault(digits, []).append(code)
    return Case(
        *(
            When(**{f"{currency_path}__in": codes}, then=Value(digits))
            for digits, codes in sorted(by_digits.items())
        ),
        default=Value(2),
        output_field=IntegerField(),
    )


# The codes of FORMULA_PREFIXES, for one `ascii()` test of a cell's first character.
_FORMULA_CODES = ", ".join(str(ord(prefix)) for prefix in FORMULA_PREFIXES)


def _sql_cell(kind: str, column: str, digits_column: str | None) -> str:
    if kind == "money":
        return f"round({column}, {digits_column})"
    if kind == "time":
        # Its text in the session's time zone (ISO DateStyle): 'YYYY-MM-DD HH:MM:SS.ffffff+01'.
        return f"left({column}::text, 19)"
    if kind == "text":
        guarded = f"ascii({column}) IN ({_FORMULA_CODES})"
        return f"CASE WHEN {guarded} THEN '''' || {column} ELSE {column} END"
    return column  # code, date, number: COPY writes them as they are


@dataclass(frozen=True)
class CsvReport:
    """A CSV export: its name (the file's), its columns, and the filter naming its date range."""

    name: str
    columns: tuple[ExportColumn, ...]
    date_filter: str = "created"

    def header(self) -> list[str]:
        return [column.title for column in self.columns]

    def _currency_paths(self) -> list[str]:
        paths = []
        for column in self.columns:
            if column.kind == "money" and column.currency not in paths:
                paths.append(column.currency)
        return paths

    def _currency_index(self, column: ExportColumn) -> int | None:
        if column.kind != "money":
            return None
        return self._currency_paths().index(column.currency)

    def _values(self, queryset, *, digits=False):
        values = {}
        for index, column in enumerate(self.columns):
            source = column.source
            values[f"c{index}"] = F(source) if isinstance(source, str) else source
        for index, path in enumerate(self._currency_paths()):
            values[f"m{index}"] = F(path)
            if digits:  # computed once a row, however many amounts are in that currency
                values[f"d{index}"] = minor_digits_expression(path)
        return queryset.values(**values)

    def records(self, queryset):
        """The rows as typed cells (amounts quantized, times local), read with `.iterator()`."""
        currency_keys = [
            None if (index := self._currency_index(column)) is None else f"m{index}"
            for column in self.columns
        ]
        kinds = [column.kind for column in self.columns]
        for record in self._values(queryset).iterator(chunk_size=2000):
            yield [
                typed_value(record[f"c{i}"], kind, record[key] if key else None)
                for i, (kind, key) in enumerate(zip(kinds, currency_keys, strict=True))
            ]

    def rows(self, queryset, using: str | None = None):
        """Yield the CSV text as bytes, header first, in chunks; COPY on PostgreSQL."""
        using = using or queryset.db
        if connections[using].vendor == "postgresql":
            yield from self._copy_rows(queryset, using)
        else:
            yield from self._iterator_rows(queryset)

    def _iterator_rows(self, queryset):
        kinds = [column.kind for column in self.columns]
        yield from csv_chunks(
            self.header(),
            (
                [format_cell(value, kind) for value, kind in zip(row, kinds, strict=True)]
                for row in self.records(queryset)
            ),
        )

    def copy_sql(self, queryset, using: str | None = None) -> str:
        """The COPY statement for `queryset`, its parameters inlined as quoted literals."""
        connection = connections[using or queryset.db]
        sql, params = self._values(queryset, digits=True).query.sql_with_params()
        inner = connection.ops.compose_sql(sql, params)
        cells = []
        for i, column in enumerate(self.columns):
            index = self._currency_index(column)
            digits = None if index is None else f'r."d{index}"'
            cells.append(_sql_cell(column.kind, f'r."c{i}"', digits))
        # `inner` was quoted by psycopg; `cells` is built from our own column kinds and aliases.
        return f"COPY (SELECT {', '.join(cells)} FROM ({inner}) AS r) TO STDOUT WITH (FORMAT csv)"  # noqa: S608

    def _copy_rows(self, queryset, using):
        yield csv_line(self.header()).encode()
        connection = connections[using]
        statement = self.copy_sql(queryset, using)
        with connection.cursor() as cursor:
            raw = cursor.cursor
            # A time's text follows the session's time zone (the shop's) and DateStyle.
            raw.execute("SHOW DateStyle")
            date_style = raw.fetchone()[0]
            raw.execute(
                "SELECT set_config('TimeZone', %s, false), set_config('DateStyle', 'ISO', false)",
                [settings.TIME_ZONE],
            )
            try:
                with raw.copy(statement) as copy:
                    # COPY sends a message a row: sent one by one, each would be a chunk of
                    # its own through the WSGI server (a write and a chunk header a row).
                    buffer = bytearray()
                    for block in copy:
                        buffer += block
                        if len(buffer) >= COPY_CHUNK_BYTES:
                            yield bytes(buffer)
                            buffer.clear()
                    if buffer:
                        yield bytes(buffer)
            finally:
                raw.execute(
                    "SELECT set_config('TimeZone', %s, false), set_config('DateStyle', %s, false)",
                    [connection.timezone_name, date_style],
                )

    def date_range(self, filterset=None):
        if filterset is not None and filterset.is_bound and filterset.form.is_valid():
            value = filterset.form.cleaned_data.get(self.date_filter)
            if value is not None:
                return value.start, value.stop
        return None, None

    def filename(self, filterset=None, extension: str = "csv") -> str:
        return export_filename(self.name, *self.date_range(filterset), extension)

    def download(self, queryset, *, filterset=None):
        """A streaming response downloading `queryset` (already filtered and sorted)."""
        return csv_response(self.filename(filterset), self.rows(queryset))

    def download_xlsx(self, queryset, *, filterset=None):
        """The same rows as a workbook (core.xlsx_export)."""
        from .xlsx_export import xlsx_response  # XlsxWriter loads only for a workbook

        return xlsx_response(self.filename(filterset, "xlsx"), self.columns, self.records(queryset))
