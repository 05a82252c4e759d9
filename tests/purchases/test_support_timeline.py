"""A buyer's timeline: every event newest first, filtered by kind, paged by key without gaps or
repeats, refund amounts for finance only, and staff notes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from buyers import services as buyer_services
from buyers.models import BuyerNote
from core import outbox
from core.models import OutboxMessage
from purchases.services.cancellations import refund_purchase
from purchases.services.checkout import create_purchase
from purchases.support import timeline
from tests.factories import UserFactory
from tests.purchases.factories import offer_for_sale, wallet_buyer
from tests.subscriptions.factories import CouponFactory

pytestmark = pytest.mark.django_db


def story():
    """A buyer who tops up, buys with a coupon, plays on a device, is mailed, is refunded."""
    buyer = wallet_buyer(balance="50.00", email="ann@example.com")
    subscription, pricing_model = offer_for_sale(price="20.00", name="Jazz Nights")
    coupon = CouponFactory(code="JAZZ10", percent=Decimal("10"))
    purchase = create_purchase(
        buyer=buyer,
        subscription=subscription,
        pricing_model=pricing_model,
        payment_type="wallet",
        coupon_code=coupon.code,
    )
    buyer_services.check_access(
        subscription_code=subscription.code,
        access_password=purchase.access.hash,
        device_id="living-room-tv",
    )
    outbox.deliver(OutboxMessage.objects.values_list("pk", flat=True))
    staff = UserFactory(username="sam", is_superuser=True)
    refund_purchase(purchase=purchase, amount="18.00", reason="Did not like it", staff_user=staff)
    buyer_services.add_buyer_note(buyer=buyer, text="Called about the refund.", written_by=staff)
    return buyer, purchase


def test_support_reads_the_buyers_whole_story_newest_first(client, staff_user):
    buyer, purchase = story()
    client.force_login(staff_user)
    response = client.get(reverse("purchases:timeline", args=[buyer.code]))
    assert response.status_code == 200
    html = response.content.decode()
    events = response.context["page"].events
    kinds = {event.kind for event in events}
    assert {
        "wallet",
        "purchase",
        "coupon",
        "access",
        "activation",
        "email",
        "refund",
        "note",
    } <= kinds
    assert [e.at for e in events] == sorted((e.at for e in events), reverse=True)
    assert events[0].kind == "note" and "Called about the refund." in html
    assert "Coupon JAZZ10 used" in html
    assert "living-room-tv" in html
    email = next(e for e in events if e.kind == "email")
    assert email.link.startswith("/emails/")
    # Shop staff see that there was a refund, not how much (finance's).
    refund = next(e for e in events if e.kind == "refund")
    assert "18.00" not in refund.title


def test_finance_sees_refund_amounts_on_the_timeline(client, finance_user):
    buyer, _ = story()
    client.force_login(finance_user)
    events = client.get(reverse("purchases:timeline", args=[buyer.code])).context["page"].events
    assert "18.00 EUR" in next(e for e in events if e.kind == "refund").title
    # Finance does not read buyers' e-mails.
    assert "email" not in {e.kind for e in events}


def test_timeline_filters_by_kind(client, staff_user):
    buyer, _ = story()
    client.force_login(staff_user)
    url = reverse("purchases:timeline", args=[buyer.code])
    events = client.get(url, {"kind": ["refund", "note", "nonsense"]}).context["page"].events
    assert {e.kind for e in events} == {"refund", "note"}


def test_paging_by_key_neither_skips_nor_repeats_events_of_the_same_instant(staff_user):
    buyer = wallet_buyer(balance="0")
    instant = timezone.now().replace(microsecond=0)
    for n in range(23):
        note = BuyerNote.objects.create(buyer=buyer, text=f"note {n}")
        BuyerNote.objects.filter(pk=note.pk).update(created_at=instant - timedelta(seconds=n % 3))
    for _ in range(9):
        buyer_services.top_up_wallet(buyer=buyer, amount=Decimal("1"), currency="EUR")
    buyer.wallet_entries.update(created_at=instant)
    seen, after = [], ""
    while True:
        page = timeline.timeline_page(buyer=buyer, user=staff_user, after=after, size=5)
        seen += [(e.at, e.kind, e.pk) for e in page.events]
        if page.next_key is None:
            break
        after = page.next_key
    assert len(seen) == len(set(seen)) == 32
    assert seen == sorted(seen, reverse=True)


def test_a_page_link_that_cannot_be_read_shows_the_newest_events(client, staff_user):
    buyer, _ = story()
    client.force_login(staff_user)
    url = reverse("purchases:timeline", args=[buyer.code])
    for bad in ("nonsense", "2026-01-01T00:00:00|purchase|x", "2026-01-01|bogus|1"):
        response = client.get(url, {"after": bad})
        assert response.status_code == 200
        assert "That page link cannot be read" in response.content.decode()
    assert client.get(reverse("purchases:timeline", args=["NOBODY12"])).status_code == 404


def test_staff_add_a_note_and_an_empty_one_is_refused(client, staff_user):
    buyer = wallet_buyer(balance="0")
    client.force_login(staff_user)
    url = reverse("purchases:timeline_note", args=[buyer.code])
    response = client.post(url, {"text": "  "})
    assert response.status_code == 200 and not BuyerNote.objects.exists()
    response = client.post(url, {"text": "Promised a refund.\nCall back Monday."})
    assert response.status_code == 302
    note = BuyerNote.objects.get()
    assert (note.written_by, note.text) == (staff_user, "Promised a refund.\nCall back Monday.")
    assert client.post(url, {"text": "bell \x07"}).status_code == 200
    assert BuyerNote.objects.count() == 1


def test_finance_cannot_write_notes(client, finance_user):
    buyer = wallet_buyer(balance="0")
    client.force_login(finance_user)
    url = reverse("purchases:timeline_note", args=[buyer.code])
    assert client.post(url, {"text": "hi"}).status_code == 403
    assert not BuyerNote.objects.exists()


def test_the_timeline_runs_a_fixed_number_of_queries(
    client, staff_user, django_assert_max_num_queries
):
    buyer, _ = story()
    for n in range(60):
        BuyerNote.objects.create(buyer=buyer, text=f"note {n}")
    client.force_login(staff_user)
    with django_assert_max_num_queries(25):
        client.get(reverse("purchases:timeline", args=[buyer.code]))
