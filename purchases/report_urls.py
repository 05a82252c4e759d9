from django.urls import path

from . import report_views

app_name = "reports"

urlpatterns = [
    path("", report_views.RevenueSummaryView.as_view(), name="revenue"),
    path("refunds/", report_views.RefundListView.as_view(), name="refunds"),
]
