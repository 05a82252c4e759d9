"""The buyers app's CSV reports (columns named once, COPY on PostgreSQL; see core.csv_export):
the e-wallet ledger, and the buyers and accesses lists' exports, which a shop with a million
accesses downloads whole."""

from django.db.models import Case, CharField, Expression, Value, When
from django.db.models.fields import TextField
from django.db.models.functions import Cast, Coalesce, Concat, Now, NullIf
from django.utils.translation import gettext_lazy as _

from core.csv_export import CsvReport, ExportColumn
from core.money import currency_codes, minor_digits

from .models import WalletBalance

WALLET_LEDGER_REPORT = CsvReport(
    name="wallet-ledger",
    columns=(
        ExportColumn(_("Date"), "created_at", "time"),
        ExportColumn(_("Buyer"), "buyer__code", "code"),
        ExportColumn(_("Buyer e-mail"), "buyer__email"),
        ExportColumn(_("Kind"), "kind", "code"),
        ExportColumn(_("Amount"), "amount", "money"),
        ExportColumn(_("Currency"), "currency", "code"),
        ExportColumn(_("Balance after"), "balance_after", "money"),
        ExportColumn(_("Reason"), "reason"),
        ExportColumn(_("Reference"), "reference"),
        ExportColumn(_("By"), "created_by__username"),
    ),
)


class PositiveBalances(Expression):
    """A buyer's positive e-wallet balances as the list shows them, `12.50 EUR, 300 JPY` (each to
    its currency's minor digits, by currency), or nothing: one correlated subquery a row."""

    output_field = TextField()

    def as_sql(self, compiler, connection):
        table = WalletBalance._meta.db_table
        buyer = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        by_digits: dict[int, list[str]] = {}
        for code in currency_codes():
            if (digits := minor_digits(code)) != 2:
                by_digits.setdefault(digits, []).append(code)
        digits = (
            "CASE "
            + " ".join(
                f"WHEN wb.currency IN ({', '.join(repr(code) for code in codes)}) THEN {n}"
                for n, codes in sorted(by_digits.items())
            )
            + " ELSE 2 END"
        )
        where = f"FROM {table} wb WHERE wb.buyer_id = {buyer}.id AND wb.balance > 0"
        if connection.vendor == "postgresql":
            text = f"round(wb.balance, {digits})::text || ' ' || wb.currency"
            return f"(SELECT string_agg({text}, ', ' ORDER BY wb.currency) {where})", []
        text = f"printf('%%.*f', {digits}, wb.balance) || ' ' || wb.currency"
        ordered = f"SELECT {text} AS t {where} ORDER BY wb.currency"
        # Built from our own table name and ISO 4217 codes: no input reaches it.
        return f"(SELECT group_concat(t, ', ') FROM ({ordered}))", []  # noqa: S608


BUYERS_REPORT = CsvReport(
    name="buyers",
    columns=(
        ExportColumn(_("Code"), "code", "code"),
        ExportColumn(_("E-mail"), "email"),
        ExportColumn(_("Phone"), "phone"),
        ExportColumn(_("Name"), "name"),
        ExportColumn(_("Active accesses"), "live_access_count", "number"),
        ExportColumn(_("E-wallet"), PositiveBalances(), "code"),
        ExportColumn(_("Created"), "created_at", "time"),
    ),
)

ACCESSES_REPORT = CsvReport(
    name="accesses",
    date_filter="",
    columns=(
        ExportColumn(_("Code"), "code", "code"),
        ExportColumn(_("Buyer"), Coalesce(NullIf("buyer__email", Value("")), "buyer__phone")),
        ExportColumn(_("Subscription"), "subscription__name"),
        ExportColumn(
            _("Status"),
            Case(
                When(revoked_at__isnull=False, then=Value("revoked")),
                When(access_expire__lte=Now(), then=Value("expired")),
                default=Value("active"),
                output_field=CharField(),
            ),
            "code",
        ),
        ExportColumn(
            _("Activations"),
            Concat(
                Cast("activations_used", CharField()),
                Value(" / "),
                Coalesce(Cast("activation_limit", CharField()), Value("∞")),
                output_field=CharField(),
            ),
            "code",
        ),
        ExportColumn(_("Starts"), "access_start", "time"),
        ExportColumn(_("Expires"), "access_expire", "time"),
        ExportColumn(_("Purchase date"), "purchased_at", "time"),
        ExportColumn(_("Granted by"), "granted_by__username"),
    ),
)
