import pytest
from django.urls import reverse

from purchases.models import RecurringContract
from purchases.renewals import renew_due_contracts
from tests.purchases.test_renewals import set_card, subscribe

pytestmark = pytest.mark.django_db


def test_finance_sees_contracts_and_the_renewals_panel(client, finance_user):
    contract = subscribe()
    client.force_login(finance_user)
    response = client.get(reverse("contracts:list"))
    assert response.status_code == 200
    assert [row.record for row in response.context["table"].page.object_list] == [contract]
    expected = {row["currency"]: row["total"] for row in response.context["panel"]["expected"]}
    assert expected == {"EUR": contract.amount}


def test_the_contract_page_shows_its_charges(client, staff_user):
    contract = subscribe()
    renew_due_contracts(now=contract.next_bill_date)
    client.force_login(staff_user)
    page = client.get(reverse("contracts:detail", kwargs={"code": contract.code}))
    charge = contract.transactions.get()
    assert charge.pnref.encode() in page.content and b"Approved" in page.content


def test_staff_stop_a_contract_at_its_period_end(client, staff_user):
    contract = subscribe()
    client.force_login(staff_user)
    client.post(reverse("contracts:stop", kwargs={"code": contract.code}))
    contract.refresh_from_db()
    assert contract.cancel_at_period_end and contract.purchase.status == "cancelling"


def test_finance_ends_a_contract_now_with_a_full_refund(client, finance_user):
    contract = subscribe()
    client.force_login(finance_user)
    client.post(reverse("contracts:end", kwargs={"code": contract.code}), {"refund": "full"})
    contract.refresh_from_db()
    assert contract.status == "cancelled"
    assert contract.purchase.refunds.get().amount == contract.purchase.amount


def test_a_past_due_contract_is_retried_now_with_a_new_card(client, finance_user):
    contract = subscribe()
    set_card(contract, "tok_decline")
    renew_due_contracts(now=contract.next_bill_date)
    client.force_login(finance_user)
    bad = client.post(
        reverse("contracts:card", kwargs={"code": contract.code}), {"instrument": " "}
    )
    assert "This field is required." in bad.context["form"].errors["instrument"]
    client.post(
        reverse("contracts:card", kwargs={"code": contract.code}), {"instrument": "tok_approve"}
    )
    client.post(reverse("contracts:retry", kwargs={"code": contract.code}))
    contract.refresh_from_db()
    assert (contract.status, contract.periods_paid) == ("active", 2)


def test_an_active_contract_cannot_be_retried(client, finance_user):
    contract = subscribe()
    client.force_login(finance_user)
    response = client.post(reverse("contracts:retry", kwargs={"code": contract.code}))
    assert "Only a past-due contract can be retried now." in response.content.decode()
    assert RecurringContract.objects.get(pk=contract.pk).transactions.count() == 0


def test_shop_staff_cannot_retry_a_contract(client, staff_user):
    contract = subscribe()
    client.force_login(staff_user)
    assert (
        client.post(reverse("contracts:retry", kwargs={"code": contract.code})).status_code == 403
    )


@pytest.mark.parametrize("url_name", ["contracts:list", "purchases:sessions"])
def test_list_query_counts_do_not_grow_with_the_page(
    client, finance_user, url_name, django_assert_max_num_queries
):
    from purchases.services.sessions import open_purchase_session

    for _ in range(30):
        contract = subscribe()
        open_purchase_session(buyer=contract.buyer, subscription=contract.subscription)
    client.force_login(finance_user)
    with django_assert_max_num_queries(15) as few:
        client.get(reverse(url_name), {"per_page": 5})
    with django_assert_max_num_queries(15) as many:
        client.get(reverse(url_name), {"per_page": 30})
    assert len(few.captured_queries) == len(many.captured_queries)


def test_a_purchases_timeline_shows_its_contract_and_renewal_charges(client, finance_user):
    contract = subscribe()
    set_card(contract, "tok_decline")
    renew_due_contracts(now=contract.next_bill_date)
    client.force_login(finance_user)
    url = reverse("purchases:detail", kwargs={"code": contract.purchase.code})
    html = client.get(url).content.decode()
    assert contract.code in html
    assert "renewal of period 2 (try 1)" in html and "declined (12 Declined)" in html
