"""The e-wallet ledger's CSV report (columns named once, COPY on PostgreSQL; see
core.csv_export)."""

from core.csv_export import CsvReport, ExportColumn

WALLET_LEDGER_REPORT = CsvReport(
    name="wallet-ledger",
    columns=(
        ExportColumn("Date", "created_at", "time"),
        ExportColumn("Buyer", "buyer__code", "code"),
        ExportColumn("Buyer e-mail", "buyer__email"),
        ExportColumn("Kind", "kind", "code"),
        ExportColumn("Amount", "amount", "money"),
        ExportColumn("Currency", "currency", "code"),
        ExportColumn("Balance after", "balance_after", "money"),
        ExportColumn("Reason", "reason"),
        ExportColumn("Reference", "reference"),
        ExportColumn("By", "created_by__username"),
    ),
)
