"""The finance exports: each list's CSV report (columns named once, COPY on PostgreSQL; see
core.csv_export; the same columns make its .xlsx) and the columns of the summaries' downloads.

A column's kind says how it is written: `code` for what we make or check (public codes,
statuses, currencies), `text` for what people or gateways typed (names, e-mails, reasons,
gateway references and messages: formula-guarded in CSV), `money`, `time`, `date`, `number`."""

from django.utils.translation import gettext as _

from core.csv_export import CsvReport, ExportColumn

from ..selectors import refunded_amount
from .summaries import GROUP_COLUMNS

PURCHASES_REPORT = CsvReport(
    name="purchases",
    columns=(
        ExportColumn("Code", "code", "code"),
        ExportColumn("Created", "created_at", "time"),
        ExportColumn("Completed", "completed_at", "time"),
        ExportColumn("Buyer e-mail", "buyer__email"),
        ExportColumn("Buyer name", "buyer__name"),
        ExportColumn("Subscription code", "subscription__code", "code"),
        ExportColumn("Subscription", "subscription__name"),
        ExportColumn("Pricing model", "pricing_model__title"),
        ExportColumn("List price", "list_price", "money"),
        ExportColumn("Discount", "discount", "money"),
        ExportColumn("Coupon", "coupon_code"),
        ExportColumn("Amount", "amount", "money"),
        ExportColumn("Currency", "currency", "code"),
        ExportColumn("Payment type", "payment_type", "code"),
        ExportColumn("Gateway reference", "gateway_reference"),
        ExportColumn("Status", "status", "code"),
        ExportColumn("Refunded amount", refunded_amount(), "money"),
    ),
)

REFUNDS_REPORT = CsvReport(
    name="refunds",
    columns=(
        ExportColumn("Code", "code", "code"),
        ExportColumn("Date", "created_at", "time"),
        ExportColumn("Purchase", "purchase__code", "code"),
        ExportColumn("Buyer e-mail", "purchase__buyer__email"),
        ExportColumn("Subscription", "purchase__subscription__name"),
        ExportColumn("Amount", "amount", "money"),
        ExportColumn("Currency", "currency", "code"),
        ExportColumn("Refunded to", "method", "code"),
        ExportColumn("Gateway reference", "gateway_reference"),
        ExportColumn("Reason", "reason"),
        ExportColumn("By", "created_by__username"),
    ),
)

CONTRACT_TRANSACTIONS_REPORT = CsvReport(
    name="contract-transactions",
    date_filter="date",
    columns=(
        ExportColumn("Contract_Key", "contract__code", "code"),
        ExportColumn("PaymentPref", "payment_pref", "code"),
        ExportColumn("Transaction_Date", "transaction_date", "time"),
        ExportColumn("Transaction_Amount", "amount", "money"),
        ExportColumn("Convenience_Fee", "convenience_fee", "money"),
        ExportColumn("Currency", "currency", "code"),
        ExportColumn("PNRef", "pnref"),
        ExportColumn("ResultCode", "result_code"),
        ExportColumn("ResponseMessage", "response_message"),
        ExportColumn("AuthCode", "auth_code"),
        ExportColumn("Status", "status", "code"),
        ExportColumn("Billing period", "period", "number"),
        ExportColumn("Attempt", "attempt", "number"),
        ExportColumn("Buyer e-mail", "contract__buyer__email"),
        ExportColumn("Subscription", "contract__subscription__name"),
    ),
)


CONTRACTS_REPORT = CsvReport(
    name="contracts",
    date_filter="next_bill",
    columns=(
        ExportColumn("Contract", "code", "code"),
        ExportColumn("Buyer", "buyer__email"),
        ExportColumn("Subscription", "subscription__name"),
        ExportColumn("Each period", "amount", "money"),
        ExportColumn("Currency", "currency", "code"),
        ExportColumn("Payment", "payment_type", "code"),
        ExportColumn("Next bill", "next_bill_date", "time"),
        ExportColumn("Failed tries", "failed_attempts", "number"),
        ExportColumn("Status", "status", "code"),
    ),
)


# How the summaries' group columns are written: a period is the date it starts.
GROUP_KINDS = {
    "period": "date",
    "subscription__code": "code",
    "subscription__name": "text",
    "payment_type": "code",
}


def revenue_columns(grouping: str) -> tuple[ExportColumn, ...]:
    """The revenue summary's download: the group's columns, then the figures per currency."""
    return (
        *(ExportColumn(header, key, GROUP_KINDS[key]) for header, key in GROUP_COLUMNS[grouping]),
        ExportColumn("Currency", "currency", "code"),
        ExportColumn("Sales", "sales_count", "number"),
        ExportColumn("Sales amount", "sales", "money"),
        ExportColumn("Renewal charges", "renewals_count", "number"),
        ExportColumn("Renewal charges amount", "renewals", "money"),
        ExportColumn("Gross", "gross", "money"),
        ExportColumn("Refunds", "refunds_count", "number"),
        ExportColumn("Refunds amount", "refunds", "money"),
        ExportColumn("Corrections", "corrections", "money"),
        ExportColumn("Net", "net", "money"),
        ExportColumn("Of gross paid from e-wallets", "from_wallet", "money"),
    )


RENEWAL_COLUMNS = (
    ExportColumn("Period", "period", "date"),
    ExportColumn("Currency", "currency", "code"),
    ExportColumn("Attempted", "attempted", "number"),
    ExportColumn("Succeeded", "succeeded", "number"),
    ExportColumn("Failed", "failed", "number"),
    ExportColumn("Recovered by retry", "recovered", "number"),
    ExportColumn("Churned", "churned", "number"),
    ExportColumn("Renewal revenue", "revenue", "money"),
)


# The renewal forecast's download: one row per local day and currency (purchases.reports.forecast).
def forecast_columns() -> tuple[ExportColumn, ...]:
    """The renewal forecast's columns, headed in the active language."""
    return (
        ExportColumn(_("Day"), "day", "date"),
        ExportColumn(_("Currency"), "currency", "code"),
        ExportColumn(_("Renewals due"), "renewals", "number"),
        ExportColumn(_("Amount due"), "amount", "money"),
        ExportColumn(_("Decline rate, last 90 days (%)"), "decline_rate", "number"),
        ExportColumn(_("Expected declines"), "expected_declines", "number"),
        ExportColumn(_("Expected revenue"), "expected_revenue", "money"),
    )


# MRR movements per month and currency (purchases.reports.mrr); amounts a month.
def mrr_columns() -> tuple[ExportColumn, ...]:
    """The MRR movements' columns, headed in the active language."""
    return (
        ExportColumn(_("Month"), "month", "date"),
        ExportColumn(_("Currency"), "currency", "code"),
        ExportColumn(_("Live contracts at start"), "live_at_start", "number"),
        ExportColumn(_("New contracts"), "new_count", "number"),
        ExportColumn(_("New MRR"), "new", "money"),
        ExportColumn(_("Reactivated contracts"), "reactivated_count", "number"),
        ExportColumn(_("Reactivated MRR"), "reactivated", "money"),
        ExportColumn(_("Expansions"), "expansion_count", "number"),
        ExportColumn(_("Expansion MRR"), "expansion", "money"),
        ExportColumn(_("Contractions"), "contraction_count", "number"),
        ExportColumn(_("Contraction MRR"), "contraction", "money"),
        ExportColumn(_("Churned contracts"), "churned_count", "number"),
        ExportColumn(_("Churned MRR"), "churned", "money"),
        ExportColumn(_("Net MRR movement"), "net", "money"),
        ExportColumn(_("Churn rate (%)"), "churn_rate", "number"),
    )
