"""Buyers under /buyers/ (namespace `buyers`), accesses under /accesses/ (namespace `accesses`).

config/urls.py includes both lists. Every URL names objects by their public code, never an id.
"""

from django.urls import path

from . import bulk_views, views

buyer_patterns = [
    path("", views.BuyerListView.as_view(), name="list"),
    path("add/", views.BuyerCreateView.as_view(), name="create"),
    path("import/", views.BuyerImportView.as_view(), name="import"),
    path("bulk/", bulk_views.BuyerBulkActionView.as_view(), name="bulk"),
    path("wallet-ledger/", views.WalletEntryListView.as_view(), name="wallet_ledger"),
    path("<str:code>/", views.BuyerDetailView.as_view(), name="detail"),
    path("<str:code>/edit/", views.BuyerEditView.as_view(), name="edit"),
    path("<str:code>/pin/", views.BuyerPinView.as_view(), name="set_pin"),
    path("<str:code>/wallet/", views.WalletEntryCreateView.as_view(), name="wallet_entry"),
    path("<str:code>/grant/", views.GrantAccessForBuyerView.as_view(), name="grant_access"),
]

access_patterns = [
    path("", views.AccessListView.as_view(), name="list"),
    path("bulk/", bulk_views.AccessBulkActionView.as_view(), name="bulk"),
    path("operations/", bulk_views.BulkOperationListView.as_view(), name="bulk_list"),
    path("bulk/<str:code>/", bulk_views.BulkOperationDetailView.as_view(), name="bulk_detail"),
    path("bulk/<str:code>/undo/", bulk_views.BulkUndoView.as_view(), name="bulk_undo"),
    path(
        "subscription/<str:code>/",
        views.SubscriptionAccessesView.as_view(),
        name="subscription",
    ),
    path(
        "subscription/<str:code>/grant/",
        views.GrantAccessForSubscriptionView.as_view(),
        name="grant_for_subscription",
    ),
    path("<str:code>/", views.AccessDetailView.as_view(), name="detail"),
    path("<str:code>/edit/", views.AccessEditView.as_view(), name="edit"),
    path("<str:code>/revoke/", views.AccessRevokeView.as_view(), name="revoke"),
    path("<str:code>/password/", views.AccessPasswordView.as_view(), name="password"),
]

email_patterns = [
    path("", views.SentEmailListView.as_view(), name="list"),
    path("<str:code>/", views.SentEmailDetailView.as_view(), name="detail"),
    path("<str:code>/preview/", views.SentEmailPreviewView.as_view(), name="preview"),
    path("<str:code>/resend/", views.SentEmailResendView.as_view(), name="resend"),
]
