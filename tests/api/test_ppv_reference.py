"""Every sample query of reference 004 (the PPV API) replayed against /api/ppv/, its answer's shape
compared with the document's sample response: the same elements, in the same order, with dates
as YYYY-MM-DD HH:MM:SS. The document is kept beside this test (reference_004_ppv.txt)."""

import re
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from defusedxml import ElementTree

from buyers import services as buyer_services
from buyers.models import Access
from subscriptions import services as catalog_services
from subscriptions.models import Media, Subscription

DOCUMENT = Path(__file__).with_name("reference_004_ppv.txt").read_text()
METHODS = DOCUMENT.splitlines()[2].removeprefix("Methods: ").split(" | ")
DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")

# Our media keep one adaptive HLS stream, not per-rendition transcodes: <Transcodes/> is empty.
KNOWN_GAPS = re.compile(r"/Transcodes/Item(/|$)")


def samples():
    """(method, query URL, response XML) for each method section of the document."""
    found = []
    sections = re.split(r"^(" + "|".join(METHODS) + r")$", DOCUMENT, flags=re.MULTILINE)
    for method, body in zip(sections[1::2], sections[2::2], strict=True):
        query = re.search(r"Sample query:\s*(\S+)", body).group(1)
        response = re.search(r"Sample response:\s*(<Response>.*?</Response>)", body, re.S).group(1)
        found.append((method, query, response))
    return found


SAMPLES = samples()


def test_the_document_has_a_sample_for_every_method():
    assert [method for method, _, _ in SAMPLES] == METHODS
    assert len(METHODS) == 13


def xml_paths(element, prefix=""):
    """Element paths in document order, each once: list items collapse to one `Item`."""
    path = f"{prefix}/{element.tag}"
    yield path, (element.text or "").strip()
    for child in element:
        yield from xml_paths(child, path)


def json_paths(value, path="/Response"):
    yield path, value if isinstance(value, str) else ""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from json_paths(child, f"{path}/{key}")
    elif isinstance(value, list):
        for child in value:
            yield from json_paths(child, f"{path}/Item")


def shape(pairs):
    seen, ordered, texts = set(), [], {}
    for path, text in pairs:
        if path not in seen:
            seen.add(path)
            ordered.append(path)
        texts.setdefault(path, text)
    return ordered, texts


def parse_sample(xml: str):
    # The document's `list` sample closes <Item> with </item>; XML is case-sensitive.
    return ElementTree.fromstring(xml.replace("</item>", "</Item>"))


@pytest.fixture
def shop(db):
    """What the samples name: subscription X150Kl1d holding media xxxxxxxx, a buyer's access
    with password 12345678, the seller's contacts."""
    media = catalog_services.create_media(
        title="Тестовое видео",
        width=640,
        height=480,
        duration=14,
        status="done",
        poster_url="https://cdn.example.com/xxxxxxxx-a1.jpg",
        hls_url="https://cdn.example.com/xxxxxxxx/playlist.m3u8",
        download_url="https://cdn.example.com/xxxxxxxx.orig",
    )
    Media.objects.filter(pk=media.pk).update(code="xxxxxxxx")
    media.refresh_from_db()
    pricing_model = catalog_services.create_pricing_model(
        title="PPV", price="100.00", currency="EUR"
    )
    subscription = catalog_services.create_subscription(
        name="ppv", scope="group", period=30, pricing_models=[pricing_model]
    )
    Subscription.objects.filter(pk=subscription.pk).update(code="X150Kl1d")
    subscription.refresh_from_db()
    catalog_services.attach_media(subscription=subscription, media=media)
    # Granted in 2018, so the updatebuyer sample's access_expire=2018-12-31 comes after its start.
    access = buyer_services.grant_access(
        subscription=subscription, email="buyer@example.com", access_start=date(2018, 1, 1)
    )
    Access.objects.filter(pk=access.pk).update(hash="12345678")
    catalog_services.update_shop_contacts(name="Alex", phone="+0 000 000 000")
    return subscription, media


