"""Media, pricing model, coupon and shop-contacts pages: staff edit, finance reads."""

from decimal import Decimal

import pytest
from django.urls import reverse

from subscriptions import services
from subscriptions.models import Coupon, Media, PricingModel, ShopContacts

from .factories import (
    CouponFactory,
    MediaFactory,
    OfferFactory,
    PricingModelFactory,
    SubscriptionMediaFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def finance(client, finance_user):
    client.force_login(finance_user)
    return client


@pytest.fixture
def one_of_each(db):
    services.update_shop_contacts(name="Alex", phone="+1 555 0100")
    return {
        "media": MediaFactory(),
        "pricing_models": PricingModelFactory(),
        "coupons": CouponFactory(),
    }


def test_staff_opens_every_page(staff, one_of_each):
    for namespace, instance in one_of_each.items():
        for name in ("list", "create"):
            assert staff.get(reverse(f"{namespace}:{name}")).status_code == 200, name
        for name in ("detail", "edit", "delete"):
            url = reverse(f"{namespace}:{name}", args=[instance.code])
            assert staff.get(url).status_code == 200, url
    assert staff.get(reverse("contacts:detail")).status_code == 200
    assert staff.get(reverse("contacts:edit")).status_code == 200


def test_finance_reads_every_page_but_may_change_nothing(finance, one_of_each):
    for namespace, instance in one_of_each.items():
        assert finance.get(reverse(f"{namespace}:list")).status_code == 200
        detail = finance.get(reverse(f"{namespace}:detail", args=[instance.code]))
        assert detail.status_code == 200
        assert b">Edit</a>" not in detail.content and b">Delete</a>" not in detail.content
        for url in (
            reverse(f"{namespace}:create"),
            reverse(f"{namespace}:edit", args=[instance.code]),
            reverse(f"{namespace}:delete", args=[instance.code]),
        ):
            assert finance.get(url).status_code == 403, url
            assert finance.post(url).status_code == 403, url
    contacts = finance.get(reverse("contacts:detail"))
    assert contacts.status_code == 200 and b"Alex" in contacts.content
    assert b">Edit</a>" not in contacts.content
    assert finance.post(reverse("contacts:edit"), {"name": "Mallory"}).status_code == 403
    assert ShopContacts.objects.get().name == "Alex"
    assert Media.objects.count() == PricingModel.objects.count() == Coupon.objects.count() == 1


def test_the_nav_offers_the_catalog_to_finance(finance):
    response = finance.get(reverse("home"))
    for name in ("subscriptions:list", "media:list", "pricing_models:list", "coupons:list"):
        assert reverse(name).encode() in response.content


# --- Media ---------------------------------------------------------------------------------------


def test_create_edit_and_delete_media(staff):
    response = staff.post(
        reverse("media:create"),
        {"title": "Trailer", "kind": "video", "status": "done", "width": "1920", "height": "1080"},
    )
    media = Media.objects.get()
    assert response["Location"] == reverse("media:detail", args=[media.code])
    staff.post(
        reverse("media:edit", args=[media.code]),
        {"title": "Trailer 2", "kind": "video", "status": "failed"},
    )
    media.refresh_from_db()
    assert (media.title, media.status) == ("Trailer 2", "failed")
    staff.post(reverse("media:delete", args=[media.code]))
    assert not Media.objects.exists()


def test_media_with_a_bad_url_shows_the_message_beside_it(staff):
    response = staff.post(
        reverse("media:create"),
        {"title": "Trailer", "kind": "video", "status": "done", "hls_url": "nope nope"},
    )
    assert response.context["form"].errors["hls_url"]
    assert not Media.objects.exists()


def test_media_detail_lists_the_subscriptions_holding_it_and_delete_is_refused(staff):
    link = SubscriptionMediaFactory()
    detail = staff.get(reverse("media:detail", args=[link.media.code]))
    assert link.subscription.name.encode() in detail.content
    response = staff.post(reverse("media:delete", args=[link.media.code]), follow=True)
    assert b"remove it from every subscription" in response.content
    assert Media.objects.filter(pk=link.media.pk).exists()


# --- Pricing models -----------------------------------------------------------------------------


def pricing_data(**overrides):
    data = {
        "title": "Monthly",
        "price": "9.99",
        "currency": "EUR",
        "quality": "HD",
        "grant_all_devices": "on",
        "trial_days": "0",
    }
    data.update(overrides)
    return data


def test_create_a_recurring_pricing_model_then_change_its_price_with_history(staff):
    staff.post(
        reverse("pricing_models:create"),
        pricing_data(
            is_recurring="on", recurrence_unit="months", recurrence_count="1", trial_days="7"
        ),
    )
    pricing_model = PricingModel.objects.get()
    assert pricing_model.is_recurring and pricing_model.trial_days == 7
    staff.post(
        reverse("pricing_models:edit", args=[pricing_model.code]),
        pricing_data(
            price="12.50",
            is_recurring="on",
            recurrence_unit="months",
            recurrence_count="1",
            trial_days="7",
        ),
    )
    detail = staff.get(reverse("pricing_models:detail", args=[pricing_model.code]))
    # Money with its currency and minor digits, not the stored 9.9900 → 12.5000.
    assert "price: 9.99 EUR → 12.50 EUR" in detail.content.decode()
    assert b"staff-member" in detail.content


def test_price_history_shows_each_currencys_own_digits(staff):
    pricing_model = services.create_pricing_model(
        title="Rental", price=Decimal("1500"), currency="JPY"
    )
    services.update_pricing_model(pricing_model=pricing_model, price=Decimal("1800"))
    detail = staff.get(reverse("pricing_models:detail", args=[pricing_model.code]))
    assert "price: 1,500 JPY → 1,800 JPY" in detail.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"price": "-1"}, "price", "cannot be negative"),
        ({"price": "10.5", "currency": "JPY"}, "price", "JPY amounts have 0 decimal places"),
        ({"is_recurring": "on"}, "recurrence_unit", "how often it renews"),
        ({"trial_days": "3"}, "trial_days", "only for recurring"),
        ({"grant_all_devices": ""}, "device_types", "Choose the device types"),
        ({"currency": "XYZ"}, "currency", "Select a valid choice"),
        # A rental or period so long that a sale would end past year 9999 (it crashed the sale).
        ({"rental_hours": "2147483647"}, "rental_hours", "at most 878,400 hours (100 years)"),
        (
            {"is_recurring": "on", "recurrence_unit": "years", "recurrence_count": "101"},
            "recurrence_count",
            "at most 100 years",
        ),
        ({"rental_hours": "2147483648"}, "rental_hours", "less than or equal to 2147483647"),
    ],
)
def test_bad_pricing_input_shows_beside_its_field(staff, overrides, field, message):
    response = staff.post(reverse("pricing_models:create"), pricing_data(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors.get(field, [])), errors
    assert not PricingModel.objects.exists()


def test_a_pricing_model_on_offer_cannot_be_deleted(staff):
    offer = OfferFactory()
    response = staff.post(
        reverse("pricing_models:delete", args=[offer.pricing_model.code]), follow=True
    )
    assert b"remove it from the subscription first" in response.content
    assert PricingModel.objects.exists()


# --- Coupons ------------------------------------------------------------------------------------


def coupon_data(**overrides):
    data = {"code": "SPRING", "discount_type": "percent", "percent": "15", "applies_to_all": "on"}
    data.update(overrides)
    return data


def test_create_and_edit_a_coupon(staff):
    staff.post(reverse("coupons:create"), coupon_data(valid_until="2030-05-31"))
    coupon = Coupon.objects.get()
    assert coupon.code == "SPRING" and coupon.valid_until.hour == 23
    staff.post(
        reverse("coupons:edit", args=[coupon.code]),
        coupon_data(discount_type="fixed", percent="", amount="5", currency="EUR"),
    )
    coupon.refresh_from_db()
    assert coupon.discount_display == "5.00 EUR off"


def test_a_coupon_code_taken_in_another_letter_case_is_refused_beside_the_code(staff):
    CouponFactory(code="SPRING")
    response = staff.post(reverse("coupons:create"), coupon_data(code="spring"))
    assert "already exists" in response.context["form"].errors["code"][0]
    assert Coupon.objects.count() == 1


def test_a_fixed_coupon_without_currency_is_refused_beside_the_currency(staff):
    response = staff.post(
        reverse("coupons:create"), coupon_data(discount_type="fixed", percent="", amount="5")
    )
    assert response.context["form"].errors["currency"]
    assert not Coupon.objects.exists()


def test_delete_a_coupon(staff):
    coupon = CouponFactory()
    staff.post(reverse("coupons:delete", args=[coupon.code]))
    assert not Coupon.objects.exists()


# --- Shop contacts ------------------------------------------------------------------------------


def test_contacts_page_before_anyone_entered_them(staff):
    response = staff.get(reverse("contacts:detail"))
    assert b"No contacts yet" in response.content


def test_edit_the_shop_contacts(staff):
    response = staff.post(
        reverse("contacts:edit"),
        {"name": "Alex", "phone": "", "email": "alex@shop.example", "site": "https://shop.example"},
    )
    assert response["Location"] == reverse("contacts:detail")
    assert ShopContacts.objects.get().email == "alex@shop.example"


def test_contacts_without_phone_or_email_show_the_message_beside_the_phone(staff):
    services.update_shop_contacts(name="Alex", phone="123")
    response = staff.post(reverse("contacts:edit"), {"name": "Bob", "phone": "", "email": ""})
    assert "phone number or an e-mail" in response.context["form"].errors["phone"][0]
    assert ShopContacts.objects.get().name == "Alex"


def test_the_demo_catalog_loads_twice_and_fills_every_page(staff):
    from io import StringIO

    from subscriptions import demo
    from subscriptions.models import Subscription

    demo.load(StringIO())
    counts = (Subscription.objects.count(), Media.objects.count(), Coupon.objects.count())
    demo.load(StringIO())
    assert (Subscription.objects.count(), Media.objects.count(), Coupon.objects.count()) == counts
    kinds = set(Subscription.objects.values_list("kind", "scope"))
    assert {kind for kind, _ in kinds} == {"subscription", "password", "collection"}
    assert {scope for _, scope in kinds} == {"single", "group"}
    assert set(PricingModel.objects.values_list("currency", flat=True)) >= {"EUR", "USD", "JPY"}
    for name in ("subscriptions:list", "media:list", "pricing_models:list", "coupons:list"):
        response = staff.get(reverse(name))
        assert len(response.context["table"].page.object_list) >= 2, name
    for subscription in Subscription.objects.all():
        assert (
            staff.get(reverse("subscriptions:detail", args=[subscription.code])).status_code == 200
        )
