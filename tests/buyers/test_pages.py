"""Buyer and access pages: staff may change, finance may only read, bad input changes nothing."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from buyers import services
from buyers.models import Access, Buyer, WalletEntry

from .factories import AccessFactory, BuyerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def access(db):
    return AccessFactory(activation_limit=2)


def read_pages(access):
    buyer, subscription = access.buyer, access.subscription
    return [
        reverse("buyers:list"),
        reverse("buyers:list") + "?q=example&has_active_access=true&has_wallet_balance=false"
        "&created_after=2020-01-01&created_before=2040-01-01",
        reverse("buyers:detail", args=[buyer.code]),
        reverse("buyers:wallet_ledger"),
        reverse("accesses:list"),
        reverse("accesses:list") + f"?subscription={subscription.code}&status=active&email=x",
        reverse("accesses:detail", args=[access.code]),
        reverse("accesses:subscription", args=[subscription.code]),
    ]


def edit_pages(access):
    buyer, subscription = access.buyer, access.subscription
    return [
        reverse("buyers:create"),
        reverse("buyers:edit", args=[buyer.code]),
        reverse("buyers:set_pin", args=[buyer.code]),
        reverse("buyers:wallet_entry", args=[buyer.code]),
        reverse("buyers:grant_access", args=[buyer.code]),
        reverse("buyers:import"),
        reverse("accesses:edit", args=[access.code]),
        reverse("accesses:revoke", args=[access.code]),
        reverse("accesses:grant_for_subscription", args=[subscription.code]),
    ]


def test_staff_opens_every_page(client, staff_user, access):
    client.force_login(staff_user)
    for url in read_pages(access) + edit_pages(access):
        assert client.get(url).status_code == 200, url


def test_finance_reads_but_changes_only_e_wallets(client, finance_user, access):
    client.force_login(finance_user)
    wallet = reverse("buyers:wallet_entry", args=[access.buyer.code])
    for url in [*read_pages(access), wallet]:
        assert client.get(url).status_code == 200, url
    for url in edit_pages(access):
        if url == wallet:  # e-wallet changes beyond WALLET_ADJUSTMENT_LIMIT are finance's
            continue
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"email": "x@example.com"}).status_code == 403, url
    detail = client.get(reverse("accesses:detail", args=[access.code])).content.decode()
    assert access.hash not in detail  # the access password is a credential
    buyer_page = client.get(reverse("buyers:detail", args=[access.buyer.code])).content.decode()
    assert reverse("buyers:edit", args=[access.buyer.code]) not in buyer_page


def test_unknown_codes_answer_404(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("buyers:detail", args=["NOPE0000"])).status_code == 404
    assert client.get(reverse("buyers:edit", args=["NOPE0000"])).status_code == 404
    assert client.get(reverse("accesses:revoke", args=["NOPE0000"])).status_code == 404


def test_create_buyer_page(client, staff_user):
    client.force_login(staff_user)
    response = client.post(reverse("buyers:create"), {"email": "ann@example.com", "name": "Ann"})
    buyer = Buyer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("buyers:detail", args=[buyer.code])


def field_errors(response, field):
    return response.context["form"].errors.get(field, [])


def test_bad_buyer_input_is_shown_beside_the_field_and_changes_nothing(client, staff_user):
    BuyerFactory(email="taken@example.com")
    client.force_login(staff_user)
    response = client.post(reverse("buyers:create"), {"email": "TAKEN@example.com"})
    assert response.status_code == 200
    assert field_errors(response, "email") == ["Another buyer already has this e-mail address."]
    assert b"invalid-feedback" in response.content
    response = client.post(reverse("buyers:create"), {"name": "No contact"})
    assert "one of the two is required" in field_errors(response, "email")[0]
    response = client.post(reverse("buyers:create"), {"phone": "not a phone"})
    assert field_errors(response, "phone")
    assert Buyer.objects.count() == 1


def test_edit_buyer_page(client, staff_user):
    buyer = BuyerFactory(email="ann@example.com")
    client.force_login(staff_user)
    url = reverse("buyers:edit", args=[buyer.code])
    assert b"ann@example.com" in client.get(url).content
    client.post(url, {"email": "ann@example.com", "phone": "+1 555 0100", "name": "Ann"})
    buyer.refresh_from_db()
    assert (buyer.phone, buyer.name) == ("+1 555 0100", "Ann")


def test_set_pin_page_never_shows_the_pin(client, staff_user):
    buyer = BuyerFactory()
    client.force_login(staff_user)
    url = reverse("buyers:set_pin", args=[buyer.code])
    response = client.post(url, {"pin": "12", "pin_again": "12"})
    assert field_errors(response, "pin") == ["A purchase PIN is 4 to 8 digits."]
    response = client.post(url, {"pin": "1234", "pin_again": "1235"})
    assert field_errors(response, "pin_again") == ["The two PINs differ."]
    buyer.refresh_from_db()
    assert not buyer.has_pin
    response = client.post(url, {"pin": "4821", "pin_again": "4821"}, follow=True)
    assert b"4821" not in response.content
    assert b"pbkdf2" not in response.content and b"md5$" not in response.content
    services.verify_purchase_pin(buyer=buyer, pin="4821")


def test_wallet_page_tops_up_and_adjusts(client, staff_user):
    buyer = BuyerFactory()
    client.force_login(staff_user)
    url = reverse("buyers:wallet_entry", args=[buyer.code])
    client.post(url, {"kind": "top_up", "amount": "20.00", "currency": "EUR"})
    response = client.post(
        url, {"kind": "adjustment", "amount": "-5", "currency": "EUR", "reason": "Goodwill"}
    )
    assert response.status_code == 302
    entries = list(WalletEntry.objects.order_by("pk").values_list("kind", "amount", "created_by"))
    assert entries == [
        ("top_up", Decimal("20"), staff_user.pk),
        ("adjustment", Decimal("-5"), staff_user.pk),
    ]
    page = client.get(reverse("buyers:detail", args=[buyer.code])).content.decode()
    assert "15.00 EUR" in page and "Goodwill" in page


def test_wallet_page_refusals_are_shown_beside_the_field(client, staff_user):
    buyer = BuyerFactory()
    client.force_login(staff_user)
    url = reverse("buyers:wallet_entry", args=[buyer.code])
    response = client.post(
        url, {"kind": "adjustment", "amount": "-5", "currency": "EUR", "reason": "oops"}
    )
    assert "not enough" in field_errors(response, "amount")[0]
    response = client.post(url, {"kind": "adjustment", "amount": "5", "currency": "EUR"})
    assert field_errors(response, "reason") == ["Say why: an adjustment needs a reason."]
    response = client.post(url, {"kind": "top_up", "amount": "1.234", "currency": "EUR"})
    assert "decimal place" in field_errors(response, "amount")[0]
    response = client.post(url, {"kind": "top_up", "amount": "lots", "currency": "EUR"})
    assert field_errors(response, "amount")
    assert not WalletEntry.objects.exists()


@pytest.mark.parametrize("kind", ["top_up", "adjustment"])
def test_staff_change_a_wallet_by_at_most_the_limit_finance_by_more(
    client, staff_user, finance_user, settings, kind
):
    settings.WALLET_ADJUSTMENT_LIMIT = {"*": Decimal("100"), "JPY": Decimal("15000")}
    buyer = BuyerFactory()
    url = reverse("buyers:wallet_entry", args=[buyer.code])
    big = {"kind": kind, "amount": "100.01", "currency": "EUR", "reason": "Goodwill"}
    client.force_login(staff_user)
    response = client.post(url, big)
    assert field_errors(response, "amount") == [
        "More than 100 EUR at a time needs the Finance role: ask finance to make this change."
    ]
    assert not WalletEntry.objects.exists()
    assert client.post(url, {**big, "amount": "100.00"}).status_code == 302
    client.force_login(finance_user)
    assert client.post(url, big).status_code == 302
    assert list(WalletEntry.objects.order_by("pk").values_list("amount", "created_by")) == [
        (Decimal("100.00"), staff_user.pk),
        (Decimal("100.01"), finance_user.pk),
    ]


def test_a_large_negative_adjustment_needs_finance_too(client, staff_user, settings):
    settings.WALLET_ADJUSTMENT_LIMIT = {"EUR": Decimal("10")}
    buyer = BuyerFactory()
    services.top_up_wallet(buyer=buyer, amount="50", currency="EUR")
    client.force_login(staff_user)
    response = client.post(
        reverse("buyers:wallet_entry", args=[buyer.code]),
        {"kind": "adjustment", "amount": "-10.01", "currency": "EUR", "reason": "Fee"},
    )
    assert "needs the Finance role" in field_errors(response, "amount")[0]
    assert WalletEntry.objects.count() == 1


def test_grant_from_the_buyer_page_shows_the_access_password(
    client, staff_user, django_capture_on_commit_callbacks, mailoutbox
):
    buyer = BuyerFactory()
    subscription = SubscriptionFactory(activation=3)
    client.force_login(staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("buyers:grant_access", args=[buyer.code]),
            {"subscription": subscription.code, "access_expire": "2040-12-31", "notify": "on"},
            follow=True,
        )
    access = Access.objects.get()
    assert response.status_code == 200
    assert access.hash in response.content.decode()
    assert (access.activation_limit, access.granted_by) == (3, staff_user)
    assert access.access_expire.strftime("%H:%M:%S") == "23:59:59"
    assert len(mailoutbox) == 1


def test_a_second_grant_from_the_staff_page_extends_the_live_access_and_says_so(
    client, staff_user, django_capture_on_commit_callbacks, mailoutbox
):
    buyer = BuyerFactory()
    subscription = SubscriptionFactory(activation=3)
    client.force_login(staff_user)
    url = reverse("buyers:grant_access", args=[buyer.code])
    client.post(url, {"subscription": subscription.code, "access_expire": "2040-12-31"})
    access = Access.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {"subscription": subscription.code, "access_expire": "2041-06-30", "notify": "on"},
            follow=True,
        )
    assert Access.objects.get() == access
    access.refresh_from_db()
    assert access.access_expire.date().isoformat() == "2041-06-30"
    page = response.content.decode()
    assert "already had a live access" in page and "No second access was made" in page
    assert response.redirect_chain[-1][0] == reverse("accesses:detail", args=[access.code])
    assert mailoutbox == []


def test_grant_from_the_subscription_page_for_a_new_buyer_by_phone(client, staff_user):
    subscription = SubscriptionFactory()
    client.force_login(staff_user)
    url = reverse("accesses:grant_for_subscription", args=[subscription.code])
    response = client.post(url, {"phone": "+1 555 0100", "notify": "on"})
    assert "no e-mail address" in field_errors(response, "notify")[0]
    assert not Access.objects.exists() and not Buyer.objects.exists()
    response = client.post(url, {"phone": "+1 555 0100", "activation_limit": "2"})
    access = Access.objects.get()
    assert response["Location"] == reverse("accesses:detail", args=[access.code])
    assert (access.buyer.phone, access.activation_limit) == ("+1 555 0100", 2)


def test_grant_refusals_are_clear_and_write_nothing(client, staff_user):
    client.force_login(staff_user)
    full = SubscriptionFactory(stock=1)
    AccessFactory(subscription=full)
    url = reverse("accesses:grant_for_subscription", args=[full.code])
    response = client.post(url, {"email": "late@example.com"})
    assert b"stock is used up" in response.content
    response = client.post(url, {})
    assert field_errors(response, "email") == ["Give the buyer's e-mail or phone."]
    response = client.post(
        url, {"email": "x@example.com", "access_start": "2030-02-01", "access_expire": "soon"}
    )
    assert "Enter a date" in field_errors(response, "access_expire")[0]
    assert Access.objects.count() == 1 and Buyer.objects.count() == 1


def test_archived_subscriptions_are_not_offered_on_the_buyer_page(client, staff_user):
    from django.utils import timezone

    archived = SubscriptionFactory(name="Old course", archived_at=timezone.now())
    buyer = BuyerFactory()
    client.force_login(staff_user)
    url = reverse("buyers:grant_access", args=[buyer.code])
    assert b"Old course" not in client.get(url).content
    response = client.post(url, {"subscription": archived.code})
    assert field_errors(response, "subscription")
    assert not Access.objects.exists()


def test_edit_access_page(client, staff_user, access):
    client.force_login(staff_user)
    url = reverse("accesses:edit", args=[access.code])
    response = client.post(url, {"activation_limit": "5", "access_expire": "2041-01-31"})
    assert response.status_code == 302
    access.refresh_from_db()
    assert access.activation_limit == 5
    Access.objects.filter(pk=access.pk).update(activations_used=4)
    response = client.post(url, {"activation_limit": "3"})
    assert "cannot be lower" in field_errors(response, "activation_limit")[0]
    access.refresh_from_db()
    assert access.activation_limit == 5


def test_the_change_page_offers_to_tell_the_buyer(
    client, staff_user, access, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(staff_user)
    url = reverse("accesses:edit", args=[access.code])
    assert client.get(url).context["form"]["notify"].value() is bool(access.buyer.email)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"activation_limit": "6", "notify": "on"}, follow=True)
    assert b"The buyer will be told by e-mail." in response.content
    assert [m.to for m in mailoutbox] == [[access.buyer.email]]


def test_revoke_page_asks_then_revokes_on_post(client, staff_user, access):
    client.force_login(staff_user)
    url = reverse("accesses:revoke", args=[access.code])
    page = client.get(url)
    assert b'data-confirm="Revoke this access now?"' in page.content
    access.refresh_from_db()
    assert access.revoked_at is None
    client.post(url, {})
    access.refresh_from_db()
    assert (access.status, access.revoked_by) == ("revoked", staff_user)
    assert Access.objects.filter(pk=access.pk).exists()
    again = client.post(url, {"notify": "on"}, follow=True)  # revoking again changes nothing
    assert b"already revoked" in again.content
    access.refresh_from_db()
    assert access.revoked_by == staff_user


def test_accesses_list_filters_by_subscription_status_and_email(client, staff_user):
    subscription = SubscriptionFactory()
    ann = BuyerFactory(email="ann@example.com")
    first = AccessFactory(subscription=subscription, buyer=ann)
    second = AccessFactory(subscription=subscription, buyer=ann)
    AccessFactory(subscription=subscription)
    AccessFactory(buyer=ann)
    services.revoke_access(access=second)
    client.force_login(staff_user)

    def codes(**query):
        response = client.get(reverse("accesses:list"), query)
        return {row.record.code for row in response.context["table"].page.object_list}

    both = codes(subscription=subscription.code, email="ANN@example.com")
    assert both == {first.code, second.code}
    assert codes(subscription=subscription.code, status="revoked") == {second.code}


def test_subscription_accesses_page_lists_buyers_by_email(client, staff_user):
    subscription = SubscriptionFactory()
    ann = BuyerFactory(email="ann@example.com")
    mine = [AccessFactory(subscription=subscription, buyer=ann) for _ in range(2)]
    other = AccessFactory(subscription=subscription)
    client.force_login(staff_user)
    url = reverse("accesses:subscription", args=[subscription.code])
    page = client.get(url, {"email": "ann@example.com"}).content.decode()
    assert all(access.code in page for access in mine)
    assert other.code not in page
    assert re.search(r'data-testid="buyer-count">2<', client.get(url).content.decode())


def test_buyer_list_filters(client, staff_user):
    active = BuyerFactory(email="active@example.com")
    AccessFactory(buyer=active)
    rich = BuyerFactory(email="rich@example.com")
    services.top_up_wallet(buyer=rich, amount="5", currency="EUR")
    BuyerFactory(email="plain@example.com")
    client.force_login(staff_user)

    def emails(**query):
        response = client.get(reverse("buyers:list"), query)
        return {row.record.email for row in response.context["table"].page.object_list}

    assert emails(has_active_access="true") == {"active@example.com"}
    assert emails(has_wallet_balance="true") == {"rich@example.com"}
    assert emails(q="PLAIN") == {"plain@example.com"}
    Buyer.objects.filter(email="plain@example.com").update(
        created_at=datetime(2020, 6, 15, 12, tzinfo=UTC)
    )
    old = emails(created_after="2020-06-01", created_before="2020-06-30")
    assert old == {"plain@example.com"}
    assert "plain@example.com" not in emails(created_after="2021-01-01")
    assert "5.00 EUR" in client.get(reverse("buyers:list")).content.decode()


def make_rows(count):
    subscription = SubscriptionFactory()
    for n in range(count):
        buyer = BuyerFactory()
        AccessFactory(buyer=buyer, subscription=subscription)
        services.top_up_wallet(buyer=buyer, amount=str(n + 1), currency="EUR")


@pytest.mark.parametrize("url_name", ["buyers:list", "accesses:list", "buyers:wallet_ledger"])
def test_list_query_count_does_not_grow_with_rows(
    client, staff_user, django_assert_max_num_queries, url_name
):
    client.force_login(staff_user)
    make_rows(5)
    client.get(reverse(url_name))  # warm up session and permission caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(url_name), {"per_page": 100}).status_code == 200
    make_rows(45)
    with django_assert_max_num_queries(len(few)):
        response = client.get(reverse(url_name), {"per_page": 100})
    assert len(response.context["table"].page.object_list) >= 50


def test_buyer_detail_query_count_is_fixed(client, staff_user, django_assert_max_num_queries):
    buyer = BuyerFactory()
    for _ in range(30):
        AccessFactory(buyer=buyer)
        services.top_up_wallet(buyer=buyer, amount="1", currency="EUR")
    client.force_login(staff_user)
    client.get(reverse("buyers:detail", args=[buyer.code]))
    with django_assert_max_num_queries(12):
        client.get(reverse("buyers:detail", args=[buyer.code]))


def test_accesses_export_has_the_filtered_rows_without_access_passwords(client, finance_user):
    subscription = SubscriptionFactory()
    shown = AccessFactory(subscription=subscription)
    hidden = AccessFactory()
    client.force_login(finance_user)
    response = client.get(
        reverse("accesses:list"), {"subscription": subscription.code, "export": "csv"}
    )
    body = b"".join(response.streaming_content).decode()
    assert shown.code in body and hidden.code not in body
    assert shown.hash not in body
    assert "Status" in body.splitlines()[0]


def test_a_grant_starting_near_year_9999_is_refused_beside_the_start_date(client, staff_user):
    buyer, subscription = BuyerFactory(), SubscriptionFactory(period=30)
    client.force_login(staff_user)
    url = reverse("buyers:grant_access", args=[buyer.code])
    response = client.post(url, {"subscription": subscription.code, "access_start": "9999-12-31"})
    assert field_errors(response, "access_start") == [
        "Enter a date between 1900-01-01 and 9999-12-30."
    ]
    # The last accepted day plus the subscription's 30 days would pass year 9999.
    response = client.post(url, {"subscription": subscription.code, "access_start": "9999-12-30"})
    assert "after the year 9999" in field_errors(response, "access_start")[0]
    assert not Access.objects.exists()


def test_a_grant_near_year_9999_with_its_own_expiry_needs_no_period():
    subscription = SubscriptionFactory(period=30)
    access = services.grant_access(
        subscription=subscription,
        buyer=BuyerFactory(),
        access_start=datetime(9999, 12, 1, tzinfo=UTC),
        access_expire=datetime(9999, 12, 30, tzinfo=UTC),
    )
    assert access.access_expire == datetime(9999, 12, 30, tzinfo=UTC)


def test_an_activation_limit_too_big_to_store_is_refused_and_changes_nothing(
    client, staff_user, access
):
    client.force_login(staff_user)
    response = client.post(
        reverse("accesses:edit", args=[access.code]), {"activation_limit": "2147483648"}
    )
    assert field_errors(response, "activation_limit") == [
        "Ensure this value is less than or equal to 2147483647."
    ]
    access.refresh_from_db()
    assert access.activation_limit == 2


def test_an_email_search_with_a_null_character_finds_no_access(client, staff_user, access):
    client.force_login(staff_user)
    response = client.get(
        reverse("accesses:subscription", args=[access.subscription.code]),
        {"email": f"{access.buyer.email}\x00"},
    )
    assert response.status_code == 200
    assert response.context["subscription_accesses"] == []


@pytest.mark.parametrize(("key", "day"), [("after", "0001-01-01"), ("before", "9999-12-31")])
def test_a_list_date_filter_out_of_range_in_the_shops_zone_says_so(
    client, staff_user, access, settings, key, day
):
    # Pago Pago was 12:37 ahead of UTC before 1892, so its 0001-01-01 is year 0 in UTC; it is
    # 11 hours behind now, so the end of 9999-12-31 is in year 10000 in UTC.
    settings.TIME_ZONE = "Pacific/Pago_Pago"
    client.force_login(staff_user)
    response = client.get(reverse("buyers:list"), {f"created_{key}": day})
    assert response.status_code == 200
    assert response.context["filter"].form.errors["created"] == [
        "Enter a date between 1900-01-01 and 9999-12-30."
    ]
    assert b"invalid-feedback" in response.content


def test_the_wallet_form_preselects_the_configured_currency(client, staff_user, settings):
    settings.WALLET_DEFAULT_CURRENCY = "USD"
    buyer = BuyerFactory()
    client.force_login(staff_user)
    response = client.get(reverse("buyers:wallet_entry", args=[buyer.code]))
    assert response.context["form"]["currency"].value() == "USD"
    assert b'<option value="USD" selected>' in response.content


@pytest.mark.parametrize("amount", ["5", "99999999999999", "-99999999999999", "1e20"])
def test_a_wallet_entry_past_what_the_ledger_holds_is_refused_beside_the_amount(
    client, staff_user, amount
):
    buyer = BuyerFactory()
    services.top_up_wallet(buyer=buyer, amount="9999999999", currency="EUR")
    client.force_login(staff_user)
    response = client.post(
        reverse("buyers:wallet_entry", args=[buyer.code]),
        {"kind": "adjustment", "amount": amount, "currency": "EUR", "reason": "test"},
    )
    assert response.status_code == 200
    errors = field_errors(response, "amount")
    assert errors, response.context["form"].errors
    assert WalletEntry.objects.count() == 1
