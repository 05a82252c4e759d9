from django.urls import include, path

from . import views

app_name = "purchases"

urlpatterns = [
    path("", views.PurchaseListView.as_view(), name="list"),
    path("new/", views.NewPurchaseView.as_view(), name="create"),
    path("sessions/", views.PurchaseSessionListView.as_view(), name="sessions"),
    path("reports/", include("purchases.report_urls")),
    path("<str:code>/", views.PurchaseDetailView.as_view(), name="detail"),
    path("<str:code>/cancel/", views.CancelPurchaseView.as_view(), name="cancel"),
    path("<str:code>/refund/", views.RefundPurchaseView.as_view(), name="refund"),
    path("<str:code>/check-payment/", views.CheckPaymentView.as_view(), name="check_payment"),
]
