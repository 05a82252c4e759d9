"""The subscription pages: staff edit, finance reads, bad input shows beside the field."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from subscriptions import services
from subscriptions.models import Subscription, SubscriptionMedia

from .factories import (
    MediaFactory,
    OfferFactory,
    PricingModelFactory,
    SubscriptionFactory,
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


def form_data(**overrides):
    data = {
        "name": "Cooking course",
        "kind": "subscription",
        "collection_type": "",
        "scope": "group",
        "period": "30",
        "access_start": "",
        "access_expire": "",
    }
    data.update(overrides)
    return data


def field_errors(response, field):
    return response.context["form"].errors.get(field, [])


def test_staff_sees_every_subscription_page(staff):
    subscription = SubscriptionFactory()
    OfferFactory(subscription=subscription)
    SubscriptionMediaFactory(subscription=subscription)
    for name in ("detail", "edit", "delete"):
        response = staff.get(reverse(f"subscriptions:{name}", args=[subscription.code]))
        assert response.status_code == 200, name
    assert staff.get(reverse("subscriptions:list")).status_code == 200
    assert staff.get(reverse("subscriptions:create")).status_code == 200


def test_finance_reads_subscriptions_but_cannot_change_them(finance):
    subscription = SubscriptionFactory()
    media = MediaFactory()
    detail = finance.get(reverse("subscriptions:detail", args=[subscription.code]))
    assert detail.status_code == 200
    assert reverse("subscriptions:edit", args=[subscription.code]).encode() not in detail.content
    assert b"Add media" not in detail.content
    listing = finance.get(reverse("subscriptions:list"))
    assert listing.status_code == 200
    assert reverse("subscriptions:create").encode() not in listing.content
    for url in (
        reverse("subscriptions:create"),
        reverse("subscriptions:edit", args=[subscription.code]),
        reverse("subscriptions:delete", args=[subscription.code]),
        reverse("subscriptions:attach_media", args=[subscription.code]),
        reverse("subscriptions:detach_media", args=[subscription.code, media.code]),
    ):
        assert finance.get(url).status_code == 403, url
        assert finance.post(url, {"media": media.code}).status_code == 403, url
    assert Subscription.objects.count() == 1 and not SubscriptionMedia.objects.exists()


def test_create_a_subscription_with_pricing_models(staff):
    monthly, yearly = PricingModelFactory(), PricingModelFactory()
    response = staff.post(
        reverse("subscriptions:create"),
        form_data(
            pricing_models=[monthly.pk, yearly.pk],
            default_pricing_model=yearly.pk,
            access_expire="2030-12-31",
        ),
    )
    subscription = Subscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("subscriptions:detail", args=[subscription.code])
    assert subscription.offers.get(is_default=True).pricing_model == yearly
    assert subscription.access_expire.hour == 23


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"period": ""}, "period", "one of the two is required"),
        ({"watermark": "on"}, "watermark", "only with DRM"),
        ({"collection_type": "protect"}, "collection_type", "registration-form kind"),
        (
            {"access_start": "2030-02-01", "access_expire": "2030-01-01"},
            "access_expire",
            "start before it expires",
        ),
        ({"access_expire": "31/12/2030"}, "access_expire", "YYYY-MM-DD"),
        ({"buy_redirect_url": "not a url"}, "buy_redirect_url", "valid URL"),
        ({"period": "-3"}, "period", "greater than or equal to 0"),
        # Beyond what PostgreSQL's integer column holds: refused by the form, not the database.
        ({"period": "2147483648"}, "period", "less than or equal to 2147483647"),
        ({"access_expire": "9999-12-31"}, "access_expire", "between 1900-01-01 and 9999-12-30"),
        # A key past SQLite's integers crashed the IN (...) query of the choices.
        ({"pricing_models": "99999999999999999999"}, "pricing_models", "is not a valid value"),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_nothing_is_saved(staff, overrides, field, message):
    response = staff.post(reverse("subscriptions:create"), form_data(**overrides))
    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field)), response.context[
        "form"
    ].errors
    assert b"invalid-feedback" in response.content
    assert not Subscription.objects.exists()


def test_a_second_mandatory_subscription_is_refused_beside_the_field(staff):
    SubscriptionFactory(mandatory=True)
    response = staff.post(reverse("subscriptions:create"), form_data(mandatory="on"))
    assert "already mandatory" in field_errors(response, "mandatory")[0]
    assert Subscription.objects.count() == 1


def test_edit_changes_the_subscription_and_records_who(staff, staff_user):
    subscription = SubscriptionFactory(name="Old name")
    response = staff.post(
        reverse("subscriptions:edit", args=[subscription.code]), form_data(name="New name")
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.name == "New name"
    assert subscription.history.latest().history_user == staff_user
    detail = staff.get(reverse("subscriptions:detail", args=[subscription.code]))
    assert b"Old name" in detail.content and b"staff-member" in detail.content


def test_the_edit_form_shows_stored_times_in_the_shops_zone_so_saving_keeps_them(staff, settings):
    settings.TIME_ZONE = "Europe/Madrid"
    subscription = services.create_subscription(
        name="Live", access_expire=datetime(2030, 6, 1, 20, 30)
    )
    response = staff.get(reverse("subscriptions:edit", args=[subscription.code]))
    page = response.content.decode()
    assert 'type="date" name="access_expire_date" value="2030-06-01"' in page
    assert 'type="time" name="access_expire_time" value="20:30:00"' in page
    assert "Europe/Madrid</span>" in page  # the zone is named beside the inputs
    data = form_data(name="Live", period="")
    del data["access_expire"]
    data.update(access_expire_date="2030-06-01", access_expire_time="20:30:00")  # as a browser
    staff.post(reverse("subscriptions:edit", args=[subscription.code]), data)
    subscription.refresh_from_db()
    assert subscription.access_expire == datetime(
        2030, 6, 1, 20, 30, tzinfo=ZoneInfo("Europe/Madrid")
    )


def test_a_subscription_without_sales_is_deleted_from_its_confirmation_page(staff):
    subscription = SubscriptionFactory()
    page = staff.get(reverse("subscriptions:delete", args=[subscription.code]))
    assert b"will be deleted" in page.content
    response = staff.post(reverse("subscriptions:delete", args=[subscription.code]))
    assert response["Location"] == reverse("subscriptions:list")
    assert not Subscription.objects.exists()


def test_the_delete_page_says_why_a_subscription_with_sales_is_archived(staff, monkeypatch):
    monkeypatch.setattr(services, "CATALOG_OWN_RELATIONS", {"offers", "coupons"})
    subscription = SubscriptionMediaFactory().subscription
    page = staff.get(reverse("subscriptions:delete", args=[subscription.code]))
    assert b"will be archived, not deleted" in page.content
    staff.post(reverse("subscriptions:delete", args=[subscription.code]))
    subscription.refresh_from_db()
    assert subscription.archived_at is not None
    detail = staff.get(reverse("subscriptions:detail", args=[subscription.code]))
    assert b"Archived" in detail.content
    assert reverse("subscriptions:edit", args=[subscription.code]).encode() not in detail.content


def test_attach_media_by_code_then_attaching_it_again_shows_a_message_beside_the_field(staff):
    subscription = SubscriptionFactory(scope="group")
    media = MediaFactory(title="Knife skills")
    url = reverse("subscriptions:attach_media", args=[subscription.code])
    assert staff.post(url, {"media": media.code}).status_code == 302
    again = staff.post(url, {"media": media.code})
    assert again.status_code == 200
    assert "already in this subscription" in again.context["attach_form"].errors["media"][0]
    assert b"invalid-feedback" in again.content
    assert SubscriptionMedia.objects.count() == 1


def test_media_attached_and_detached_show_in_the_subscriptions_history(staff):
    subscription = SubscriptionFactory(scope="group")
    media = MediaFactory(title="Knife skills")
    staff.post(
        reverse("subscriptions:attach_media", args=[subscription.code]), {"media": media.code}
    )
    staff.post(reverse("subscriptions:detach_media", args=[subscription.code, media.code]))
    detail = staff.get(reverse("subscriptions:detail", args=[subscription.code]))
    text = " ".join(detail.content.decode().split())
    # The History panel reads the audit trail (core/templates/core/audit_history.html).
    detached = text.index(f"detached media <div>media: “Knife skills” ({media.code}) → —")
    attached = text.index(f"attached media <div>media: — → “Knife skills” ({media.code})")
    assert detached < attached  # newest first


def test_attaching_an_unknown_media_code_says_so(staff):
    subscription = SubscriptionFactory()
    response = staff.post(
        reverse("subscriptions:attach_media", args=[subscription.code]), {"media": "NOPE1234"}
    )
    assert response.context["attach_form"].errors["media"] == ["No media has this code."]


def test_a_second_media_on_a_single_subscription_is_refused_on_the_page(staff):
    subscription = SubscriptionMediaFactory(subscription__scope="single").subscription
    response = staff.post(
        reverse("subscriptions:attach_media", args=[subscription.code]),
        {"media": MediaFactory().code},
    )
    assert "at most one media" in response.context["attach_form"].errors["media"][0]
    assert subscription.media_links.count() == 1


def test_detach_media_from_the_detail_page(staff):
    link = SubscriptionMediaFactory()
    response = staff.post(
        reverse("subscriptions:detach_media", args=[link.subscription.code, link.media.code])
    )
    assert response.status_code == 302
    assert not SubscriptionMedia.objects.exists()


def test_the_detail_page_pages_through_the_media_and_finds_media_to_add(staff):
    subscription = SubscriptionFactory(scope="group")
    for index in range(12):
        SubscriptionMediaFactory(subscription=subscription, media__title=f"Part {index:02d}")
    MediaFactory(title="Bonus interview")
    url = reverse("subscriptions:detail", args=[subscription.code])
    first = staff.get(url)
    assert len(first.context["media_page"].object_list) == 10
    second = staff.get(url, {"media_page": 2})
    assert [link.media.title for link in second.context["media_page"].object_list] == [
        "Part 10",
        "Part 11",
    ]
    found = staff.get(url, {"media_q": "interview"})
    assert [media.title for media in found.context["media_candidates"]] == ["Bonus interview"]
    assert staff.get(url, {"media_q": "Part 01"}).context["media_candidates"] == []


def test_an_unknown_code_is_404(staff):
    assert staff.get(reverse("subscriptions:detail", args=["NOPE1234"])).status_code == 404


def test_a_subscription_written_without_history_still_shows(client, staff_user):
    from subscriptions.models import Subscription

    subscription = Subscription.objects.bulk_create(
        [Subscription(name="Bulk loaded", kind="subscription", scope="group", period=30)]
    )[0]
    client.force_login(staff_user)
    assert client.get(f"/subscriptions/{subscription.code}/").status_code == 200


def test_searches_with_a_null_character_on_the_detail_page_find_nothing(staff):
    subscription = SubscriptionFactory()
    MediaFactory(title="Interview")
    url = reverse("subscriptions:detail", args=[subscription.code])
    response = staff.get(url, {"media_q": "Inter\x00view", "email": "ann@example.com\x00"})
    assert response.status_code == 200
    assert response.context["media_candidates"] == []
    assert response.context["subscription_accesses"] == []
