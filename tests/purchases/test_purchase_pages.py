import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from purchases.models import Purchase, Refund
from purchases.renewals import renew_due_contracts
from purchases.services.cancellations import cancel_purchase, refund_purchase
from purchases.services.checkout import create_purchase
from purchases.services.sessions import open_purchase_session
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer

pytestmark = pytest.mark.django_db


def make_purchases(count, currency="EUR", price="10.00", recurring=False):
    made = []
    for _ in range(count):
        subscription, pricing_model = offer_for_sale(
            price=price, currency=currency, recurring=recurring
        )
        made.append(
            create_purchase(
                buyer=wallet_buyer("5000", currency=currency),
                subscription=subscription,
                pricing_model=pricing_model,
                payment_type="wallet",
            )
        )
    return made


def test_finance_sees_gross_refunds_and_net_of_the_listed_purchases_staff_no_totals(
    client, staff_user, finance_user
):
    eur = make_purchases(2, "EUR", "10.00")
    make_purchases(1, "USD", "7.50")
    refund_purchase(purchase=eur[0], amount="4.00", reason="Late", staff_user=finance_user)
    client.force_login(finance_user)
    response = client.get(reverse("purchases:list"))
    totals = {row.currency: (row.gross, row.refunds, row.net) for row in response.context["totals"]}
    assert totals == {
        "EUR": (Decimal("20.00"), Decimal("4.00"), Decimal("16.00")),
        "USD": (Decimal("7.50"), Decimal(0), Decimal("7.50")),
    }
    page = response.content.decode()
    assert "Money of these purchases in EUR" in page and "paid from e-wallets" in page
    client.force_login(staff_user)
    response = client.get(reverse("purchases:list"))
    assert response.status_code == 200 and response.context["totals"] is None
    assert 'data-testid="totals"' not in response.content.decode()


