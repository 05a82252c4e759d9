"""Every kind of CSV download, byte for byte: line ends, quoting, each kind of cell.

Two formats, on purpose: a small list page's table (the team, the catalog) downloads as Python's
csv "excel" dialect (CRLF; quoted when a field holds a comma, a quote or a line break); the
finance reports and the lists that grow to a million rows (purchases, accesses, buyers, renewals,
the wallet ledger) as PostgreSQL's COPY ... CSV writes them (LF; `\\.` quoted only when alone
on its line; an empty text `""`, a missing value as nothing), so that their COPY and iterator
paths agree. These tests pin both, whichever path the database takes.

The cells changed on purpose with issue 16 (files people open): times are `YYYY-MM-DD HH:MM:SS`
in the shop's time zone with the zone in the header (they were ISO 8601 with an offset, which
spreadsheets read as text); codes and statuses are written as they are, only text people or
gateways typed keeps the formula guard; "CSV for Excel" (a BOM) gave way to the .xlsx, and its
old address redirects there.
"""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.timezone import localdate

from buyers.models import Access, Buyer, WalletEntry
from purchases.journal import booking
from purchases.models import ContractTransaction, Purchase, RecurringContract, Refund
from subscriptions.models import PricingModel, Subscription
from tests.buyers.factories import AccessFactory, BuyerFactory
from tests.factories import UserFactory
from tests.purchases.factories import offer_for_sale, wallet_buyer
from tests.purchases.test_reports import local, make_purchase, shop_time_zone  # noqa: F401

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")


def body(response):
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


def offer(code, name, *, price="10.00", currency="EUR", title="Monthly", recurring=False):
    subscription, pricing_model = offer_for_sale(
        price=price, currency=currency, recurring=recurring, name=name
    )
    Subscription.objects.filter(pk=subscription.pk).update(code=code)
    PricingModel.objects.filter(pk=pricing_model.pk).update(title=title)
    subscription.refresh_from_db()
    pricing_model.refresh_from_db()
    return subscription, pricing_model


def contract_with_a_charge(purchase, *, approved):
    contract = RecurringContract.objects.create(
        purchase=purchase,
        buyer=purchase.buyer,
        subscription=purchase.subscription,
        pricing_model=purchase.pricing_model,
        access=AccessFactory(buyer=purchase.buyer, subscription=purchase.subscription),
        amount=purchase.amount,
        currency=purchase.currency,
        payment_type="wallet",
        anchor=purchase.created_at,
        next_bill_date=local(2026, 4, 1),
    )
    RecurringContract.objects.filter(pk=contract.pk).update(code="CON00001")
    contract.refresh_from_db()
    charge = ContractTransaction.objects.create(
        contract=contract,
        period=2,
        attempt=1,
        idempotency_key="k1",
        payment_pref="wallet",
        transaction_date=local(2026, 3, 5, 3),
        amount=purchase.amount,
        currency=purchase.currency,
        status="approved" if approved else "declined",
        pnref="PN21",
        result_code="0" if approved else "51",
        response_message="Approved" if approved else "@Insufficient funds",
        auth_code="A1" if approved else "",
    )
    if approved:  # booked as the renewal engine books an approved charge
        booking.book([booking.renewal_entry(charge, contract)])
    return contract