def replay(client, api_key, method, query, *, extra=None):
    url = urlsplit(query)
    params = {
        key: api_key if value == "[API_KEY]" else value
        for key, value in parse_qsl(url.query, keep_blank_values=True)
    }
    params.update(extra or {})
    # The document's updatebuyer and deletebuyer samples call /addbuyer (a copy-and-paste slip
    # in it): each is replayed on the method its section documents.
    assert url.path.startswith("/api/ppv/")
    return client.get(f"/api/ppv/{method}", params)


@pytest.mark.parametrize(("method", "query", "sample"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_sample_query_answers_the_sample_shape(client, api_key, shop, method, query, sample):
    subscription, media = shop
    if method == "addmedia":  # the sample adds xxxxxxxx: it must not be in the subscription yet
        catalog_services.detach_media(subscription=subscription, media=media)
    response = replay(client, api_key, method, query)
    assert response.status_code == 200, response.content.decode()
    assert response["Content-Type"].startswith("application/xml")
    expected, expected_texts = shape(xml_paths(parse_sample(sample)))
    expected = [path for path in expected if not KNOWN_GAPS.search(path)]
    got, got_texts = shape(xml_paths(ElementTree.fromstring(response.content)))
    assert got == expected
    assert got_texts["/Response/Status"] == "Success"
    for path, text in expected_texts.items():
        if DATE_TIME.match(text) and got_texts.get(path):
            assert DATE_TIME.match(got_texts[path]), f"{path}: {got_texts[path]}"


# JSON clients read an answer about one buyer at its top level (tests/api/test_ppv_clients.py):
# JSON repeats the item's fields there, with Recovery, and keeps the document's keys in order.
TOP_LEVEL_COPIES = {
    "addbuyer": [
        f"/Response/{key}"
        for key in (
            "Email",
            "Hash",
            "Period",
            "AccessStartDate",
            "AccessExpirationDate",
            "DatePurchase",
            "Recovery",
        )
    ]
}


@pytest.mark.parametrize(("method", "query", "sample"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_sample_query_with_format_json_answers_the_same_keys(
    client, api_key, shop, method, query, sample
):
    subscription, media = shop
    if method == "addmedia":
        catalog_services.detach_media(subscription=subscription, media=media)
    response = replay(client, api_key, method, query, extra={"format": "json"})
    assert response.status_code == 200, response.content.decode()
    expected, _ = shape(xml_paths(parse_sample(sample)))
    expected = [path for path in expected if not KNOWN_GAPS.search(path)]
    got, _ = shape(json_paths(response.json()))
    copies = TOP_LEVEL_COPIES.get(method, [])
    assert [path for path in got if path not in copies] == expected
    assert [path for path in got if path in copies] == copies


def test_sample_queries_change_what_they_say(client, api_key, shop):
    """The samples' effects, checked on the data: not only the shapes."""
    subscription, media = shop
    by_method = {method: query for method, query, _ in SAMPLES}
    replay(client, api_key, "update", by_method["update"])
    subscription.refresh_from_db()
    assert (subscription.name, subscription.period, subscription.description) == (
        "payperview",
        10,
        "text",
    )
    assert subscription.offers.get(is_default=True).pricing_model.price == 500
    replay(client, api_key, "updatebuyer", by_method["updatebuyer"])
    access = Access.objects.get(hash="12345678")
    assert access.activation_limit == 4
    assert access.access_expire.strftime("%Y-%m-%d %H:%M:%S") == "2018-12-31 23:59:59"
    replay(client, api_key, "deletebuyer", by_method["deletebuyer"])
    assert Access.objects.get(hash="12345678").revoked_at is not None
    replay(client, api_key, "addbuyer", by_method["addbuyer"])
    assert Access.objects.filter(buyer__email="example@example.com").count() == 1
    replay(client, api_key, "deletemedia", by_method["deletemedia"])
    assert not subscription.media_links.exists()
    replay(client, api_key, "delete", by_method["delete"])
    subscription.refresh_from_db()
    assert subscription.archived_at is not None  # it has accesses: archived, never deleted
