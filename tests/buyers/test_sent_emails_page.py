"""The e-mails page: e-mails as sent (text and HTML bodies kept when rendered), those waiting or
failed in the outbox with why, a sandboxed preview, and a resend through the outbox."""

import pytest
from django.urls import reverse

from buyers import services
from buyers.models import SentEmail
from core import outbox
from core.models import OutboxMessage
from tests.factories import UserFactory

from .factories import BuyerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def grant_with_email(buyer=None):
    buyer = buyer or BuyerFactory(email="ann@example.com")
    access = services.grant_access(
        subscription=SubscriptionFactory(name="Jazz Nights"), buyer=buyer, notify=True
    )
    return buyer, access


def deliver_pending():
    ids = list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).values_list(
            "pk", flat=True
        )
    )
    return outbox.deliver(ids)


def test_support_reads_a_waiting_email_then_the_email_as_sent(client, staff_user, mailoutbox):
    buyer, access = grant_with_email()
    client.force_login(staff_user)
    url = reverse("emails:list") + f"?buyer={buyer.code}"
    waiting = client.get(url).content.decode()
    assert "Waiting in the outbox" in waiting and "Access granted" in waiting

    deliver_pending()
    email = SentEmail.objects.get()
    assert email.buyer == buyer
    assert access.hash in email.text_body and access.hash in email.html_body
    assert mailoutbox[0].body == email.text_body

    listed = client.get(url).content.decode()
    assert email.code in listed and "Nothing waiting or failed." in listed
    detail = client.get(reverse("emails:detail", args=[email.code])).content.decode()
    assert access.hash in detail
    assert 'sandbox=""' in detail
    assert reverse("emails:preview", args=[email.code]) in detail


def test_the_html_preview_runs_no_script(client, staff_user):
    buyer, _ = grant_with_email()
    deliver_pending()
    email = SentEmail.objects.get()
    client.force_login(staff_user)
    response = client.get(reverse("emails:preview", args=[email.code]))
    assert response.status_code == 200
    assert response.content.decode() == email.html_body
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert "script-src" not in policy
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_a_failed_email_says_why(client, staff_user):
    buyer, _ = grant_with_email()
    OutboxMessage.objects.update(
        status=OutboxMessage.Status.DEAD, attempts=8, last_error="SMTPServerDisconnected: gone"
    )
    client.force_login(staff_user)
    page = client.get(reverse("emails:list") + f"?buyer={buyer.code}").content.decode()
    assert "Failed for good after 8 attempts: SMTPServerDisconnected: gone" in page


def test_an_email_delivered_without_a_mail_says_why(client, staff_user):
    buyer, access = grant_with_email(BuyerFactory(email="bo@example.com"))
    services.revoke_access(access=access)  # revoked before the e-mail went out
    deliver_pending()
    assert not SentEmail.objects.exists()
    client.force_login(staff_user)
    page = client.get(reverse("emails:list") + f"?buyer={buyer.code}").content.decode()
    assert "Not mailed" in page and "no longer applied" in page


def test_resend_mails_the_same_bodies_to_the_same_address_through_the_outbox(
    client, staff_user, mailoutbox
):
    grant_with_email()
    deliver_pending()
    email = SentEmail.objects.get()
    client.force_login(staff_user)
    response = client.post(reverse("emails:resend", args=[email.code]))
    assert response.status_code == 302
    assert len(mailoutbox) == 1  # not mailed in the request: written to the outbox
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count() == 1
    deliver_pending()
    copy = SentEmail.objects.get(resent_from=email)
    assert (copy.to, copy.text_body, copy.html_body) == (email.to, email.text_body, email.html_body)
    assert copy.resent_by == staff_user
    assert [m.to for m in mailoutbox] == [[email.to], [email.to]]
    assert mailoutbox[1].body == email.text_body
    deliver_pending()  # delivered once: nothing more is mailed
    assert len(mailoutbox) == 2


def test_an_email_sent_before_bodies_were_kept_is_not_resent(client, staff_user):
    buyer = BuyerFactory()
    email = SentEmail.objects.create(
        key="old:1", kind="access_granted", buyer=buyer, to=buyer.email, subject="Old"
    )
    client.force_login(staff_user)
    response = client.post(reverse("emails:resend", args=[email.code]), follow=True)
    assert "no copy to resend" in response.content.decode()
    assert not OutboxMessage.objects.exists()


def test_staff_see_buyers_emails_and_admins_every_email(client, staff_user):
    email = SentEmail.objects.create(key="x:1", kind="access_granted", to="a@b.c", subject="Lost")
    client.force_login(staff_user)
    assert client.get(reverse("emails:detail", args=[email.code])).status_code == 404
    assert email.code not in client.get(reverse("emails:list")).content.decode()
    client.force_login(UserFactory(is_superuser=True))
    assert client.get(reverse("emails:detail", args=[email.code])).status_code == 200
    assert email.code in client.get(reverse("emails:list")).content.decode()


def test_finance_and_others_cannot_read_or_resend_emails(client, finance_user):
    grant_with_email()
    deliver_pending()
    email = SentEmail.objects.get()
    client.force_login(finance_user)
    assert client.get(reverse("emails:list")).status_code == 403
    assert client.get(reverse("emails:preview", args=[email.code])).status_code == 403
    assert client.post(reverse("emails:resend", args=[email.code])).status_code == 403
    assert not OutboxMessage.objects.filter(kind="buyers.resend_email").exists()


def test_the_emails_list_runs_a_fixed_number_of_queries(
    client, staff_user, django_assert_max_num_queries
):
    buyer = BuyerFactory()
    for n in range(30):
        SentEmail.objects.create(
            key=f"k:{n}", kind="access_granted", buyer=buyer, to=buyer.email, subject=f"S{n}"
        )
    client.force_login(staff_user)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("emails:list") + f"?buyer={buyer.code}").status_code == 200
