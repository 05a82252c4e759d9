"""The one form page pattern (core.form_pages.ServiceFormView) on every app's pages: whatever
app's DomainError a service raises is shown beside the field it names (above the form when it
names none), the page answers 200 with the form as typed, and nothing is written."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from buyers import views as buyer_views
from buyers.models import Access
from core.errors import DomainError
from purchases.models import Purchase
from subscriptions.errors import CatalogError
from subscriptions.models import Subscription
from tests.buyers.factories import AccessFactory, BuyerFactory, SubscriptionFactory
from tests.purchases.factories import offer_for_sale, wallet_buyer

pytestmark = pytest.mark.django_db


class DescribedBy(HTMLParser):
    """The ids on a page, and the ids each element's aria-describedby names."""

    def __init__(self, html):
        super().__init__()
        self.ids, self.described = set(), {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if attrs.get("aria-describedby"):
            self.described[attrs.get("id") or attrs.get("name") or tag] = attrs[
                "aria-describedby"
            ].split()


def assert_error_beside(response, field, message):
    """The message is the field's error, written in the element its widget names as its
    description, and the widget says it is invalid."""
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    page = response.content.decode()
    described = DescribedBy(page)
    assert f"id_{field}_error" in described.described[f"id_{field}"]
    error_element = page.split(f'id="id_{field}_error">', 1)[1].split("</div></div>", 1)[0]
    assert message in error_element
    assert 'aria-invalid="true"' in page


def test_every_description_a_form_field_names_is_on_the_page(client, staff_user, finance_user):
    access = AccessFactory()
    subscription, _ = offer_for_sale(recurring=True)
    client.force_login(staff_user)
    pages = [
        reverse("subscriptions:create"),
        reverse("pricing_models:create"),
        reverse("contacts:edit"),
        reverse("buyers:wallet_entry", args=[access.buyer.code]),
        reverse("buyers:grant_access", args=[access.buyer.code]),
        reverse("accesses:grant_for_subscription", args=[access.subscription.code]),
        reverse("purchases:create"),
    ]
    for url in pages:
        described = DescribedBy(client.get(url).content.decode())
        assert described.described, url  # help texts are linked to their fields
        for element, ids in described.described.items():
            assert set(ids) <= described.ids, (url, element, ids)


def test_a_catalog_refusal_shows_beside_its_checkbox_and_saves_nothing(client, staff_user):
    SubscriptionFactory(mandatory=True)
    client.force_login(staff_user)
    response = client.post(
        reverse("subscriptions:create"),
        {"name": "Cooking", "kind": "subscription", "scope": "group", "period": "30"}
        | {"mandatory": "on"},
    )
    assert_error_beside(response, "mandatory", "already mandatory")
    assert Subscription.objects.count() == 1


def test_a_buyer_page_shows_a_refusal_of_another_app_beside_its_field(
    client, staff_user, monkeypatch
):
    """Buyers' pages used to catch only BuyerError: a catalog refusal was a 500."""
    buyer, subscription = BuyerFactory(), SubscriptionFactory()

    def refuse(**arguments):
        raise CatalogError("This subscription is being changed; try again.", field="subscription")

    monkeypatch.setattr(buyer_views.services, "grant_access", refuse)
    client.force_login(staff_user)
    response = client.post(
        reverse("buyers:grant_access", args=[buyer.code]),
        {"subscription": subscription.code},
    )
    assert_error_beside(response, "subscription", "This subscription is being changed")
    assert not Access.objects.exists()


def test_a_refusal_naming_no_field_of_the_form_shows_above_it(client, staff_user, monkeypatch):
    buyer = BuyerFactory()

    def refuse(**arguments):
        raise DomainError("The shop is closed for maintenance.", field="not_on_this_form")

    monkeypatch.setattr(buyer_views.services, "create_buyer", refuse)
    client.force_login(staff_user)
    response = client.post(reverse("buyers:create"), {"email": "new@example.com"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["The shop is closed for maintenance."]
    assert b'class="alert alert-danger" role="alert">The shop is closed' in response.content
    assert b'value="new@example.com"' in response.content  # the form as typed
    assert list(buyer.__class__.objects.all()) == [buyer]


def test_a_purchase_refusal_that_is_no_buyer_error_shows_beside_its_field(client, staff_user):
    subscription, pricing_model = offer_for_sale(sale_start=timezone.now() + timedelta(days=3))
    client.force_login(staff_user)
    response = client.post(
        reverse("purchases:create"),
        {
            "buyer": wallet_buyer("50").email,
            "subscription": subscription.code,
            "pricing_model": pricing_model.code,
            "payment_type": "wallet",
        },
    )
    assert_error_beside(response, "subscription", "This subscription is not on sale yet.")
    assert not Purchase.objects.exists()


def test_a_purchase_refusal_for_a_field_the_form_names_otherwise_shows_above_it(client, staff_user):
    subscription, pricing_model = offer_for_sale()
    client.force_login(staff_user)
    response = client.post(
        reverse("purchases:create"),
        {
            "buyer": wallet_buyer("50").email,
            "subscription": subscription.code,
            "pricing_model": pricing_model.code,
            "payment_type": "wallet",
            "coupon_code": "NOSUCHCOUPON",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["There is no coupon with this code."]
    assert not Purchase.objects.exists()


def test_success_redirects_with_the_pages_message(client, staff_user):
    client.force_login(staff_user)
    response = client.post(
        reverse("media:create"),
        {"title": "Lesson one", "kind": "video", "status": "done"},
        follow=True,
    )
    assert response.redirect_chain[-1][0].startswith("/media/")
    assert any(
        str(message).startswith("Media ") and str(message).endswith(" created.")
        for message in response.context["messages"]
    )
