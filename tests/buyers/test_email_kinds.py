"""The kinds of buyer e-mail: buyers list their own, purchases registers its receipts and
renewal e-mails (buyers name no kind of another app), and every kind shows by its label."""

import pytest
from django.db.models import TextChoices
from django.urls import reverse

from buyers.models import SentEmail, email_kind_choices, register_email_kinds
from purchases.services.checkout import create_purchase
from tests.purchases.factories import offer_for_sale, wallet_buyer

pytestmark = pytest.mark.django_db


def test_a_purchase_receipt_is_recorded_and_shown_by_its_label(
    client, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    subscription, pricing_model = offer_for_sale()
    with django_capture_on_commit_callbacks(execute=True):
        purchase = create_purchase(
            buyer=wallet_buyer("50", email="ann@example.com"),
            subscription=subscription,
            pricing_model=pricing_model,
            payment_type="wallet",
        )
    sent = SentEmail.objects.get()
    assert (sent.kind, sent.get_kind_display()) == ("purchase_receipt", "Purchase receipt")
    client.force_login(staff_user)
    page = client.get(reverse("accesses:detail", args=[purchase.access.code]))
    assert "Purchase receipt to ann@example.com" in page.content.decode()


def test_the_admin_filters_sent_emails_by_a_kind_purchases_registered(admin_client):
    url = reverse("admin:buyers_sentemail_changelist")
    response = admin_client.get(url, {"kind__exact": "renewal_failed"})
    assert response.status_code == 200
    assert "Renewal failed" in response.content.decode()
    assert ("renewal_failed", "Renewal failed") in email_kind_choices()
    assert ("access_granted", "Access granted") in email_kind_choices()


def test_a_kind_cannot_be_registered_twice_with_another_meaning():
    class Clash(TextChoices):
        RECEIPT = "purchase_receipt", "Invoice"

    class Own(TextChoices):
        GRANTED = "access_granted", "Access granted"

    for kinds in (Clash, Own):
        with pytest.raises(ValueError, match="already registered"):
            register_email_kinds(kinds)
    assert dict(email_kind_choices())["purchase_receipt"] == "Purchase receipt"
