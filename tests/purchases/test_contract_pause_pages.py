"""The contract page's Pause and Resume (issue 19): wiring, permission, errors beside their
fields with nothing changed, and the contract list's status filter finding paused contracts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from purchases.models import ContractPause, RecurringContract
from purchases.services.pauses import pause_contract
from tests.purchases.test_renewals import subscribe

pytestmark = pytest.mark.django_db


def pause_url(contract):
    return reverse("contracts:pause", kwargs={"code": contract.code})


def detail(client, contract):
    return client.get(reverse("contracts:detail", kwargs={"code": contract.code}))


def test_staff_pause_a_contract_for_two_periods_and_resume_it(client, staff_user):
    contract = subscribe()
    client.force_login(staff_user)
    page = detail(client, contract)
    assert b'data-testid="pause"' in page.content and b'data-testid="resume"' not in page.content
    form_page = client.get(pause_url(contract))
    assert form_page.status_code == 200
    for name in (b'name="start"', b'name="length"', b'name="periods"', b'name="until"'):
        assert name in form_page.content
    assert b"at most 90 days" in form_page.content

    response = client.post(
        pause_url(contract), {"start": "now", "length": "periods", "periods": "2"}
    )
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.status == "paused"
    pause = ContractPause.objects.get()
    assert pause.periods == 2 and pause.created_by == staff_user
    page = detail(client, contract)
    assert b'data-testid="resume"' in page.content and b'data-testid="pause"' not in page.content
    assert b'data-testid="paused"' in page.content and b'data-testid="pauses"' in page.content

    response = client.post(reverse("contracts:resume", kwargs={"code": contract.code}))
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.status == "active"
    pause.refresh_from_db()
    assert pause.resumed_by == staff_user


def test_staff_pause_until_a_date_at_the_period_end(client, staff_user):
    contract = subscribe()
    client.force_login(staff_user)
    day = timezone.localdate(contract.next_bill_date) + timedelta(days=10)
    client.post(
        pause_url(contract), {"start": "period_end", "length": "until", "until": day.isoformat()}
    )
    contract.refresh_from_db()
    assert contract.status == "paused" and contract.paused_from == contract.next_bill_date
    assert timezone.localtime(contract.resume_at).date() == day


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"start": "now", "length": "periods", "periods": "0"}, "periods", "at least one"),
        ({"start": "now", "length": "periods", "periods": ""}, "periods", "number of periods"),
        ({"start": "now", "length": "until", "until": ""}, "until", "date the pause ends"),
        ({"start": "now", "length": "until", "until": "2020-01-01"}, "until", "in the past"),
        ({"start": "now", "length": "until", "until": "2099-01-01"}, "until", "at most"),
        ({"start": "soon", "length": "open"}, "start", "valid choice"),
    ],
)
def test_a_refused_pause_shows_its_error_beside_the_field_and_changes_nothing(
    client, staff_user, data, field, message
):
    contract = subscribe()
    client.force_login(staff_user)
    response = client.post(pause_url(contract), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    contract.refresh_from_db()
    assert contract.status == "active" and not ContractPause.objects.exists()


def test_a_refusal_about_the_contract_shows_above_the_form(client, staff_user):
    contract = subscribe()
    pause_contract(contract=contract)
    client.force_login(staff_user)
    response = client.post(pause_url(contract), {"start": "now", "length": "open"})
    assert response.status_code == 200
    assert "paused already" in " ".join(response.context["form"].non_field_errors())


def test_pausing_needs_the_permission_to_change_contracts(client, user_with_perms):
    contract = subscribe()
    viewer = user_with_perms("purchases.view_recurringcontract")
    client.force_login(viewer)
    assert b'data-testid="pause"' not in detail(client, contract).content
    response = client.post(pause_url(contract), {"start": "now", "length": "open"})
    assert response.status_code == 403
    pause_contract(contract=contract)
    response = client.post(reverse("contracts:resume", kwargs={"code": contract.code}))
    assert response.status_code == 403
    contract.refresh_from_db()
    assert contract.status == "paused"


def test_the_contract_list_filters_paused_contracts(client, staff_user):
    running, paused = subscribe(), subscribe()
    pause_contract(contract=paused, until=timezone.localdate() + timedelta(days=20))
    client.force_login(staff_user)
    response = client.get(reverse("contracts:list"), {"status": "paused"})
    assert [row.record for row in response.context["table"].page.object_list] == [paused]
    assert b"Paused until" in response.content
    assert RecurringContract.objects.get(pk=running.pk).status == "active"


def test_the_buyer_timeline_shows_the_pause_and_the_resume(client, staff_user):
    contract = subscribe()
    pause_contract(contract=contract, periods=1, by=staff_user)
    from purchases.services.pauses import resume_due_contracts

    contract.refresh_from_db()
    resume_due_contracts(now=contract.resume_at)
    client.force_login(staff_user)
    page = client.get(reverse("purchases:timeline", args=[contract.buyer.code]))
    text = page.content.decode()
    assert f"Subscription {contract.subscription.name} paused by {staff_user.username}" in text
    assert f"Subscription {contract.subscription.name} resumed at the pause" in text
    only = client.get(reverse("purchases:timeline", args=[contract.buyer.code]), {"kind": "resume"})
    assert [event.kind for event in only.context["page"].events] == ["resume"]


def test_the_pause_e_mail_is_listed_on_the_e_mails_page(
    client, staff_user, django_capture_on_commit_callbacks
):
    contract = subscribe()
    with django_capture_on_commit_callbacks(execute=True):
        pause_contract(contract=contract, periods=1)
    client.force_login(staff_user)
    page = client.get(reverse("emails:list") + f"?buyer={contract.buyer.code}")
    assert f"Your {contract.subscription.name} subscription is paused" in page.content.decode()
