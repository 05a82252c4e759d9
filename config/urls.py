from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api import pages as api_key_pages
from buyers import urls as buyer_urls
from core import views as site_views
from purchases import report_views
from purchases import views as purchase_views
from subscriptions import urls as catalog_urls

admin.site.site_header = admin.site.site_title = "Back office admin"

urlpatterns = [
    path("", report_views.HomeView.as_view(), name="home"),
    path("team/", site_views.TeamListView.as_view(), name="team"),
    path("subscriptions/", include(catalog_urls.subscription_patterns)),
    path("media/", include(catalog_urls.media_patterns)),
    path("pricing-models/", include(catalog_urls.pricing_model_patterns)),
    path("coupons/", include(catalog_urls.coupon_patterns)),
    path("contacts/", include(catalog_urls.contacts_patterns)),
    path("buyers/", include((buyer_urls.buyer_patterns, "buyers"))),
    path("accesses/", include((buyer_urls.access_patterns, "accesses"))),
    path("purchases/", include("purchases.urls")),
    path("renewals/", include("purchases.contract_urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("api-keys/", include((api_key_pages.urlpatterns, "api_keys"))),
    path("api/", include("api.urls")),
    path("healthz/", site_views.healthz, name="healthz"),
    path("sandbox/pay/<str:pnref>/", purchase_views.sandbox_checkout, name="sandbox_checkout"),
    path("admin/", admin.site.urls),
]
