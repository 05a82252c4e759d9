"""Purchases under /purchases/ (namespace `purchases`, its finance reports under
/purchases/reports/, namespace `purchases:reports`) and recurring contracts under /renewals/
(namespace `contracts`). config/urls.py includes both lists. Every URL names objects by their
public code, never an id.
"""

from django.urls import include, path

from . import pause_pages, plan_change_views, views
from .reports import forecast_views
from .reports import journal as journal_views
from .reports import views as report_views

report_patterns = [
    path("", report_views.RevenueSummaryView.as_view(), name="revenue"),
    path("refunds/", report_views.RefundListView.as_view(), name="refunds"),
    path("renewals/", report_views.RenewalsView.as_view(), name="renewals"),
    path(
        "renewals/forecast/",
        forecast_views.RenewalForecastView.as_view(),
        name="renewal_forecast",
    ),
    path("mrr/", forecast_views.MrrMovementsView.as_view(), name="mrr_movements"),
    path("journal/", journal_views.JournalListView.as_view(), name="journal"),
    path("journal/closed/", journal_views.ClosedPeriodsView.as_view(), name="closed_periods"),
    path("journal/<str:code>/", journal_views.JournalEntryView.as_view(), name="journal_entry"),
    path(
        "journal/<str:code>/correct/",
        journal_views.CorrectionView.as_view(),
        name="journal_correct",
    ),
    path("reconciliation/", journal_views.ReconciliationView.as_view(), name="reconciliation"),
    path(
        "contract-transactions/",
        report_views.ContractTransactionListView.as_view(),
        name="contract_transactions",
    ),
]

purchase_patterns = [
    path("", views.PurchaseListView.as_view(), name="list"),
    path("new/", views.NewPurchaseView.as_view(), name="create"),
    path("sessions/", views.PurchaseSessionListView.as_view(), name="sessions"),
    path("explain/", views.ExplainView.as_view(), name="explain"),
    path("timeline/<str:code>/", views.BuyerTimelineView.as_view(), name="timeline"),
    path("timeline/<str:code>/note/", views.BuyerNoteCreateView.as_view(), name="timeline_note"),
    path("reports/", include((report_patterns, "reports"))),
    path("<str:code>/", views.PurchaseDetailView.as_view(), name="detail"),
    path("<str:code>/cancel/", views.CancelPurchaseView.as_view(), name="cancel"),
    path("<str:code>/refund/", views.RefundPurchaseView.as_view(), name="refund"),
    path("<str:code>/check-payment/", views.CheckPaymentView.as_view(), name="check_payment"),
]

contract_patterns = [
    path("", views.ContractListView.as_view(), name="list"),
    path("<str:code>/", views.ContractDetailView.as_view(), name="detail"),
    path("<str:code>/stop/", views.StopContractView.as_view(), name="stop"),
    path("<str:code>/reactivate/", views.ReactivateContractView.as_view(), name="reactivate"),
    path("<str:code>/end/", views.EndContractView.as_view(), name="end"),
    path("<str:code>/retry/", views.RetryContractView.as_view(), name="retry"),
    path("<str:code>/card/", views.ChangeCardView.as_view(), name="card"),
    path("<str:code>/pause/", pause_pages.PauseContractView.as_view(), name="pause"),
    path("<str:code>/resume/", pause_pages.ResumeContractView.as_view(), name="resume"),
    path("<str:code>/plan/", plan_change_views.ChangePlanView.as_view(), name="change_plan"),
    path(
        "<str:code>/plan/cancel/",
        plan_change_views.CancelPlanChangeView.as_view(),
        name="cancel_plan_change",
    ),
]
