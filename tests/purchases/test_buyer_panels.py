import pytest
from django.urls import reverse

from tests.purchases.test_purchase_pages import make_purchases
from tests.purchases.test_renewals import subscribe

pytestmark = pytest.mark.django_db


def test_the_buyers_page_shows_their_purchases_and_contracts(client, finance_user):
    purchase = make_purchases(1)[0]
    contract = subscribe(buyer=purchase.buyer)
    client.force_login(finance_user)
    page = client.get(reverse("buyers:detail", kwargs={"code": purchase.buyer.code}))
    html = page.content.decode()
    assert purchase.code in html and contract.purchase.code in html
    assert contract.code in html and "next bill" in html
    assert "New purchase" not in html  # finance does not enter purchases


def test_staff_start_a_purchase_from_the_buyers_page(client, staff_user):
    purchase = make_purchases(1)[0]
    client.force_login(staff_user)
    page = client.get(reverse("buyers:detail", kwargs={"code": purchase.buyer.code}))
    link = f"{reverse('purchases:create')}?buyer={purchase.buyer.code}"
    assert link in page.content.decode()
    form = client.get(link).context["form"]
    assert form.initial["buyer"] == purchase.buyer.code
