"""A small shop whose every export holds what spreadsheets get wrong: Cyrillic, quotes, commas,
line breaks, formula-like text, codes with leading zeros, amounts in EUR (2 digits) and JPY
(none), times near midnight in the shop's time zone (America/St_Johns, UTC−03:30); and the list
of every export of the site (each list page's and each summary's)."""

from decimal import Decimal

from django.urls import reverse

from buyers.models import Access
from purchases.models import ContractTransaction, Purchase, RecurringContract, Refund
from tests.buyers.factories import AccessFactory, BuyerFactory
from tests.purchases.factories import offer_for_sale, wallet_buyer
from tests.purchases.test_reports import local, make_purchase

TRICKY_NAME = 'Борис "Боря" Иванов,\nмл.'
FORMULA_NAME = '=HYPERLINK("http://x")'
LEADING_ZERO_CODE = "00012345"
AUTH_CODE = "007"

# Every export: (name, URL name, query). The summaries need a date range.
SUMMARY_DATES = {"start": "2026-03-01", "end": "2026-03-31"}
BY_SUBSCRIPTION = {**SUMMARY_DATES, "grouping": "subscription"}
EXPORTS = [
    ("team", "team", {}),
    ("subscriptions", "subscriptions:list", {}),
    ("media", "media:list", {}),
    ("pricing-models", "pricing_models:list", {}),
    ("coupons", "coupons:list", {}),
    ("buyers", "buyers:list", {}),
    ("accesses", "accesses:list", {}),
    ("wallet-ledger", "buyers:wallet_ledger", {}),
    ("purchases", "purchases:list", {}),
    ("purchase-sessions", "purchases:sessions", {}),
    ("contracts", "contracts:list", {}),
    ("refunds", "purchases:reports:refunds", {}),
    ("contract-transactions", "purchases:reports:contract_transactions", {}),
    ("revenue-per-day", "purchases:reports:revenue", SUMMARY_DATES),
    ("revenue-by-subscription", "purchases:reports:revenue", BY_SUBSCRIPTION),
    ("renewals-per-day", "purchases:reports:renewals", SUMMARY_DATES),
]


def export_url(url_name, query, extension):
    """The address of an export: `?export=` for a list, `?format=` for a summary."""
    summary = url_name in ("purchases:reports:revenue", "purchases:reports:renewals")
    parameter = "format" if summary else "export"
    return reverse(url_name), {**query, parameter: extension}


def make_export_shop(staff):
    """Rows for every export; answers the purchases by name."""
    eur = offer_for_sale(price="10.00", currency="EUR", recurring=True, name=TRICKY_NAME)
    jpy = offer_for_sale(price="1500", currency="JPY", name=FORMULA_NAME)
    buyer = wallet_buyer("25.00", name=TRICKY_NAME, email="boris@example.com")
    evil = BuyerFactory(name="-1+1", email="@evil@example.com")
    first = make_purchase(
        created_at=local(2026, 3, 2, 23, 50),
        offer=eur,
        price="10.00",
        discount="2.50",
        coupon_code="SPRING",
        buyer=buyer,
    )
    second = make_purchase(
        created_at=local(2026, 3, 4, 0, 10), offer=jpy, currency="JPY", price="1500", buyer=evil
    )
    Purchase.objects.filter(pk=first.pk).update(code=LEADING_ZERO_CODE, auth_code=AUTH_CODE)
    first.refresh_from_db()
    Refund.objects.create(
        purchase=first,
        amount=Decimal("1.25"),
        currency="EUR",
        method="wallet",
        reason='Kunde sagt: "zu teuer", Ärger\nzweite Zeile',
        created_by=staff,
        created_at=local(2026, 3, 3, 10),
    )
    contract = RecurringContract.objects.create(
        purchase=first,
        buyer=buyer,
        subscription=first.subscription,
        pricing_model=first.pricing_model,
        access=AccessFactory(buyer=buyer, subscription=first.subscription),
        amount=first.amount,
        currency="EUR",
        payment_type="wallet",
        anchor=first.created_at,
        next_bill_date=local(2026, 4, 2, 23, 50),
    )
    ContractTransaction.objects.create(
        contract=contract,
        period=2,
        attempt=1,
        idempotency_key="k1",
        payment_pref="wallet",
        transaction_date=local(2026, 3, 5, 3),
        amount=first.amount,
        currency="EUR",
        status="approved",
        pnref="0099",
        result_code="0",
        response_message="=Approved",
        auth_code=AUTH_CODE,
    )
    Access.objects.filter(buyer=evil).update(purchased_at=local(2026, 3, 4, 0, 10))
    return {"first": first, "second": second}
