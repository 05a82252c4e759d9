"""The top navigation: areas in a fixed order, each link shown only to users who may open it.

Apps add their pages to AREAS. A link names a URL and the permission its view checks, so the
menu never offers a page that would answer 403.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from .roles import AUDIT_TRAIL, MONEY_REPORTS


@dataclass(frozen=True)
class NavLink:
    title: str  # gettext_lazy: translated when shown
    url_name: str
    permission: str = ""  # "app_label.codename"; empty means staff status (the Django admin)

    def visible_to(self, user) -> bool:
        if self.permission:
            return user.has_perm(self.permission)
        return user.is_staff


AREAS: dict[str, list[NavLink]] = {
    "Catalog": [
        NavLink(_("Subscriptions"), "subscriptions:list", "subscriptions.view_subscription"),
        NavLink(_("Media"), "media:list", "subscriptions.view_media"),
        NavLink(_("Pricing models"), "pricing_models:list", "subscriptions.view_pricingmodel"),
        NavLink(_("Coupons"), "coupons:list", "subscriptions.view_coupon"),
        NavLink(_("Shop contacts"), "contacts:detail", "subscriptions.view_shopcontacts"),
    ],
    "Buyers": [
        NavLink(_("Buyers"), "buyers:list", "buyers.view_buyer"),
        NavLink(_("Accesses"), "accesses:list", "buyers.view_access"),
        NavLink(_("E-wallet ledger"), "buyers:wallet_ledger", "buyers.view_walletentry"),
        NavLink(_("E-mails"), "emails:list", "buyers.view_sentemail"),
        NavLink(_("Import buyers"), "buyers:import", "buyers.import_buyers"),
    ],
    "Purchases": [
        NavLink(_("Purchases"), "purchases:list", "purchases.view_purchase"),
        NavLink(_("New purchase"), "purchases:create", "purchases.add_purchase"),
        NavLink(_("Purchase sessions"), "purchases:sessions", "purchases.view_purchasesession"),
    ],
    "Renewals": [
        NavLink(_("Contracts"), "contracts:list", "purchases.view_recurringcontract"),
    ],
    "Reports": [
        NavLink(_("Revenue"), "purchases:reports:revenue", MONEY_REPORTS),
        NavLink(_("Money journal"), "purchases:reports:journal", "purchases.view_journalentry"),
        NavLink(_("Reconciliation"), "purchases:reports:reconciliation", MONEY_REPORTS),
        NavLink(
            _("Closed months"), "purchases:reports:closed_periods", "purchases.view_closedperiod"
        ),
        NavLink(_("Refunds"), "purchases:reports:refunds", MONEY_REPORTS),
        NavLink(_("Renewals"), "purchases:reports:renewals", MONEY_REPORTS),
        NavLink(
            gettext_lazy("Renewal forecast"), "purchases:reports:renewal_forecast", MONEY_REPORTS
        ),
        NavLink(gettext_lazy("MRR and churn"), "purchases:reports:mrr_movements", MONEY_REPORTS),
        NavLink(
            _("Contract transactions"),
            "purchases:reports:contract_transactions",
            MONEY_REPORTS,
        ),
    ],
    "Admin": [
        NavLink(_("Team"), "team", "auth.view_user"),
        NavLink(_("Audit trail"), "audit_trail", AUDIT_TRAIL),
        NavLink(_("API keys"), "api_keys:list", "api.view_apikey"),
        NavLink(_("Webhooks"), "webhooks:list", "webhooks.view_webhookendpoint"),
        NavLink(_("Django admin"), "admin:index"),
    ],
}


# The areas' names as shown (AREAS is keyed by the English name, which other apps extend).
AREA_TITLES = {
    "Catalog": _("Catalog"),
    "Buyers": _("Buyers"),
    "Purchases": _("Purchases"),
    "Renewals": _("Renewals"),
    "Reports": _("Reports"),
    "Admin": _("Admin"),
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
                {
                    "title": AREA_TITLES.get(title, title),
                    "links": visible,
                    "active": any(v["active"] for v in visible),
                }
            )
    return areas
