"""A form with several problems shows them all in one answer: the catalog's services check every
rule and raise every refusal together, each beside its own field."""

from decimal import Decimal

import pytest
from django.urls import reverse

from buyers import errors as buyer_errors
from buyers import services as buyer_services
from core.errors import SeveralRefusals
from subscriptions import errors, services
from subscriptions.models import Coupon, PricingModel, Subscription
from tests.subscriptions.test_subscription_pages import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def test_a_subscription_breaking_several_rules_is_refused_with_every_one():
    with pytest.raises(errors.CatalogRefusals) as caught:
        services.create_subscription(
            name=" ",
            period=None,
            preview=30,
            watermark=True,
            buy_redirect_url="not a url",
        )
    fields = {refusal.field for refusal in caught.value.each()}
    assert fields == {"name", "period", "preview", "watermark", "buy_redirect_url"}
    # The app's own base catches it, and it reads as its first refusal to a one-error client.
    assert isinstance(caught.value, errors.CatalogError)
    assert caught.value.code == "required" and caught.value.field == "name"
    assert Subscription.objects.count() == 0


def test_one_problem_is_still_its_own_refusal():
    with pytest.raises(errors.DrmOptionWithoutDrm) as caught:
        services.create_subscription(name="Live", period=30, watermark=True)
    assert not isinstance(caught.value, SeveralRefusals)


def test_the_subscription_form_shows_every_problem_beside_its_field_at_once(staff):
    response = staff.post(
        reverse("subscriptions:create"),
        form_data(period="", watermark="on", preview="10", buy_redirect_url="not a url"),
    )
    assert response.status_code == 200
    errors_by_field = response.context["form"].errors
    assert "one of the two is required" in errors_by_field["period"][0]
    assert "only with DRM" in errors_by_field["watermark"][0]
    assert "only with DRM" in errors_by_field["preview"][0]
    assert "URL" in errors_by_field["buy_redirect_url"][0]
    page = response.content.decode()
    for field in ("period", "watermark", "preview", "buy_redirect_url"):
        assert f'id="id_{field}_error"' in page
    assert Subscription.objects.count() == 0


def test_a_pricing_model_and_a_coupon_show_every_problem_too():
    with pytest.raises(errors.CatalogRefusals) as caught:
        services.create_pricing_model(
            title="",
            price=Decimal("-1"),
            currency="EUR",
            recurrence_count=3,
            trial_days=7,
            grant_all_devices=False,
        )
    assert {refusal.field for refusal in caught.value.each()} >= {
        "title",
        "price",
        "recurrence_count",
        "trial_days",
        "device_types",
    }
    assert PricingModel.objects.count() == 0

    with pytest.raises(errors.CatalogRefusals) as caught:
        services.create_coupon(
            code="x", discount_type="amount", currency="", amount=None, use_limit=-1
        )
    assert {refusal.field for refusal in caught.value.each()} >= {
        "code",
        "currency",
        "amount",
        "use_limit",
    }
    assert Coupon.objects.count() == 0


def test_the_shop_contacts_form_shows_every_problem(staff):
    response = staff.post(
        reverse("contacts:edit"), {"name": "", "phone": "", "email": "", "site": "nope"}
    )
    errors_by_field = response.context["form"].errors
    assert set(errors_by_field) >= {"name", "site"}


def test_a_buyer_with_several_problems_is_refused_with_every_one():
    with pytest.raises(buyer_errors.BuyerRefusals) as caught:
        buyer_services.create_buyer(email="not-an-email", phone="12ab", name="x" * 300)
    assert {refusal.field for refusal in caught.value.each()} == {"email", "phone", "name"}
