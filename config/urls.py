"""The site's URLs. Each area of an app is one list of URLs in that app's urls.py, mounted here
under its prefix and namespace the same way: `path(prefix, include((patterns, namespace)))`."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api import pages as api_key_pages
from api import urls as api_urls
from buyers import urls as buyer_urls
from core import audit_pages
from core import views as site_views
from purchases import urls as purchase_urls
from purchases import views as purchase_views
from purchases.reports import views as report_views
from purchases.self_service import urls as self_service_urls
from subscriptions import urls as catalog_urls
from webhooks import views as webhook_pages

# A database that is down for a moment answers 503 (retry), the API in JSON (core/health.py).
handler500 = "core.health.server_error"

admin.site.site_header = admin.site.site_title = "Back office admin"

urlpatterns = [
    path("", report_views.HomeView.as_view(), name="home"),
    path("team/", site_views.TeamListView.as_view(), name="team"),
    path("audit/", audit_pages.AuditTrailView.as_view(), name="audit_trail"),
    path("search/", site_views.SiteSearchView.as_view(), name="search"),
    path("language/", site_views.choose_language, name="choose_language"),
    path("subscriptions/", include((catalog_urls.subscription_patterns, "subscriptions"))),
    path("media/", include((catalog_urls.media_patterns, "media"))),
    path("pricing-models/", include((catalog_urls.pricing_model_patterns, "pricing_models"))),
    path("coupons/", include((catalog_urls.coupon_patterns, "coupons"))),
    path("contacts/", include((catalog_urls.contacts_patterns, "contacts"))),
    path("buyers/", include((buyer_urls.buyer_patterns, "buyers"))),
    path("accesses/", include((buyer_urls.access_patterns, "accesses"))),
    path("emails/", include((buyer_urls.email_patterns, "emails"))),
    path("purchases/", include((purchase_urls.purchase_patterns, "purchases"))),
    path("renewals/", include((purchase_urls.contract_patterns, "contracts"))),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", site_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("api-keys/", include((api_key_pages.urlpatterns, "api_keys"))),
    path("webhooks/", include((webhook_pages.urlpatterns, "webhooks"))),
    path("api/", include((api_urls.urlpatterns, "api"))),
    path("healthz/", site_views.healthz, name="healthz"),
    # Buyers' own pages, opened by the signed link in their e-mails (no sign-in).
    path("my/", include((self_service_urls.urlpatterns, "self_service"))),
    path("sandbox/pay/<str:pnref>/", purchase_views.sandbox_checkout, name="sandbox_checkout"),
    path("admin/", admin.site.urls),
]
