"""Staff change a contract's plan from its page: choose, see the preview, confirm; a refusal shows
beside the field and changes nothing; a scheduled change shows on the contract page and can be
taken back."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from purchases.contract_changes import ContractChange
from purchases.models import SandboxCharge
from tests.purchases.test_plan_changes import contract_with_plans

pytestmark = pytest.mark.django_db


def plan_url(contract):
    return reverse("contracts:change_plan", kwargs={"code": contract.code})


def test_staff_preview_then_confirm_a_change_now(client, staff_user):
    contract, other = contract_with_plans(price="10.00", other="30.00")
    client.force_login(staff_user)
    page = client.get(reverse("contracts:detail", kwargs={"code": contract.code}))
    assert b'data-testid="change-plan"' in page.content

    preview = client.post(plan_url(contract), {"pricing_model": other.code, "timing": "now"})
    assert preview.status_code == 200
    shown = preview.context["preview"]
    assert b'data-testid="plan-change-preview"' in preview.content
    assert f"{shown.charged_now} EUR".encode() in preview.content
    assert not ContractChange.objects.exists() and SandboxCharge.objects.count() == 1
    token = re.search(rb'name="token" value="([^"]+)"', preview.content).group(1).decode()

    done = client.post(
        plan_url(contract),
        {"pricing_model": other.code, "timing": "now", "token": token, "confirm": "1"},
    )
    assert done.status_code == 302
    contract.refresh_from_db()
    assert contract.pricing_model == other and contract.amount == Decimal("30.00")
    change = ContractChange.objects.get()
    assert change.charged_now == shown.charged_now and change.created_by == staff_user
    page = client.get(reverse("contracts:detail", kwargs={"code": contract.code}))
    assert b'data-testid="plan-changes"' in page.content and b"Other plan" in page.content


def test_a_refused_change_shows_beside_the_field_and_changes_nothing(client, staff_user):
    contract, _ = contract_with_plans()
    client.force_login(staff_user)
    response = client.post(
        plan_url(contract), {"pricing_model": contract.pricing_model.code, "timing": "now"}
    )
    assert response.status_code == 200
    assert "already on this pricing model" in str(response.context["form"].errors["pricing_model"])
    confirm = client.post(
        plan_url(contract),
        {"pricing_model": "nope", "timing": "soon", "token": "x", "confirm": "1"},
    )
    assert confirm.status_code == 200 and set(confirm.context["form"].errors) >= {
        "pricing_model",
        "timing",
    }
    assert not ContractChange.objects.exists()


def test_a_confirm_with_a_changed_choice_is_refused(client, staff_user):
    contract, other = contract_with_plans()
    client.force_login(staff_user)
    preview = client.post(plan_url(contract), {"pricing_model": other.code, "timing": "now"})
    token = preview.context["preview"].token
    response = client.post(
        plan_url(contract),
        {"pricing_model": other.code, "timing": "period_end", "token": token, "confirm": "1"},
    )
    # Confirming means exactly what was shown: another choice must be previewed first.
    assert response.status_code == 200
    assert "another time" in str(
        response.context["form"].errors["token"]
        if "token" in response.context["form"].errors
        else response.context["form"].non_field_errors()
    )
    assert not ContractChange.objects.exists()


def test_a_scheduled_change_shows_on_the_contract_page_and_can_be_cancelled(client, staff_user):
    contract, other = contract_with_plans()
    client.force_login(staff_user)
    preview = client.post(plan_url(contract), {"pricing_model": other.code, "timing": "period_end"})
    token = preview.context["preview"].token
    client.post(
        plan_url(contract),
        {"pricing_model": other.code, "timing": "period_end", "token": token, "confirm": "1"},
    )
    page = client.get(reverse("contracts:detail", kwargs={"code": contract.code}))
    assert b'data-testid="scheduled-plan-change"' in page.content
    assert b'data-testid="change-plan"' not in page.content
    client.post(reverse("contracts:cancel_plan_change", kwargs={"code": contract.code}))
    assert ContractChange.objects.get().status == "cancelled"
    page = client.get(reverse("contracts:detail", kwargs={"code": contract.code}))
    assert b'data-testid="scheduled-plan-change"' not in page.content


def test_a_user_without_the_change_permission_gets_403(client, django_user_model):
    contract, other = contract_with_plans()
    client.force_login(django_user_model.objects.create_user("nobody", password="x"))
    assert client.get(plan_url(contract)).status_code == 403
    response = client.post(plan_url(contract), {"pricing_model": other.code, "timing": "now"})
    assert response.status_code == 403 and not ContractChange.objects.exists()