def test_a_list_table_downloads_as_excel_csv_with_crlf(client, user_with_perms):
    viewer = user_with_perms("auth.view_user", username="viewer", first_name="Vi", last_name="Ew")
    UserFactory(
        username="ann,smith",
        first_name='Say "hi"',
        last_name="Multi\nline",
        email="ann@example.com",
        is_active=False,
    )
    UserFactory(username="evil", first_name="=1+2", last_name="", email="evil@example.com")
    UserFactory(username="\\.", first_name="", last_name="", email="")
    get_user_model().objects.update(
        date_joined=datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=UTC), last_login=None
    )
    client.force_login(viewer)
    get_user_model().objects.filter(pk=viewer.pk).update(
        last_login=datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    )
    rows = (
        b"User name,Name,E-mail,Roles,Active,Admin,Last sign-in (America/St_Johns),"
        b"Joined (America/St_Johns)\r\n"
        b"\\.,,,\xe2\x80\x94,True,False,,2026-03-01 09:00:45\r\n"
        b'"ann,smith","Say ""hi"" Multi\nline",ann@example.com,\xe2\x80\x94,False,False,,'
        b"2026-03-01 09:00:45\r\n"
        b"evil,'=1+2,evil@example.com,\xe2\x80\x94,True,False,,2026-03-01 09:00:45\r\n"
        b"viewer,Vi Ew,viewer@example.com,\xe2\x80\x94,True,False,2026-03-02 04:30:00,"
        b"2026-03-01 09:00:45\r\n"
    )
    response = client.get(reverse("team"), {"export": "csv"})
    assert response["Content-Disposition"].endswith("_to_" + str(localdate()) + '.csv"')
    assert body(response) == rows
    old_excel_link = client.get(reverse("team"), {"export": "csv", "excel": "1"})
    assert old_excel_link.status_code == 302
    assert old_excel_link["Location"] == reverse("team") + "?export=xlsx"


def test_a_table_downloads_counts_dates_and_empty_cells_plainly(client, staff_user):
    subscription, _ = offer("SUB00001", "Course, part 1")
    buyer = BuyerFactory(email="=ann@example.com", name="Ann")
    access = AccessFactory(buyer=buyer, subscription=subscription, activation_limit=3)
    Access.objects.filter(pk=access.pk).update(
        code="ACC00001",
        activations_used=2,
        purchased_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        access_expire=datetime(2020, 4, 1, 9, 0, 5, tzinfo=UTC),
    )
    client.force_login(staff_user)
    # A report (COPY on PostgreSQL): LF lines, as PostgreSQL writes them.
    assert body(client.get(reverse("accesses:list"), {"export": "csv"})) == (
        b"Code,Buyer,Subscription,Status,Activations,Starts (America/St_Johns),"
        b"Expires (America/St_Johns),Purchase date (America/St_Johns),Granted by\n"
        b'ACC00001,\'=ann@example.com,"Course, part 1",expired,2 / 3,,'
        b"2020-04-01 06:30:05,2026-03-01 05:30:00,\n"
    )


def test_the_purchases_report_downloads_as_copy_csv_with_lf(client, finance_user):
    eur = offer("SUBEUR01", 'Course "A", 2', title="Monthly, EUR")
    jpy = offer("SUBJPY01", "=Yen", price="1500", currency="JPY", title="+Yen plan")
    first = make_purchase(
        created_at=local(2026, 3, 2, 23, 50),
        offer=eur,
        price="10.00",
        discount="2.50",
        coupon_code="\\.",
        buyer=BuyerFactory(name='Ann "A" Smith,\nJr', email="ann@example.com"),
    )
    second = make_purchase(
        created_at=local(2026, 3, 4),
        offer=jpy,
        currency="JPY",
        price="1500",
        status=Purchase.Status.FAILED,
        buyer=BuyerFactory(name="", email="-bob@example.com"),
    )
    Purchase.objects.filter(pk=first.pk).update(code="PUR00001", gateway_reference="SB01")
    Purchase.objects.filter(pk=second.pk).update(code="PUR00002", gateway_reference="SB02")
    Refund.objects.create(purchase=first, amount=Decimal("1.25"), currency="EUR", method="wallet")
    header = (
        b"Code,Created (America/St_Johns),Completed (America/St_Johns),Buyer e-mail,Buyer name,"
        b"Subscription code,Subscription,"
        b"Pricing model,List price,Discount,Coupon,Amount,Currency,Payment type,"
        b"Gateway reference,Status,Refunded amount\n"
    )
    rows = [
        b"PUR00001,2026-03-02 23:50:00,2026-03-02 23:50:05,ann@example.com,"
        b'"Ann ""A"" Smith,\nJr",SUBEUR01,"Course ""A"", 2","Monthly, EUR",10.00,2.50,\\.,'
        b"7.50,EUR,wallet,SB01,completed,1.25\n",
        b"PUR00002,2026-03-04 12:00:00,,'-bob@example.com,\"\",SUBJPY01,'=Yen,'+Yen plan,"
        b'1500,0,"",1500,JPY,wallet,SB02,failed,0\n',
    ]
    client.force_login(finance_user)
    oldest_first = client.get(reverse("purchases:list"), {"export": "csv", "sort": "created_at"})
    assert body(oldest_first) == header + rows[0] + rows[1]
    newest_first = client.get(reverse("purchases:list"), {"export": "csv"})
    assert body(newest_first) == header + rows[1] + rows[0]


