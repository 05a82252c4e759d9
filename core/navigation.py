"""The top navigation: areas in a fixed order, each link shown only to users who may open it.

Apps add their pages to AREAS. A link names a URL and the permission its view checks, so the
menu never offers a page that would answer 403.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy

from .roles import AUDIT_TRAIL, MONEY_REPORTS


@dataclass(frozen=True)
class NavLink:
    title: str
    url_name: str
    permission: str = ""  # "app_label.codename"; empty means staff status (the Django admin)

    def visible_to(self, user) -> bool:
        if self.permission:
            return user.has_perm(self.permission)
        return user.is_staff


AREAS: dict[str, list[NavLink]] = {
    "Catalog": [
        NavLink("Subscriptions", "subscriptions:list", "subscriptions.view_subscription"),
        NavLink("Media", "media:list", "subscriptions.view_media"),
        NavLink("Pricing models", "pricing_models:list", "subscriptions.view_pricingmodel"),
        NavLink("Coupons", "coupons:list", "subscriptions.view_coupon"),
        NavLink("Shop contacts", "contacts:detail", "subscriptions.view_shopcontacts"),
    ],
    "Buyers": [
        NavLink("Buyers", "buyers:list", "buyers.view_buyer"),
        NavLink("Accesses", "accesses:list", "buyers.view_access"),
        NavLink("E-wallet ledger", "buyers:wallet_ledger", "buyers.view_walletentry"),
        NavLink("E-mails", "emails:list", "buyers.view_sentemail"),
        NavLink("Import buyers", "buyers:import", "buyers.import_buyers"),
    ],
    "Purchases": [
        NavLink("Purchases", "purchases:list", "purchases.view_purchase"),
        NavLink("New purchase", "purchases:create", "purchases.add_purchase"),
        NavLink("Purchase sessions", "purchases:sessions", "purchases.view_purchasesession"),
    ],
    "Renewals": [
        NavLink("Contracts", "contracts:list", "purchases.view_recurringcontract"),
    ],
    "Reports": [
        NavLink("Revenue", "purchases:reports:revenue", MONEY_REPORTS),
        NavLink("Money journal", "purchases:reports:journal", "purchases.view_journalentry"),
        NavLink("Reconciliation", "purchases:reports:reconciliation", MONEY_REPORTS),
        NavLink("Closed months", "purchases:reports:closed_periods", "purchases.view_closedperiod"),
        NavLink("Refunds", "purchases:reports:refunds", MONEY_REPORTS),
        NavLink("Renewals", "purchases:reports:renewals", MONEY_REPORTS),
        NavLink(
            gettext_lazy("Renewal forecast"), "purchases:reports:renewal_forecast", MONEY_REPORTS
        ),
        NavLink(gettext_lazy("MRR and churn"), "purchases:reports:mrr_movements", MONEY_REPORTS),
        NavLink(
            "Contract transactions",
            "purchases:reports:contract_transactions",
            MONEY_REPORTS,
        ),
    ],
    "Admin": [
        NavLink("Team", "team", "auth.view_user"),
        NavLink("Audit trail", "audit_trail", AUDIT_TRAIL),
        NavLink("API keys", "api_keys:list", "api.view_apikey"),
        NavLink("Webhooks", "webhooks:list", "webhooks.view_webhookendpoint"),
        NavLink("Django admin", "admin:index"),
    ],
}


def navigation_for(user, current_path: str = "") -> list[dict]:
    """The areas and links `user` may open, marking the ones `current_path` is in."""
    if not user.is_authenticated:
        return []
    areas = []
    for title, links in AREAS.items():
        visible = []
        for link in links:
            if link.visible_to(user):
                url = reverse(link.url_name)
                visible.append(
                    {"title": link.title, "url": url, "active": current_path.startswith(url)}
                )
        if visible:
            areas.append(
                {"title": title, "links": visible, "active": any(v["active"] for v in visible)}
            )
    return areas
