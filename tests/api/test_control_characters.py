"""Control characters (CR, LF, NUL, tab, the rest of Unicode's Cc) are refused in every one-line
text by the services, so the PPV API, the staff forms and the admin all refuse them with a clear
message; an e-mail about a subscription saved before that rule is still sent, on one line."""

import pytest
from django.urls import reverse

from buyers import errors as buyer_errors
from buyers import services as buyer_services
from buyers.models import Buyer, WalletEntry
from core.models import OutboxMessage
from core.outbox import relay_due
from subscriptions import errors as catalog_errors
from subscriptions import services as catalog_services
from subscriptions.models import Media, PricingModel, Subscription
from tests.buyers.factories import BuyerFactory
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

HEADER_INJECTION = "Jazz\r\nBcc: everyone@example.com"


@pytest.mark.parametrize("value", [HEADER_INJECTION, "Jazz\nNights", "Jazz\tNights", "Ja\x85zz"])
def test_a_subscription_name_with_a_control_character_is_refused(value):
    with pytest.raises(catalog_errors.ControlCharacter) as refused:
        catalog_services.create_subscription(name=value, scope="group", period=7)
    assert refused.value.field == "name"
    assert "one line" in refused.value.message
    assert not Subscription.objects.exists()


def test_titles_and_contacts_refuse_them_too_and_descriptions_keep_their_lines():
    with pytest.raises(catalog_errors.ControlCharacter):
        catalog_services.create_media(title="Enc\r\nore", status="done", kind="video")
    with pytest.raises(catalog_errors.ControlCharacter):
        catalog_services.create_pricing_model(title="A\nB", price="5.00", currency="EUR")
    with pytest.raises(catalog_errors.ControlCharacter):
        catalog_services.update_shop_contacts(name="Shop\r\nBcc: x", email="shop@example.com")
    subscription = catalog_services.create_subscription(
        name="Jazz", scope="group", period=7, description="Line one\r\nLine two\tindented"
    )
    assert subscription.description == "Line one\r\nLine two\tindented"
    with pytest.raises(catalog_errors.ControlCharacter):
        catalog_services.update_subscription(subscription=subscription, description="a\x00b")
    assert not Media.objects.exists() and not PricingModel.objects.exists()


def test_the_ppv_create_refuses_a_name_with_a_line_break(client, api_key):
    response = client.get(
        "/api/ppv/create",
        {"apikey": api_key, "format": "json", "name": HEADER_INJECTION, "period": "7"},
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["Parameter"], body["Code"]) == ("name", "control_character")
    assert not Subscription.objects.exists()


def test_the_staff_form_shows_the_refusal_beside_the_name(client, staff_user):
    client.force_login(staff_user)
    response = client.post(
        reverse("subscriptions:create"),
        {"name": HEADER_INJECTION, "kind": "subscription", "scope": "group", "period": "30"},
    )
    assert response.status_code == 200
    assert any("one line" in e for e in response.context["form"].errors.get("name", []))
    assert not Subscription.objects.exists()


def test_buyer_names_contacts_and_wallet_reasons_refuse_them():
    with pytest.raises(buyer_errors.ControlCharacter) as refused:
        buyer_services.create_buyer(email="ann@example.com", name="Ann\r\nBcc: x")
    assert refused.value.field == "name"
    with pytest.raises(buyer_errors.NullCharacter):
        buyer_services.create_buyer(email="ann@example.com", name="Ann\x00")
    buyer = BuyerFactory()
    with pytest.raises(buyer_errors.ControlCharacter) as refused:
        buyer_services.top_up_wallet(
            buyer=buyer, amount="5.00", currency="EUR", reason="gift\r\nfrom us"
        )
    assert refused.value.field == "reason"
    assert not WalletEntry.objects.exists()
    assert Buyer.objects.count() == 1


def test_an_e_mail_about_a_subscription_saved_before_the_rule_is_sent_on_one_line(mailoutbox):
    subscription = SubscriptionFactory()
    Subscription.objects.filter(pk=subscription.pk).update(name=HEADER_INJECTION)
    subscription.refresh_from_db()
    buyer_services.grant_access(subscription=subscription, buyer=BuyerFactory(), notify=True)
    relay_due()
    assert not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists()
    [message] = mailoutbox
    assert message.subject == "Your access to Jazz Bcc: everyone@example.com"
    assert "\n" not in message.subject
    assert message.bcc == []
    assert len(message.recipients()) == 1
