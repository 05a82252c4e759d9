"""The catalog's pages: one list of URLs per kind of thing; config/urls.py mounts each under its
prefix and namespace (subscriptions, media, pricing_models, coupons, contacts)."""

from django.urls import path

from . import views

subscription_patterns = [
    path("", views.SubscriptionListView.as_view(), name="list"),
    path("new/", views.SubscriptionCreateView.as_view(), name="create"),
    path("<str:code>/", views.SubscriptionDetailView.as_view(), name="detail"),
    path("<str:code>/edit/", views.SubscriptionEditView.as_view(), name="edit"),
    path("<str:code>/delete/", views.SubscriptionDeleteView.as_view(), name="delete"),
    path("<str:code>/media/add/", views.AttachMediaView.as_view(), name="attach_media"),
    path(
        "<str:code>/media/<str:media_code>/remove/",
        views.DetachMediaView.as_view(),
        name="detach_media",
    ),
]

media_patterns = [
    path("", views.MediaListView.as_view(), name="list"),
    path("new/", views.MediaCreateView.as_view(), name="create"),
    path("<str:code>/", views.MediaDetailView.as_view(), name="detail"),
    path("<str:code>/edit/", views.MediaEditView.as_view(), name="edit"),
    path("<str:code>/delete/", views.MediaDeleteView.as_view(), name="delete"),
]

pricing_model_patterns = [
    path("", views.PricingModelListView.as_view(), name="list"),
    path("new/", views.PricingModelCreateView.as_view(), name="create"),
    path("<str:code>/", views.PricingModelDetailView.as_view(), name="detail"),
    path("<str:code>/edit/", views.PricingModelEditView.as_view(), name="edit"),
    path("<str:code>/delete/", views.PricingModelDeleteView.as_view(), name="delete"),
]

coupon_patterns = [
    path("", views.CouponListView.as_view(), name="list"),
    path("new/", views.CouponCreateView.as_view(), name="create"),
    path("<str:code>/", views.CouponDetailView.as_view(), name="detail"),
    path("<str:code>/edit/", views.CouponEditView.as_view(), name="edit"),
    path("<str:code>/delete/", views.CouponDeleteView.as_view(), name="delete"),
]

contacts_patterns = [
    path("", views.ShopContactsView.as_view(), name="detail"),
    path("edit/", views.ShopContactsEditView.as_view(), name="edit"),
]