def test_the_refunds_and_contract_transactions_reports_download_as_copy_csv(client, finance_user):
    purchase = make_purchase(
        created_at=local(2026, 3, 1),
        offer=offer("SUBEUR01", "Monthly course", recurring=True),
        buyer=BuyerFactory(name="Ann", email="ann@example.com"),
    )
    Purchase.objects.filter(pk=purchase.pk).update(code="PUR00001")
    refund = Refund.objects.create(
        purchase=purchase,
        amount=Decimal("2.50"),
        currency="EUR",
        method="wallet",
        reason='+Goodwill, "sorry"',
        created_by=finance_user,
        created_at=local(2026, 3, 3, 10),
    )
    Refund.objects.filter(pk=refund.pk).update(code="REF00001")
    contract_with_a_charge(purchase, approved=False)
    client.force_login(finance_user)
    refunds = client.get(reverse("purchases:reports:refunds"), {"export": "csv"})
    assert body(refunds) == (
        b"Code,Date (America/St_Johns),Purchase,Buyer e-mail,Subscription,Amount,Currency,"
        b"Refunded to,"
        b"Gateway reference,Reason,By\n"
        b"REF00001,2026-03-03 10:00:00,PUR00001,ann@example.com,Monthly course,2.50,EUR,"
        b'wallet,"","\'+Goodwill, ""sorry""",finance-member\n'
    )
    charges = client.get(reverse("purchases:reports:contract_transactions"), {"export": "csv"})
    assert body(charges) == (
        b"Contract_Key,PaymentPref,Transaction_Date (America/St_Johns),Transaction_Amount,"
        b"Convenience_Fee,Currency,"
        b"PNRef,ResultCode,ResponseMessage,AuthCode,Status,Billing period,Attempt,"
        b"Buyer e-mail,Subscription\n"
        b"CON00001,wallet,2026-03-05 03:00:00,10.00,0.00,EUR,PN21,51,"
        b'\'@Insufficient funds,"",declined,2,1,ann@example.com,Monthly course\n'
    )


def test_the_wallet_ledger_downloads_as_copy_csv(client, finance_user):
    buyer = wallet_buyer("25.00", name="Ann", email="ann@example.com")
    wallet_buyer("1000", currency="JPY", email="=yen@example.com")
    Buyer.objects.filter(pk=buyer.pk).update(code="BUY00001")
    Buyer.objects.exclude(pk=buyer.pk).update(code="BUY00002")
    WalletEntry.objects.update(created_at=local(2026, 3, 1, 9))
    client.force_login(finance_user)
    response = client.get(reverse("buyers:wallet_ledger"), {"export": "csv", "sort": "created_at"})
    assert body(response) == (
        b"Date (America/St_Johns),Buyer,Buyer e-mail,Kind,Amount,Currency,Balance after,Reason,"
        b"Reference,By\n"
        b'2026-03-01 09:00:00,BUY00001,ann@example.com,top_up,25.00,EUR,25.00,"","",\n'
        b'2026-03-01 09:00:00,BUY00002,\'=yen@example.com,top_up,1000,JPY,1000,"","",\n'
    )


