"""The finance exports: each list's CSV report (columns named once, COPY on PostgreSQL; see
core.csv_export; the same columns make its .xlsx) and the columns of the summaries' downloads.

A column's kind says how it is written: `code` for what we make or check (public codes,
statuses, currencies), `text` for what people or gateways typed (names, e-mails, reasons,
gateway references and messages: formula-guarded in CSV), `money`, `time`, `date`, `number`."""

from django.utils.translation import gettext_lazy as _

from core.csv_export import CsvReport, ExportColumn

from ..selectors import refunded_amount
from .summaries import GROUP_COLUMNS

PURCHASES_REPORT = CsvReport(
    name="purchases",
    columns=(
        ExportColumn(_("Code"), "code", "code"),
        ExportColumn(_("Created"), "created_at", "time"),
        ExportColumn(_("Completed"), "completed_at", "time"),
        ExportColumn(_("Buyer e-mail"), "buyer__email"),
        ExportColumn(_("Buyer name"), "buyer__name"),
        ExportColumn(_("Subscription code"), "subscription__code", "code"),
        ExportColumn(_("Subscription"), "subscription__name"),
        ExportColumn(_("Pricing model"), "pricing_model__title"),
        ExportColumn(_("List price"), "list_price", "money"),
        ExportColumn(_("Discount"), "discount", "money"),
        ExportColumn(_("Coupon"), "coupon_code"),
        ExportColumn(_("Amount"), "amount", "money"),
        ExportColumn(_("Currency"), "currency", "code"),
        ExportColumn(_("Payment type"), "payment_type", "code"),
        ExportColumn(_("Gateway reference"), "gateway_reference"),
        ExportColumn(_("Status"), "status", "code"),
        ExportColumn(_("Refunded amount"), refunded_amount(), "money"),
    ),
)

REFUNDS_REPORT = CsvReport(
    name="refunds",
    columns=(
        ExportColumn(_("Code"), "code", "code"),
        ExportColumn(_("Date"), "created_at", "time"),
        ExportColumn(_("Purchase"), "purchase__code", "code"),
        ExportColumn(_("Buyer e-mail"), "purchase__buyer__email"),
        ExportColumn(_("Subscription"), "purchase__subscription__name"),
        ExportColumn(_("Amount"), "amount", "money"),
        ExportColumn(_("Currency"), "currency", "code"),
        ExportColumn(_("Refunded to"), "method", "code"),
        ExportColumn(_("Gateway reference"), "gateway_reference"),
        ExportColumn(_("Reason"), "reason"),
        ExportColumn(_("By"), "created_by__username"),
    ),
)

CONTRACT_TRANSACTIONS_REPORT = CsvReport(
    name="contract-transactions",
    date_filter="date",
    columns=(
        ExportColumn(_("Contract_Key"), "contract__code", "code"),
        ExportColumn(_("PaymentPref"), "payment_pref", "code"),
        ExportColumn(_("Transaction_Date"), "transaction_date", "time"),
        ExportColumn(_("Transaction_Amount"), "amount", "money"),
        ExportColumn(_("Convenience_Fee"), "convenience_fee", "money"),
        ExportColumn(_("Currency"), "currency", "code"),
        ExportColumn(_("PNRef"), "pnref"),
        ExportColumn(_("ResultCode"), "result_code"),
        ExportColumn(_("ResponseMessage"), "response_message"),
        ExportColumn(_("AuthCode"), "auth_code"),
        ExportColumn(_("Status"), "status", "code"),
        ExportColumn(_("Billing period"), "period", "number"),
        ExportColumn(_("Attempt"), "attempt", "number"),
        ExportColumn(_("Buyer e-mail"), "contract__buyer__email"),
        ExportColumn(_("Subscription"), "contract__subscription__name"),
    ),
)


CONTRACTS_REPORT = CsvReport(
    name="contracts",
    date_filter="next_bill",
    columns=(
        ExportColumn(_("Contract"), "code", "code"),
        ExportColumn(_("Buyer"), "buyer__email"),
        ExportColumn(_("Subscription"), "subscription__name"),
        ExportColumn(_("Each period"), "amount", "money"),
        ExportColumn(_("Currency"), "currency", "code"),
        ExportColumn(_("Payment"), "payment_type", "code"),
        ExportColumn(_("Next bill"), "next_bill_date", "time"),
        ExportColumn(_("Failed tries"), "failed_attempts", "number"),
        ExportColumn(_("Status"), "status", "code"),
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
        ExportColumn(_("Currency"), "currency", "code"),
        ExportColumn(_("Sales"), "sales_count", "number"),
        ExportColumn(_("Sales amount"), "sales", "money"),
        ExportColumn(_("Renewal charges"), "renewals_count", "number"),
        ExportColumn(_("Renewal charges amount"), "renewals", "money"),
        ExportColumn(_("Gross"), "gross", "money"),
        ExportColumn(_("Refunds"), "refunds_count", "number"),
        ExportColumn(_("Refunds amount"), "refunds", "money"),
        ExportColumn(_("Corrections"), "corrections", "money"),
        ExportColumn(_("Net"), "net", "money"),
        ExportColumn(_("Of gross paid from e-wallets"), "from_wallet", "money"),
    )


RENEWAL_COLUMNS = (
    ExportColumn(_("Period"), "period", "date"),
    ExportColumn(_("Currency"), "currency", "code"),
    ExportColumn(_("Attempted"), "attempted", "number"),
    ExportColumn(_("Succeeded"), "succeeded", "number"),
    ExportColumn(_("Failed"), "failed", "number"),
    ExportColumn(_("Recovered by retry"), "recovered", "number"),
    ExportColumn(_("Churned"), "churned", "number"),
    ExportColumn(_("Renewal revenue"), "revenue", "money"),
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