def test_totals_follow_the_filters_and_equal_the_exported_rows(client, finance_user):
    make_purchases(3, "EUR", "10.00")
    make_purchases(2, "USD", "5.00")
    client.force_login(finance_user)
    response = client.get(reverse("purchases:list"), {"currency": "USD"})
    totals = list(response.context["totals"])
    assert [(t.currency, t.gross) for t in totals] == [("USD", Decimal("10.00"))]
    export = client.get(reverse("purchases:list"), {"currency": "USD", "export": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert len(rows) == 2
    assert sum(Decimal(row["Amount"]) for row in rows) == totals[0].gross


def test_the_purchase_list_query_count_does_not_grow(
    client, finance_user, django_assert_max_num_queries
):
    make_purchases(50)
    client.force_login(finance_user)
    with django_assert_max_num_queries(12) as five:
        client.get(reverse("purchases:list"), {"per_page": 5})
    with django_assert_max_num_queries(12) as fifty:
        client.get(reverse("purchases:list"), {"per_page": 50})
    assert len(five.captured_queries) == len(fifty.captured_queries)


def test_search_by_buyer_email_or_purchase_code(client, finance_user):
    first, second = make_purchases(2)
    client.force_login(finance_user)
    for query in (first.buyer.email.upper(), first.code):
        response = client.get(reverse("purchases:list"), {"q": query})
        assert [row.record for row in response.context["table"].page.object_list] == [first]


def test_staff_buy_for_a_buyer_from_the_form(client, staff_user):
    subscription, pricing_model = offer_for_sale(price="4.00")
    buyer = wallet_buyer("10")
    client.force_login(staff_user)
    response = client.post(
        reverse("purchases:create"),
        {
            "buyer": buyer.email,
            "subscription": subscription.code,
            "pricing_model": pricing_model.code,
            "payment_type": "wallet",
        },
    )
    purchase = Purchase.objects.get()
    assert response["Location"] == reverse("purchases:detail", kwargs={"code": purchase.code})
    assert purchase.status == "completed" and purchase.created_by == staff_user
    page = client.get(response["Location"])
    assert b"Can watch" in page.content and purchase.access.hash.encode() in page.content


def test_a_refused_purchase_shows_the_reason_beside_the_field_and_buys_nothing(client, staff_user):
    subscription, pricing_model = offer_for_sale(price="40.00")
    buyer = wallet_buyer("10")
    client.force_login(staff_user)
    response = client.post(
        reverse("purchases:create"),
        {
            "buyer": buyer.email,
            "subscription": subscription.code,
            "pricing_model": pricing_model.code,
            "payment_type": "wallet",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["payment_type"] == [
        "The buyer's e-wallet holds too little for this purchase."
    ]
    assert Purchase.objects.count() == 0


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("buyer", "nobody@example.com", "No buyer has this e-mail, phone or code."),
        ("subscription", "NOSUCH00", "Select a valid choice"),
        ("payment_type", "cash", "Select a valid choice"),
        ("return_url", "not a url", "Enter a valid URL."),
    ],
)
def test_bad_input_on_the_purchase_form_is_named_and_changes_nothing(
    client, staff_user, field, value, message
):
    subscription, pricing_model = offer_for_sale()
    data = {
        "buyer": wallet_buyer().email,
        "subscription": subscription.code,
        "pricing_model": pricing_model.code,
        "payment_type": "wallet",
        field: value,
    }
    client.force_login(staff_user)
    response = client.post(reverse("purchases:create"), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert Purchase.objects.count() == 0


def test_a_declined_card_says_so(client, staff_user):
    subscription, pricing_model = offer_for_sale()
    client.force_login(staff_user)
    response = client.post(
        reverse("purchases:create"),
        {
            "buyer": BuyerFactory().email,
            "subscription": subscription.code,
            "pricing_model": pricing_model.code,
            "payment_type": "sandbox_card",
            "instrument": "tok_decline",
        },
        follow=True,
    )
    assert b"The payment failed: Declined." in response.content
    assert Purchase.objects.get().status == "failed"


def test_finance_cannot_enter_purchases_and_staff_cannot_refund(client, staff_user, finance_user):
    purchase = make_purchases(1)[0]
    client.force_login(finance_user)
    assert client.get(reverse("purchases:create")).status_code == 403
    client.force_login(staff_user)
    assert (
        client.get(reverse("purchases:refund", kwargs={"code": purchase.code})).status_code == 403
    )
    detail = client.get(reverse("purchases:detail", kwargs={"code": purchase.code}))
    assert b"/refund/" not in detail.content


def test_finance_refunds_part_of_a_purchase(client, finance_user):
    purchase = make_purchases(1, price="10.00")[0]
    client.force_login(finance_user)
    url = reverse("purchases:refund", kwargs={"code": purchase.code})
    assert client.get(url).context["form"].initial["amount"] == Decimal("10.00")
    bad = client.post(url, {"amount": "10.01", "reason": "too much"})
    assert "At most 10.00 EUR is left to refund." in bad.context["form"].errors["amount"]
    client.post(url, {"amount": "4.00", "reason": "Stream was down"})
    refund = Refund.objects.get()
    assert (refund.amount, refund.created_by) == (Decimal("4.00"), finance_user)
    detail = client.get(reverse("purchases:detail", kwargs={"code": purchase.code}))
    assert b"Stream was down" in detail.content


def test_a_refund_reason_on_two_lines_is_shown_beside_the_reason_and_refunds_nothing(
    client, finance_user
):
    purchase = make_purchases(1, price="10.00")[0]
    client.force_login(finance_user)
    url = reverse("purchases:refund", kwargs={"code": purchase.code})
    response = client.post(url, {"amount": "4.00", "reason": "Stream\r\nwas down"})
    assert response.status_code == 200
    [message] = response.context["form"].errors["reason"]
    assert "on one line" in message
    assert not Refund.objects.exists()
    purchase.refresh_from_db()
    assert purchase.status == "completed"


def test_cancelling_a_recurring_purchase_from_its_page(client, staff_user):
    purchase = make_purchases(1, recurring=True)[0]
    client.force_login(staff_user)
    response = client.post(
        reverse("purchases:cancel", kwargs={"code": purchase.code}),
        {"mode": "period_end", "refund": "none"},
    )
    assert response.status_code == 302
    purchase.refresh_from_db()
    assert purchase.status == "cancelling"


def test_cancelling_a_one_time_purchase_shows_why_not(client, staff_user):
    purchase = make_purchases(1)[0]
    client.force_login(staff_user)
    response = client.post(
        reverse("purchases:cancel", kwargs={"code": purchase.code}),
        {"mode": "now", "refund": "none"},
    )
    assert "A one-time purchase cannot be cancelled" in response.content.decode()


def test_a_pending_payment_is_checked_from_its_page(client, staff_user):
    subscription, pricing_model = offer_for_sale()
    purchase = create_purchase(
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="sandbox_worldpay",
        return_url="https://s.example/r",
        cancel_url="https://s.example/c",
    )
    client.post(purchase.redirect_url, {"pay": "1"})
    client.force_login(staff_user)
    client.post(reverse("purchases:check_payment", kwargs={"code": purchase.code}))
    purchase.refresh_from_db()
    assert purchase.status == "completed"


def test_purchase_sessions_are_listed(client, finance_user):
    subscription, _ = offer_for_sale()
    session = open_purchase_session(buyer=BuyerFactory(), subscription=subscription, udid="tv-1")
    client.force_login(finance_user)
    response = client.get(reverse("purchases:sessions"), {"q": "tv-1"})
    assert [row.record for row in response.context["table"].page.object_list] == [session]


def test_totals_count_only_money_taken(client, finance_user):
    make_purchases(1, "EUR", "10.00")
    subscription, pricing_model = offer_for_sale(price="99.00")
    create_purchase(
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="sandbox_card",
        instrument="tok_decline",
    )
    client.force_login(finance_user)
    totals = list(client.get(reverse("purchases:list")).context["totals"])
    assert [(t.currency, t.sales_count, t.gross) for t in totals] == [("EUR", 1, Decimal("10.00"))]


def test_amounts_show_the_currencys_minor_digits(client, finance_user):
    purchase = make_purchases(1, "JPY", "1500")[0]
    client.force_login(finance_user)
    html = client.get(reverse("purchases:detail", kwargs={"code": purchase.code})).content.decode()
    assert "1,500 JPY" in html and "1500.00" not in html


def test_shop_staff_see_purchases_but_cannot_export_money(client, staff_user, finance_user):
    make_purchases(1)
    client.force_login(staff_user)
    page = client.get(reverse("purchases:list"))
    assert page.status_code == 200 and b"Export CSV" not in page.content
    assert client.get(reverse("purchases:list"), {"export": "csv"}).status_code == 403
    assert client.get(reverse("buyers:wallet_ledger"), {"export": "csv"}).status_code == 403
    client.force_login(finance_user)
    assert client.get(reverse("purchases:list"), {"export": "csv"}).status_code == 200


def test_totals_wait_for_filters_narrow_enough_to_count(client, finance_user, settings):
    settings.LIST_COUNT_LIMIT = 2
    make_purchases(3)
    client.force_login(finance_user)
    response = client.get(reverse("purchases:list"))
    assert response.context["totals"] is None
    assert b"Totals are shown for up to 2 purchases" in response.content
    narrowed = client.get(reverse("purchases:list"), {"q": Purchase.objects.first().code})
    assert [t.sales_count for t in narrowed.context["totals"]] == [1]


def page_of(client, purchase):
    return client.get(reverse("purchases:detail", kwargs={"code": purchase.code})).content.decode()


def test_a_failed_purchases_page_says_it_was_not_charged(client, finance_user):
    subscription, pricing_model = offer_for_sale(price="99.00", currency="USD")
    failed = create_purchase(
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="sandbox_card",
        instrument="tok_decline",
    )
    client.force_login(finance_user)
    page = page_of(client, failed)
    assert "Charged" not in page
    assert "99.00 USD: not charged" in page
    assert "No money moved." in page


def test_a_trial_is_shown_as_a_trial_not_as_a_discount(client, finance_user):
    subscription, pricing_model = offer_for_sale(price="12.00", recurring=True)
    pricing_model.trial_days = 14
    pricing_model.save()
    trial = create_purchase(
        buyer=BuyerFactory(),
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="sandbox_card",
        instrument="tok_approve",
    )
    client.force_login(finance_user)
    page = page_of(client, trial)
    assert "Discount</dt>" not in page and "(coupon" not in page
    assert f"until {timezone.localtime(trial.trial_ends_at):%Y-%m-%d %H:%M}" in page
    assert "then 12.00 EUR each period" in page and "nothing yet (free trial)" in page


def test_a_renewal_charges_refund_is_not_the_purchases_refunded_amount(client, finance_user):
    purchase = make_purchases(1, "EUR", "10.00", recurring=True)[0]
    renew_due_contracts(now=purchase.contract.next_bill_date)
    cancel_purchase(purchase=purchase, mode="now", refund="full", staff_user=finance_user)
    refund = Refund.objects.get()
    assert refund.contract_transaction is not None and purchase.refunded_amount == 0
    client.force_login(finance_user)
    response = client.get(reverse("purchases:detail", kwargs={"code": purchase.code}))
    assert response.context["refunded"] == 0
    (money,) = response.context["money"]
    assert (money.sales, money.renewals, money.refunds, money.net) == (
        Decimal("10.00"),
        Decimal("10.00"),
        Decimal("10.00"),
        Decimal("10.00"),
    )
    export = client.get(reverse("purchases:list"), {"export": "csv"})
    (row,) = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    assert (row["Amount"], row["Refunded amount"]) == ("10.00", "0.00")


def test_shop_staff_see_no_refund_amounts_and_no_money_totals(client, staff_user, finance_user):
    purchase = make_purchases(1, "EUR", "10.00")[0]
    refund_purchase(purchase=purchase, amount="3.33", reason="Late", staff_user=finance_user)
    client.force_login(staff_user)
    page = page_of(client, purchase)
    assert (
        "3.33" not in page and "Refunded" not in page and 'data-testid="purchase-money"' not in page
    )
    assert "refund <span" in page  # that it was refunded, without the amount
    client.force_login(finance_user)
    page = page_of(client, purchase)
    assert "3.33 EUR" in page and 'data-figure="net"' in page


def test_shop_staff_do_not_see_the_renewals_forecast(client, staff_user, finance_user):
    make_purchases(1, "EUR", "10.00", recurring=True)
    client.force_login(staff_user)
    response = client.get(reverse("contracts:list"))
    assert response.context["panel"]["expected"] is None
    assert b"Expected in 30 days" not in response.content
    client.force_login(finance_user)
    response = client.get(reverse("contracts:list"))
    assert b"Expected in 30 days" in response.content
