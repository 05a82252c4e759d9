"""Finance reports: streamed CSV exports that reconcile, and summary figures grouped in SQL.

Exports. A report names its columns once (`ExportColumn`: a header, an ORM path or expression,
and a kind: text, money, time or number). The same filtered, sorted queryset the list page shows
is turned into one `SELECT` whose columns are those values, and then:

- on PostgreSQL it runs as `COPY (SELECT <formatted> FROM (<query>) AS r) TO STDOUT WITH CSV`
  through psycopg 3, the formatting done by the database: amounts rounded to exactly their
  currency's minor digits (a CASE over the currencies that do not have 2), times as ISO 8601 in
  the shop's time zone (the session's TimeZone, restored afterwards), text cells that could run
  as a spreadsheet formula prefixed with a quote. COPY takes no bind parameters, so the query's
  parameters are inlined by psycopg's client-side `mogrify` (Django's `compose_sql`), which quotes
  them as literals;
- on SQLite (the embedded default) it reads `values_list().iterator()` and formats each cell in
  Python the same way.

Either way the response streams: the first bytes leave before the query ends and memory stays
flat. The file is UTF-8 with a header row (a BOM with `excel=1`), and its name carries the report
and the date range of the filters.

Summary reports. Revenue per day, week or month and per currency; by subscription; by payment
type. Money counted as revenue is what was charged: purchases in a paid status (completed,
cancelling, cancelled, refunded), and approved renewal charges of recurring contracts. Each table
is one grouped query over purchases (gross, refunds, net, count) and one over contract
transactions (renewals), joined by group in Python. Refunds are booked against the purchase's
period, so a period's purchase figures reconcile with the purchases export of the same filters.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import connections
from django.db.models import (
    Count,
    DecimalField,
    Expression,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek
from django.http import StreamingHttpResponse
from django.utils import timezone

from core.csv_export import neutralise_cell
from core.money import STORED_DECIMAL_PLACES, currency_codes, minor_digits, quantize

from .models import Purchase, Refund

MONEY = DecimalField(max_digits=18, decimal_places=STORED_DECIMAL_PLACES)
ROWS_PER_CHUNK = 1000


def refunded_amount():
    """The sum of a purchase's refunds (0 when none), as a correlated subquery."""
    refunds = (
        Refund.objects.filter(purchase=OuterRef("pk"))
        .order_by()
        .values("purchase")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(refunds, output_field=MONEY), Value(Decimal(0)), output_field=MONEY)


# --- Columns and their formatting -------------------------------------------------------------


@dataclass(frozen=True)
class ExportColumn:
    header: str
    source: str | Expression  # an ORM path ("buyer__email") or an expression
    kind: str = "text"  # text | money | time | number
    currency: str = "currency"  # money only: the ORM path of the amount's currency


def format_cell(kind: str, value, currency: str | None = None) -> str:
    """A cell as both export paths write it (the COPY path does the same in SQL)."""
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
    return neutralise_cell(str(value))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _digits_case(column: str) -> str:
    """SQL: the minor digits of the currency in `column` (2 unless listed)."""
    by_digits: dict[int, list[str]] = {}
    for code in currency_codes():
        digits = minor_digits(code)
        if digits != 2:
            by_digits.setdefault(digits, []).append(code)
    branches = " ".join(
        f"WHEN {column} IN ({', '.join(_quote(code) for code in codes)}) THEN {digits}"
        for digits, codes in sorted(by_digits.items())
    )
    return f"CASE {branches} ELSE 2 END"


# The same prefixes as core.csv_export.FORMULA_PREFIXES: = + - @ tab CR.
_FORMULA_START = "left({0}, 1) IN ('=', '+', '-', '@', chr(9), chr(13))"


