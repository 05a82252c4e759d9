"""The header's search box: a code, e-mail, phone, name or gateway reference goes straight to the
one thing it names, or to a page of matches grouped by kind; each kind only for those who may
open it."""

import pytest
from django.urls import reverse

from purchases.renewals import renew_due_contracts
from tests.buyers.factories import AccessFactory, BuyerFactory
from tests.purchases.test_renewals import subscribe
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, admin_user):
    client.force_login(admin_user)
    return client


def search(client, text):
    return client.get(reverse("search"), {"q": text})


def test_every_page_has_the_search_box_with_its_shortcut(admin):
    page = admin.get(reverse("home")).content.decode()
    assert 'action="/search/"' in page and 'aria-keyshortcuts="/"' in page


def test_one_buyer_matching_part_of_an_e_mail_opens_that_buyer(admin):
    buyer = BuyerFactory(email="ana.lopez@example.org")
    BuyerFactory(email="someone@example.net")
    response = search(admin, "lopez@exa")
    assert response.status_code == 302
    assert response["Location"] == reverse("buyers:detail", args=[buyer.code])


def test_a_phone_or_a_name_finds_the_buyer(admin):
    buyer = BuyerFactory(phone="+34600111222", name="Ana López")
    for text in ("600111", "ana lóp"):
        assert search(admin, text)["Location"] == reverse("buyers:detail", args=[buyer.code])


def test_several_matches_are_listed_by_kind_with_a_link_to_each(admin):
    first = BuyerFactory(email="kim@example.org", name="Kim One")
    second = BuyerFactory(email="kim.two@example.org", name="Kim Two")
    subscription = SubscriptionFactory(name="Kimchi at home")
    response = search(admin, "kim")
    assert response.status_code == 200
    kinds = {kind["title"]: kind for kind in response.context["kinds"]}
    assert set(kinds) == {"Buyers", "Subscriptions"}
    page = response.content.decode()
    for url in (
        reverse("buyers:detail", args=[first.code]),
        reverse("buyers:detail", args=[second.code]),
        reverse("subscriptions:detail", args=[subscription.code]),
    ):
        assert f'href="{url}"' in page


def test_codes_open_their_access_subscription_purchase_and_contract(admin):
    access = AccessFactory()
    subscription = SubscriptionFactory()
    contract = subscribe()
    purchase = contract.purchase
    for code, url in (
        (access.code, reverse("accesses:detail", args=[access.code])),
        (subscription.code, reverse("subscriptions:detail", args=[subscription.code])),
        (purchase.code, reverse("purchases:detail", args=[purchase.code])),
        (contract.code, reverse("contracts:detail", args=[contract.code])),
    ):
        assert search(admin, code)["Location"] == url, code


def test_a_gateway_reference_opens_the_purchase_or_the_contract_it_charged(admin):
    contract = subscribe()
    purchase = contract.purchase
    purchase.gateway_reference = "PN-PURCHASE-1"
    purchase.save(update_fields=["gateway_reference"])
    renew_due_contracts(now=contract.next_bill_date)
    charge = contract.transactions.get()
    assert search(admin, "PN-PURCHASE-1")["Location"] == reverse(
        "purchases:detail", args=[purchase.code]
    )
    assert search(admin, charge.pnref)["Location"] == reverse(
        "contracts:detail", args=[contract.code]
    )


def test_kinds_the_user_may_not_open_are_not_searched(client, user_with_perms):
    buyer = BuyerFactory(email="hidden@example.org")
    client.force_login(user_with_perms("purchases.view_purchase"))
    response = search(client, buyer.email)
    assert response.status_code == 200 and response.context["kinds"] == []
    assert "Nothing matches" in response.content.decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "This field is required."),
        ("a\x00b", "Null characters are not allowed."),
        ("x" * 255, "at most 254 characters"),
    ],
)
def test_a_search_that_cannot_be_run_says_why(admin, text, message):
    response = search(admin, text)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_hostile_text_is_shown_escaped(admin):
    response = search(admin, "<script>alert(1)</script>")
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert "Nothing matches" in response.content.decode()


def test_parts_shorter_than_three_characters_search_no_buyer_and_say_so(admin):
    BuyerFactory(email="xy@example.org", name="Xy")
    response = search(admin, "xy")
    assert response.status_code == 200 and response.context["kinds"] == []
    assert "from 3 characters on" in response.content.decode()
