from django.urls import path

from .reports import views as report_views

app_name = "reports"

urlpatterns = [
    path("", report_views.RevenueSummaryView.as_view(), name="revenue"),
    path("refunds/", report_views.RefundListView.as_view(), name="refunds"),
    path("renewals/", report_views.RenewalsView.as_view(), name="renewals"),
    path(
        "contract-transactions/",
        report_views.ContractTransactionListView.as_view(),
        name="contract_transactions",
    ),
]
