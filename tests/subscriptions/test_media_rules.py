"""Media in the library and in subscriptions (reference 004 addmedia/deletemedia)."""

import pytest

from subscriptions import errors, services
from subscriptions.models import Media, SubscriptionMedia

from .factories import MediaFactory, SubscriptionFactory, SubscriptionMediaFactory

pytestmark = pytest.mark.django_db


def test_create_media_with_a_code():
    media = services.create_media(
        title="Intro", kind="audio", duration=90, hls_url="https://cdn.example/intro.m3u8"
    )
    assert len(media.code) == 8 and media.status == "processing"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("kind", "image", errors.InvalidChoice),
        ("status", "lost", errors.InvalidChoice),
        ("poster_url", "poster.jpg", errors.InvalidUrl),
        ("width", 0, errors.NotANumberInRange),
    ],
)
def test_bad_media_fields_are_refused_beside_the_field(field, value, error):
    with pytest.raises(error) as caught:
        services.create_media(title="Intro", **{field: value})
    assert caught.value.field == field
    assert not Media.objects.exists()


def test_attaching_media_twice_is_a_clear_message_not_a_second_row():
    subscription = SubscriptionFactory(scope="group")
    media = MediaFactory(title="Lesson 1")
    services.attach_media(subscription=subscription, media=media)
    with pytest.raises(errors.MediaAlreadyAttached) as caught:
        services.attach_media(subscription=subscription, media=media)
    assert "Lesson 1" in caught.value.message
    assert caught.value.field == "media"
    assert SubscriptionMedia.objects.count() == 1


def test_a_single_subscription_holds_at_most_one_media():
    subscription = SubscriptionFactory(scope="single")
    services.attach_media(subscription=subscription, media=MediaFactory())
    with pytest.raises(errors.SingleSubscriptionHoldsOneMedia):
        services.attach_media(subscription=subscription, media=MediaFactory())
    assert subscription.media_links.count() == 1


def test_a_group_subscription_holds_many_media():
    subscription = SubscriptionFactory(scope="group")
    for media in MediaFactory.create_batch(3):
        services.attach_media(subscription=subscription, media=media)
    assert subscription.media.count() == 3


def test_detach_removes_the_link_and_keeps_the_media():
    link = SubscriptionMediaFactory()
    services.detach_media(subscription=link.subscription, media=link.media)
    assert not SubscriptionMedia.objects.exists()
    assert Media.objects.filter(pk=link.media.pk).exists()


def test_detaching_media_that_is_not_there_is_refused():
    with pytest.raises(errors.MediaNotAttached):
        services.detach_media(subscription=SubscriptionFactory(), media=MediaFactory())


def test_media_held_by_a_subscription_cannot_be_deleted():
    link = SubscriptionMediaFactory()
    with pytest.raises(errors.MediaInUse) as caught:
        services.delete_media(media=link.media)
    assert link.subscription.code in caught.value.message
    assert Media.objects.filter(pk=link.media.pk).exists()


def test_media_nobody_holds_is_deleted():
    media = MediaFactory()
    services.delete_media(media=media)
    assert not Media.objects.exists()