def test_the_summaries_download_as_copy_csv(client, finance_user):
    eur = offer("SUBEUR01", 'Course, "one"', recurring=True)
    jpy = offer("SUBJPY01", "=Yen", price="1500", currency="JPY")
    bought = make_purchase(created_at=local(2026, 3, 2), offer=eur, price="10.00", discount="2.50")
    make_purchase(created_at=local(2026, 3, 4), offer=jpy, currency="JPY", price="1500")
    contract_with_a_charge(bought, approved=True)
    client.force_login(finance_user)
    dates = {"start": "2026-03-01", "end": "2026-03-31", "format": "csv"}
    per_day = client.get(reverse("purchases:reports:revenue"), dates)
    assert body(per_day) == (
        b"Period,Currency,Sales,Sales amount,Renewal charges,Renewal charges amount,Gross,"
        b"Refunds,Refunds amount,Corrections,Net,Of gross paid from e-wallets\n"
        b"2026-03-02,EUR,1,7.50,0,0.00,7.50,0,0.00,0.00,7.50,7.50\n"
        b"2026-03-04,JPY,1,1500,0,0,1500,0,0,0,1500,1500\n"
        b"2026-03-05,EUR,0,0.00,1,7.50,7.50,0,0.00,0.00,7.50,7.50\n"
    )
    by_subscription = client.get(
        reverse("purchases:reports:revenue"), {**dates, "grouping": "subscription"}
    )
    assert body(by_subscription) == (
        b"Subscription code,Subscription,Currency,Sales,Sales amount,"
        b"Renewal charges,Renewal charges amount,Gross,Refunds,Refunds amount,Corrections,Net,"
        b"Of gross paid from e-wallets\n"
        b"SUBJPY01,'=Yen,JPY,1,1500,0,0,1500,0,0,0,1500,1500\n"
        b'SUBEUR01,"Course, ""one""",EUR,1,7.50,1,7.50,15.00,0,0.00,0.00,15.00,15.00\n'
    )
    renewals = client.get(reverse("purchases:reports:renewals"), {**dates, "period": "month"})
    assert body(renewals) == (
        b"Period,Currency,Attempted,Succeeded,Failed,Recovered by retry,Churned,Renewal revenue\n"
        b"2026-03-01,EUR,1,1,0,0,0,7.50\n"
    )


def test_the_buyers_list_downloads_balances_and_counts_as_the_list_shows_them(client, staff_user):
    from buyers import services as buyer_services

    rich = wallet_buyer("12.5", email="rich@example.com", name="Rich, R")
    buyer_services.top_up_wallet(buyer=rich, amount=Decimal("300"), currency="JPY")
    BuyerFactory(email="", phone="+4930555", name="=Phone only")
    subscription, _ = offer("SUB00001", "Course")
    AccessFactory(buyer=rich, subscription=subscription)
    Buyer.objects.filter(email="rich@example.com").update(
        code="BUY00001", created_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    )
    Buyer.objects.filter(phone="+4930555").update(
        code="BUY00002", created_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    )
    client.force_login(staff_user)
    listed = client.get(reverse("buyers:list")).content.decode()
    assert "12.50 EUR, 300 JPY" in listed
    # An empty text is "" and no balance is nothing, as in every report.
    assert body(client.get(reverse("buyers:list"), {"export": "csv", "sort": "created_at"})) == (
        b"Code,E-mail,Phone,Name,Active accesses,E-wallet,Created (America/St_Johns)\n"
        b'BUY00001,rich@example.com,"","Rich, R",1,"12.50 EUR, 300 JPY",2026-03-01 05:30:00\n'
        b"BUY00002,\"\",'+4930555,'=Phone only,0,,2026-03-02 05:30:00\n"
    )


def test_the_accesses_list_downloads_revoked_phone_only_and_unlimited_accesses(client, staff_user):
    subscription, _ = offer("SUB00001", "Course")
    access = AccessFactory(
        buyer=BuyerFactory(email="", phone="+4930555"),
        subscription=subscription,
        activation_limit=None,
    )
    Access.objects.filter(pk=access.pk).update(
        code="ACC00002",
        purchased_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        access_expire=None,
        revoked_at=datetime(2026, 3, 5, 9, 0, tzinfo=UTC),
    )
    client.force_login(staff_user)
    assert body(client.get(reverse("accesses:list"), {"export": "csv"})).splitlines()[1] == (
        b"ACC00002,'+4930555,Course,revoked,0 / \xe2\x88\x9e,,,2026-03-01 05:30:00,"
    )