def _sql_cell(kind: str, column: str, currency_column: str | None) -> str:
    if kind == "money":
        return f"round({column}, {_digits_case(currency_column)})::text"
    if kind == "time":
        return f"""to_char({column}, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')"""
    if kind == "number":
        return f"{column}::text"
    text = f"{column}::text"
    return (
        f"CASE WHEN {_FORMULA_START.format(text)} THEN '''' || {text} ELSE NULLIF({text}, '') END"
    )


# --- Streaming ----------------------------------------------------------------------------------


def csv_field(text: str) -> str:
    """One CSV field quoted as PostgreSQL's COPY ... CSV quotes it, so both paths write the
    same bytes: quoted when it holds a comma, a quote, CR or LF."""
    if any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(cells) -> str:
    fields = [str(cell) for cell in cells]
    if fields == ["\\."]:
        # COPY quotes the end-of-data marker only when it would stand alone on its line.
        return '"\\."\n'
    return ",".join(csv_field(field) for field in fields) + "\n"


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
        yield csv_line(self.header()).encode()
        values = self._values(queryset)
        chunk = []
        for record in values.iterator(chunk_size=2000):
            chunk.append(
                csv_line(
                    format_cell(column.kind, record[f"c{i}"], record.get(f"m{i}"))
                    for i, column in enumerate(self.columns)
                )
            )
            if len(chunk) >= ROWS_PER_CHUNK:
                yield "".join(chunk).encode()
                chunk = []
        if chunk:
            yield "".join(chunk).encode()

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

        def content():
            if excel:
                yield "\ufeff".encode()
            yield from self.rows(queryset)

        response = StreamingHttpResponse(content(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.filename(filterset)}"'
        return response


def local_iso_date(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return None


PURCHASES_REPORT = CsvReport(
    name="purchases",
    columns=(
        ExportColumn("Code", "code"),
        ExportColumn("Created", "created_at", "time"),
        ExportColumn("Completed", "completed_at", "time"),
        ExportColumn("Buyer e-mail", "buyer__email"),
        ExportColumn("Buyer name", "buyer__name"),
        ExportColumn("Subscription code", "subscription__code"),
        ExportColumn("Subscription", "subscription__name"),
        ExportColumn("Pricing model", "pricing_model__title"),
        ExportColumn("List price", "list_price", "money"),
        ExportColumn("Discount", "discount", "money"),
        ExportColumn("Coupon", "coupon_code"),
        ExportColumn("Amount", "amount", "money"),
        ExportColumn("Currency", "currency"),
        ExportColumn("Payment type", "payment_type"),
        ExportColumn("Gateway reference", "gateway_reference"),
        ExportColumn("Status", "status"),
        ExportColumn("Refunded amount", refunded_amount(), "money"),
    ),
)

REFUNDS_REPORT = CsvReport(
    name="refunds",
    columns=(
        ExportColumn("Code", "code"),
        ExportColumn("Date", "created_at", "time"),
        ExportColumn("Purchase", "purchase__code"),
        ExportColumn("Buyer e-mail", "purchase__buyer__email"),
        ExportColumn("Subscription", "purchase__subscription__name"),
        ExportColumn("Amount", "amount", "money"),
        ExportColumn("Currency", "currency"),
        ExportColumn("Refunded to", "method"),
        ExportColumn("Gateway reference", "gateway_reference"),
        ExportColumn("Reason", "reason"),
        ExportColumn("By", "created_by__username"),
    ),
)

WALLET_LEDGER_REPORT = CsvReport(
    name="wallet-ledger",
    columns=(
        ExportColumn("Date", "created_at", "time"),
        ExportColumn("Buyer", "buyer__code"),
        ExportColumn("Buyer e-mail", "buyer__email"),
        ExportColumn("Kind", "kind"),
        ExportColumn("Amount", "amount", "money"),
        ExportColumn("Currency", "currency"),
        ExportColumn("Balance after", "balance_after", "money"),
        ExportColumn("Reason", "reason"),
        ExportColumn("Reference", "reference"),
        ExportColumn("By", "created_by__username"),
    ),
)

# --- Summary reports ----------------------------------------------------------------------------

PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
GROUPINGS = {
    "period": "Revenue per period",
    "subscription": "Revenue by subscription",
    "payment_type": "Revenue by payment type",
}


def paid_purchases(*, start=None, end=None, subscription=None, currency=None):
    """Purchases whose money was taken, created between two local dates (both included)."""
    queryset = Purchase.objects.filter(status__in=Purchase.PAID_STATUSES)
    tz = timezone.get_current_timezone()
    if start is not None:
        queryset = queryset.filter(created_at__gte=datetime.combine(start, datetime.min.time(), tz))
    if end is not None:
        queryset = queryset.filter(created_at__lt=_next_midnight(end, tz))
    if subscription is not None:
        queryset = queryset.filter(subscription=subscription)
    if currency:
        queryset = queryset.filter(currency=currency)
    return queryset


def _next_midnight(day, tz):
    from datetime import timedelta

    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)


def revenue_summary(queryset, *, grouping="period", period="day", renewals=None):
    """Per group and currency: purchases' count, gross, refunds; renewals' count and revenue;
    and net (gross + renewal revenue - refunds). One grouped query per source.

    `queryset` is paid purchases (see `paid_purchases`), `renewals` approved renewal charges
    (see `approved_renewals`) or None. Rows come back as dicts with the group's key (`period`,
    or `subscription__code`/`subscription__name`, or `payment_type`), `currency`, `count`,
    `gross`, `refunds`, `renewals`, `renewal_revenue` and `net`.
    """
    if grouping == "period":
        keys = ["period"]
        queryset = queryset.annotate(
            period=PERIODS[period]("created_at", tzinfo=timezone.get_current_timezone())
        )
    elif grouping == "subscription":
        keys = ["subscription__code", "subscription__name"]
    else:
        keys = ["payment_type"]
    rows = list(
        queryset.annotate(refunded=refunded_amount())
        .order_by()
        .values(*keys, "currency")
        .annotate(
            count=Count("pk"),
            gross=Sum("amount"),
            refunds=Sum("refunded"),
            net=Sum(F("amount") - F("refunded"), output_field=MONEY),
        )
        # Ordered here, not in SQL: an ORDER BY makes the planner sort every row before
        # grouping, where unordered it hashes them into the few groups.
    )
    by_key = {}
    for row in rows:
        if "period" in row:
            row["period"] = local_iso_date(row["period"])
        row.update(renewals=0, renewal_revenue=Decimal(0))
        by_key[tuple(row[key] for key in [*keys, "currency"])] = row
    if renewals is not None:
        for row in _renewal_revenue(renewals, grouping=grouping, period=period):
            key = tuple(row[k] for k in [*keys, "currency"])
            target = by_key.setdefault(
                key,
                {
                    **dict(zip([*keys, "currency"], key, strict=True)),
                    "count": 0,
                    "gross": Decimal(0),
                    "refunds": Decimal(0),
                    "net": Decimal(0),
                    "renewals": 0,
                    "renewal_revenue": Decimal(0),
                },
            )
            target["renewals"] = row["renewals"]
            target["renewal_revenue"] = row["renewal_revenue"]
            target["net"] += row["renewal_revenue"]
    return sorted(
        by_key.values(), key=lambda row: tuple(str(row[key]) for key in [*keys, "currency"])
    )


def approved_renewals(*, start=None, end=None, subscription=None, currency=None):
    """Approved renewal charges of recurring contracts made between two local dates."""
    from .models import ContractTransaction

    queryset = ContractTransaction.objects.filter(status=ContractTransaction.Status.APPROVED)
    tz = timezone.get_current_timezone()
    if start is not None:
        queryset = queryset.filter(
            transaction_date__gte=datetime.combine(start, datetime.min.time(), tz)
        )
    if end is not None:
        queryset = queryset.filter(transaction_date__lt=_next_midnight(end, tz))
    if subscription is not None:
        queryset = queryset.filter(contract__subscription=subscription)
    if currency:
        queryset = queryset.filter(currency=currency)
    return queryset


def _renewal_revenue(queryset, *, grouping, period):
    """One grouped query: approved renewal charges and their sum per group and currency, keyed
    as `revenue_summary` keys purchases."""
    if grouping == "period":
        queryset = queryset.annotate(
            bucket=PERIODS[period]("transaction_date", tzinfo=timezone.get_current_timezone())
        )
        keys = {"bucket": "period"}
    elif grouping == "subscription":
        keys = {
            "contract__subscription__code": "subscription__code",
            "contract__subscription__name": "subscription__name",
        }
    else:
        keys = {"contract__payment_type": "payment_type"}
    rows = []
    for row in (
        queryset.order_by()
        .values(*keys, "currency")
        .annotate(renewals=Count("pk"), renewal_revenue=Sum("amount"))
    ):
        out = {ours: row[theirs] for theirs, ours in keys.items()}
        if "period" in out:
            out["period"] = local_iso_date(out["period"])
        rows.append(
            {
                **out,
                "currency": row["currency"],
                "renewals": row["renewals"],
                "renewal_revenue": row["renewal_revenue"],
            }
        )
    return rows


def summary_totals(rows):
    """Per currency: the sums of a summary's rows (what the table's footer shows)."""
    figures = ("count", "gross", "refunds", "renewals", "renewal_revenue", "net")
    totals: dict[str, dict] = {}
    for row in rows:
        total = totals.setdefault(
            row["currency"], {"currency": row["currency"], **dict.fromkeys(figures, 0)}
        )
        for key in figures:
            total[key] += row[key]
    return [totals[code] for code in sorted(totals)]


__all__ = [
    "PURCHASES_REPORT",
    "REFUNDS_REPORT",
    "WALLET_LEDGER_REPORT",
    "CsvReport",
    "ExportColumn",
    "paid_purchases",
    "revenue_summary",
]


def register_list_page_exports():
    """Make the list pages of these models download their report (core.listing.CSV_REPORTS).

    The buyers list keeps its table's export (active accesses and e-wallet balances per row),
    which streams through the iterator: it holds no amounts to format per currency."""
    from core.listing import CSV_REPORTS

    CSV_REPORTS.update(
        {
            "purchases.Purchase": PURCHASES_REPORT,
            "purchases.Refund": REFUNDS_REPORT,
            "buyers.WalletEntry": WALLET_LEDGER_REPORT,
        }
    )


register_list_page_exports()


# --- Recurring contracts: transactions export, renewals, MRR -----------------------------------

CONTRACT_TRANSACTIONS_REPORT = CsvReport(
    name="contract-transactions",
    date_filter="date",
    columns=(
        ExportColumn("Contract_Key", "contract__code"),
        ExportColumn("PaymentPref", "payment_pref"),
        ExportColumn("Transaction_Date", "transaction_date", "time"),
        ExportColumn("Transaction_Amount", "amount", "money"),
        ExportColumn("Convenience_Fee", "convenience_fee", "money"),
        ExportColumn("Currency", "currency"),
        ExportColumn("PNRef", "pnref"),
        ExportColumn("ResultCode", "result_code"),
        ExportColumn("ResponseMessage", "response_message"),
        ExportColumn("AuthCode", "auth_code"),
        ExportColumn("Status", "status"),
        ExportColumn("Billing period", "period", "number"),
        ExportColumn("Attempt", "attempt", "number"),
        ExportColumn("Buyer e-mail", "contract__buyer__email"),
        ExportColumn("Subscription", "contract__subscription__name"),
    ),
)

# (units, months): that many recurrence units last that many months. MRR is each live contract's
# amount per month: amount x units / (months x units per billing period).
UNITS_PER_MONTH = {
    "days": (Decimal("365.25"), 12),
    "weeks": (Decimal("52.1775"), 12),
    "months": (Decimal(1), 1),
    "years": (Decimal(1), 12),
}


def renewal_summary(*, start, end, subscription=None, currency=None, period="day"):
    """Per period and currency: renewal charges attempted, succeeded, failed, recovered by a
    retry (approved on attempt 2 or later) and their revenue, in one grouped query over the
    contract transactions; churned (contracts that ended) in one grouped query over contracts."""
    from .models import ContractTransaction, RecurringContract

    tz = timezone.get_current_timezone()
    since = datetime.combine(start, datetime.min.time(), tz)
    until = _next_midnight(end, tz)
    transactions = ContractTransaction.objects.filter(
        transaction_date__gte=since, transaction_date__lt=until
    ).exclude(status=ContractTransaction.Status.PENDING)
    ended = RecurringContract.objects.filter(ended_at__gte=since, ended_at__lt=until)
    if subscription is not None:
        transactions = transactions.filter(contract__subscription=subscription)
        ended = ended.filter(subscription=subscription)
    if currency:
        transactions = transactions.filter(currency=currency)
        ended = ended.filter(currency=currency)
    approved = Q(status=ContractTransaction.Status.APPROVED)
    rows = {}
    for row in (
        transactions.annotate(bucket=PERIODS[period]("transaction_date", tzinfo=tz))
        .order_by()
        .values("bucket", "currency")
        .annotate(
            attempted=Count("pk"),
            succeeded=Count("pk", filter=approved),
            failed=Count("pk", filter=~approved),
            recovered=Count("pk", filter=approved & Q(attempt__gt=1)),
            revenue=Coalesce(Sum("amount", filter=approved), Value(Decimal(0)), output_field=MONEY),
        )
    ):
        day = local_iso_date(row.pop("bucket"))
        rows[(day, row["currency"])] = {"period": day, **row, "churned": 0}
    for row in (
        ended.annotate(bucket=PERIODS[period]("ended_at", tzinfo=tz))
        .order_by()
        .values("bucket", "currency")
        .annotate(churned=Count("pk"))
    ):
        key = (local_iso_date(row["bucket"]), row["currency"])
        rows.setdefault(
            key,
            {
                "period": key[0],
                "currency": key[1],
                "attempted": 0,
                "succeeded": 0,
                "failed": 0,
                "recovered": 0,
                "revenue": Decimal(0),
                "churned": 0,
            },
        )["churned"] = row["churned"]
    return [rows[key] for key in sorted(rows)]


def active_contracts(*, subscription=None, currency=None):
    """Per currency: live contracts (active or past due) and their monthly recurring revenue,
    each contract's amount scaled to one month by its pricing model's recurrence."""
    from django.db.models import Case, ExpressionWrapper, When

    from .models import RecurringContract

    live = RecurringContract.objects.filter(status__in=RecurringContract.LIVE_STATUSES)
    if subscription is not None:
        live = live.filter(subscription=subscription)
    if currency:
        live = live.filter(currency=currency)
    factor = DecimalField(max_digits=12, decimal_places=6)
    monthly = Case(
        *(
            When(
                pricing_model__recurrence_unit=unit,
                then=ExpressionWrapper(
                    F("amount")
                    * Value(units, output_field=factor)
                    / (Value(months, output_field=factor) * F("pricing_model__recurrence_count")),
                    output_field=MONEY,
                ),
            )
            for unit, (units, months) in UNITS_PER_MONTH.items()
        ),
        default=Value(Decimal(0)),
        output_field=MONEY,
    )
    rows = list(
        live.order_by()
        .values("currency")
        .annotate(
            contracts=Count("pk"),
            past_due=Count("pk", filter=Q(status=RecurringContract.Status.PAST_DUE)),
            mrr=Sum(monthly),
        )
        .order_by("currency")
    )
    for row in rows:
        row["mrr"] = quantize(Decimal(str(row["mrr"] or 0)), row["currency"])
    return rows
