"""The roles a shop's people have, as Django groups, and what each may do.

Admins are superusers. The groups and their permissions are written by data migrations that call
`apply_role_permissions`: each app whose models bring new permissions adds one such migration
after its models, so a new database and an upgraded one end with the same groups.
"""

SHOP_STAFF = "Shop staff"
FINANCE = "Finance"
# Money reports and money exports (revenue, refunds, purchase and wallet CSVs): Finance's.
MONEY_REPORTS = "purchases.view_refund"

# "app_label.codename" for each role. Names of models that do not exist yet are skipped and
# granted by the migration that creates them.
CATALOG_MODELS = (
    "subscription",
    "media",
    "subscriptionmedia",
    "pricingmodel",
    "subscriptionpricingmodel",
    "coupon",
    "shopcontacts",
)

ROLE_PERMISSIONS: dict[str, list[str]] = {
    SHOP_STAFF: [
        f"subscriptions.{action}_{model}"
        for model in CATALOG_MODELS
        for action in ("view", "add", "change", "delete")
    ],
    FINANCE: [f"subscriptions.view_{model}" for model in CATALOG_MODELS],
}

# Buyers: staff look after buyers, their accesses and wallets; finance reads them.
BUYER_MODELS = ("buyer", "access", "accessactivation", "walletentry", "walletbalance", "sentemail")
ROLE_PERMISSIONS[SHOP_STAFF] += [
    *(f"buyers.view_{model}" for model in BUYER_MODELS),
    *(f"buyers.{action}_{model}" for model in ("buyer", "access") for action in ("add", "change")),
    "buyers.add_walletentry",
    "buyers.revoke_access",
    "buyers.import_buyers",
    "buyers.adjust_wallet",
    "buyers.set_pin",
    # Support: read a buyer's e-mails as sent and resend one; write notes on their timeline.
    "buyers.resend_email",
    "buyers.view_buyernote",
    "buyers.add_buyernote",
]
ROLE_PERMISSIONS[FINANCE] += [
    f"buyers.view_{model}"
    for model in ("buyer", "access", "walletentry", "walletbalance", "buyernote")
]

# Purchases: staff sell on a buyer's behalf and cancel; finance reviews, cancels and refunds.
PURCHASE_MODELS = (
    "purchase",
    "purchasesession",
    "refund",
    "cancellation",
    "recurringcontract",
    "contracttransaction",
)
# Finance reports are gated on purchases.view_refund, so shop staff do not hold it.
ROLE_PERMISSIONS[SHOP_STAFF] += [
    *(f"purchases.view_{model}" for model in PURCHASE_MODELS if model != "refund"),
    "purchases.add_purchase",
    "purchases.change_purchase",
    "purchases.cancel_purchase",
    "purchases.change_recurringcontract",
]
ROLE_PERMISSIONS[FINANCE] += [
    *(f"purchases.view_{model}" for model in PURCHASE_MODELS),
    "purchases.cancel_purchase",
    "purchases.refund_purchase",
    "purchases.change_recurringcontract",
    "purchases.retry_contract",
]

# The money journal and the e-wallet changes beyond what staff may make alone: finance's.
ROLE_PERMISSIONS[FINANCE] += [
    "purchases.view_journalentry",
    "purchases.view_closedperiod",
    "purchases.close_period",
    "purchases.book_correction",
    "buyers.adjust_wallet",
    "buyers.adjust_wallet_above_limit",
]

# The audit trail (who changed what): admins and finance read the whole trail; shop staff see
# an object's history on the pages of the objects they may open.
AUDIT_TRAIL = "site.view_auditentry"
ROLE_PERMISSIONS[FINANCE] += [AUDIT_TRAIL]


def apply_role_permissions(apps, schema_editor):
    """Create the role groups and grant each the permissions listed for it (adds, never removes)."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; a data migration needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".", 1)
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                group.permissions.add(permission)
