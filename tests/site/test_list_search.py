"""The list pages' search box: every table searched with its own indexes, the matches united
(core.listing.search_condition), finds exactly what one OR over the joins would find."""

import pytest
from django.db.models import Q
from django.test import override_settings

from buyers.filters import AccessFilter, BuyerFilter, WalletEntryFilter
from buyers.models import Access, Buyer, WalletEntry
from core.listing import search_condition
from purchases.filters import ContractFilter, PurchaseFilter
from purchases.generator import generate_data
from purchases.models import ContractTransaction, Purchase, RecurringContract, Refund
from purchases.report_views import ContractTransactionFilter, RefundFilter

LISTS = [
    (Buyer, BuyerFilter),
    (Access, AccessFilter),
    (WalletEntry, WalletEntryFilter),
    (Purchase, PurchaseFilter),
    (RecurringContract, ContractFilter),
    (Refund, RefundFilter),
    (ContractTransaction, ContractTransactionFilter),
]


def one_big_or(fields, value):
    condition = Q()
    for field in fields:
        lookup = "exact" if field.startswith("=") else "icontains"
        condition |= Q(**{f"{field.removeprefix('=')}__{lookup}": value})
    return condition


def terms(shop_buyer, purchase):
    email = shop_buyer.email or "nobody@example.com"
    return [
        email,  # one buyer
        email.split("@")[0][:4],  # many buyers
        email.upper(),
        purchase.code,  # a code, exactly
        purchase.code[:5],  # part of a code finds no code
        "ИВАН",
        "%",
        "_",
        "zzzz-no-such",
    ]


@pytest.mark.parametrize("limit", [10_000, 3])  # 3: related keys past the bound stay a subquery
def test_search_finds_what_one_or_over_the_joins_finds(transactional_db, limit):
    generate_data(purchases=300, seed=5)
    buyer = Buyer.objects.exclude(email="").filter(purchases__isnull=False).first()
    purchase = Purchase.objects.filter(buyer=buyer).first()
    with override_settings(LIST_COUNT_LIMIT=limit):
        for model, filterset in LISTS:
            for term in terms(buyer, purchase):
                found = set(
                    model.objects.filter(
                        search_condition(model, filterset.search_fields, term)
                    ).values_list("pk", flat=True)
                )
                expected = set(
                    model.objects.filter(one_big_or(filterset.search_fields, term)).values_list(
                        "pk", flat=True
                    )
                )
                assert found == expected, (model.__name__, term)


def test_codes_are_found_whole_and_e_mails_by_any_part(client, admin_user, transactional_db):
    generate_data(purchases=60, seed=2)
    client.force_login(admin_user)
    purchase = Purchase.objects.exclude(buyer__email="").select_related("buyer").first()

    def codes(query):
        response = client.get("/purchases/", {"q": query})
        return {row.record.code for row in response.context["table"].page.object_list}

    assert purchase.code in codes(purchase.code)
    assert purchase.code not in codes(purchase.code[:5])
    assert purchase.code in codes(purchase.buyer.email.split("@")[0].upper())


def test_the_search_box_says_what_it_looks_in(admin_client):
    response = admin_client.get("/purchases/")

    assert response.context["filter"].form["q"].help_text == (
        "Whole code, buyer's e-mail or whole gateway reference (PNRef)."
    )
    assert "Whole code, buyer&#x27;s e-mail or whole gateway reference (PNRef)." in response.text
