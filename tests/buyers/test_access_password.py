"""Staff give an access a new password: the old one stops working at once, and the buyer is
e-mailed the new one when staff choose to tell them."""

import pytest
from django.core import mail
from django.urls import reverse

from buyers import errors, services
from buyers.models import SentEmail

from .factories import AccessFactory, BuyerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def test_a_new_password_replaces_the_old_one_and_the_buyer_is_told(
    staff, django_capture_on_commit_callbacks
):
    access = AccessFactory(buyer=BuyerFactory(email="ann@example.com"))
    old = access.hash
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("accesses:password", args=[access.code]), {"notify": "on"})
    access.refresh_from_db()
    assert response.status_code == 302 and access.hash != old and len(access.hash) == 12
    assert not services.check_access(
        subscription_code=access.subscription.code, access_password=old
    ).granted
    assert services.check_access(
        subscription_code=access.subscription.code, access_password=access.hash
    ).granted
    [email] = mail.outbox
    assert email.to == ["ann@example.com"] and access.hash in email.body and old not in email.body
    assert SentEmail.objects.get().kind == SentEmail.Kind.PASSWORD_RESET
    shown = staff.get(response["Location"]).content.decode()
    assert f"New access password: {access.hash}" in shown


def test_a_second_reset_mails_again_and_a_retried_task_does_not(
    django_capture_on_commit_callbacks,
):
    access = AccessFactory(buyer=BuyerFactory(email="ann@example.com"))
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            services.reset_access_password(access=access, notify=True)
        callbacks[0]()  # the task delivered twice
    assert len(mail.outbox) == 2


def test_without_telling_the_buyer_nothing_is_sent(staff, django_capture_on_commit_callbacks):
    access = AccessFactory()
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("accesses:password", args=[access.code]), {})
    assert mail.outbox == []


def test_telling_a_buyer_without_e_mail_is_refused_and_changes_nothing(staff):
    access = AccessFactory(buyer=BuyerFactory(email="", phone="+34600000001"))
    old = access.hash
    response = staff.post(reverse("accesses:password", args=[access.code]), {"notify": "on"})
    assert response.status_code == 200
    assert response.context["form"].errors["notify"]
    access.refresh_from_db()
    assert access.hash == old


def test_a_revoked_access_keeps_its_password():
    access = AccessFactory()
    services.revoke_access(access=access)
    with pytest.raises(errors.AccessRevoked):
        services.reset_access_password(access=access)


def test_the_access_page_offers_a_new_password(staff):
    access = AccessFactory()
    page = staff.get(reverse("accesses:detail", args=[access.code])).content.decode()
    assert reverse("accesses:password", args=[access.code]) in page
