"""The PPV API's real clients, replayed: the requests they send, byte for byte where it matters
(unencoded `|`, `:` and `+` in query strings, `ver=`, `format=json`, far-future dates), and their
answers read exactly as they read them.

Each client is ported from its public source (research: ../notes/ppv_clients.md, issue 17):
- the vendor's Moodle filter plugin (boomstream-com/boomstream-moodle), PHP: G3 (current,
  `classes/boomstream.php`, encoded GET), G2 (concatenated, unencoded query strings), G0 (a hash
  without the media code). It calls addbuyer on every page view, then `info` and `updatebuyer`
  when the answer's top-level `Recovery` is 0 or its `AccessExpirationDate` has passed in Moscow
  time; it reads `json_decode(…, true)` cast to an object, so only the top level is an object;
- a Java/Spring back end (nuriddin009/shiftwebsite): addbuyer with `ver=1.1` and a date-only far
  future expiry, read by Jackson into a flat DTO of top-level keys; deletebuyer;
- a Python script: addbuyer without `format` (XML), read with ElementTree (`Status` a child of the
  root, `.//Hash`).

Our dates are in PPV_API_TIME_ZONE, set here to Europe/Moscow as those clients assume.
"""

import json
import re
from datetime import datetime, timedelta
from urllib.parse import quote_plus, urlencode
from zoneinfo import ZoneInfo

import pytest
from defusedxml import ElementTree  # the script's xml.etree parser, hardened: the same reading
from django.utils import timezone

from api.ppv import METHODS
from buyers import services as buyer_services
from buyers.models import Access, Buyer
from subscriptions import services as catalog_services

pytestmark = pytest.mark.django_db

MOSCOW = ZoneInfo("Europe/Moscow")
ZERO_TIME = "0000-00-00 00:00:00"
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
SITE = "moodle.example.edu:8443"


@pytest.fixture(autouse=True)
def moscow_api_dates(settings):
    settings.PPV_API_TIME_ZONE = "Europe/Moscow"


@pytest.fixture
def shop(db, api_key):
    """A subscription with a 30-day period, two media, and the shop's API key."""
    subscription = catalog_services.create_subscription(name="Course", scope="group", period=30)
    media = []
    for title in ("Lesson 1", "Lesson 2"):
        item = catalog_services.create_media(title=title, status="done")
        catalog_services.attach_media(subscription=subscription, media=item)
        media.append(item.code)
    return {"key": api_key, "code": subscription.code, "media": media, "sub": subscription}


def moscow_now() -> datetime:
    return datetime.now(MOSCOW).replace(tzinfo=None, microsecond=0)


def php_loose_zero(value) -> bool:
    """PHP 8's `$value == 0` for what json_decode gives: null, 0, "0", "" (non-numeric strings
    compare as strings: "" == "0" is false, but null == 0 is true)."""
    if value is None or value is False:
        return True
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, str):
        return value.strip() != "" and re.fullmatch(r"\s*[+-]?0*(\.0*)?\s*", value) is not None
    return False


def php_empty(value) -> bool:
    return value in (None, "", "0", 0, False, [], {})


def php_datetime(value: str) -> datetime:
    """`new DateTime($value, Moscow)` for the one format the clients meet; anything else throws
    (a PHP fatal error on the Moodle page in G2), which a test must never see."""
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")


class MoodleFilter:
    """The vendor's Moodle filter, `grant_access()` of one generation, ported line by line."""

    def __init__(self, client, shop, *, user_id=42, email="student@example.edu"):
        self.client, self.shop = client, shop
        self.user_id, self.email = user_id, email
        self.calls: list[str] = []

    def decode(self, response):
        """`json_decode($response, true)`, `unset($result['Versions'])`, `(object)$result`."""
        try:
            result = json.loads(response.content)
        except ValueError:
            return False
        if not isinstance(result, dict):
            return False
        result.pop("Versions", None)
        return result


class MoodleG3(MoodleFilter):
    """classes/boomstream.php @ 9df05fad: Moodle's curl::get, http_build_query (encoded)."""

    def params(self, media):
        return {
            "format": "json",
            "apikey": self.shop["key"],
            "code": self.shop["code"],
            "media": media,
            "email": self.email,
            "notification": 0,
            "hash": f"{SITE}|{self.user_id}|{media}",
        }

    def call_api(self, method, params):
        self.calls.append(method)
        return self.decode(self.client.get(f"/api/ppv/{method}?{urlencode(params)}"))

    def grant_access(self, media):
        params = self.params(media)
        result = self.call_api("addbuyer", params)
        if not result or result.get("Status", "") != "Success":
            return False
        expiration = result.get("AccessExpirationDate")
        now = moscow_now()
        expired = False
        if expiration and expiration != ZERO_TIME:
            expired = php_datetime(expiration) < now
        recovery = result.get("Recovery")
        recovery = 0 if recovery is None else recovery
        if php_loose_zero(recovery) or expired:
            info = self.call_api("info", params)
            info_ok = bool(info) and info.get("Status", "") == "Success"
            items = info.get("Items") if info_ok else None
            item = items.get("Item", {}) if isinstance(items, dict) else {}
            if php_loose_zero(recovery) and item.get("Activation") is not None:
                self.call_api("updatebuyer", {**params, "activation": item["Activation"]})
            if expired and info_ok:
                access_expire = None
                if not php_empty(item.get("AccessExpirationDate")):
                    access_expire = item["AccessExpirationDate"]
                elif re.fullmatch(r"\d+", str(item.get("Period", ""))):
                    until = now + timedelta(days=int(item["Period"]))
                    access_expire = until.strftime("%Y-%m-%d %H:%M:%S")
                if access_expire is not None:
                    self.call_api("updatebuyer", {**params, "access_expire": access_expire})
        return True


class MoodleG2(MoodleFilter):
    """boomstream.php @ 7689675e: the query string concatenated, nothing encoded but
    `access_expire` (urlencode: space as `+`); loose comparisons; DateInterval unchecked."""

    def __init__(self, *args, host="moodle.example.edu:8443", **kwargs):
        super().__init__(*args, **kwargs)
        self.host = host

    def query(self, media):
        return (
            f"format=json&apikey={self.shop['key']}&code={self.shop['code']}&media={media}"
            f"&email={self.email}&notification=0&hash={self.host}|{self.user_id}|{media}"
        )

    def curl(self, method, query):
        self.calls.append(method)
        return self.decode(self.client.get(f"/api/ppv/{method}?{query}"))

    def grant_access(self, media):
        query = self.query(media)
        result = self.curl("addbuyer", query)
        expiration = result.get("AccessExpirationDate")
        now = moscow_now()
        expiration_time = php_datetime(expiration) if expiration else now
        expired = bool(expiration) and expiration != ZERO_TIME and expiration_time < now
        if php_loose_zero(result.get("Recovery")) or expired:
            info = self.curl("info", query)
            item = (info.get("Items") or {}).get("Item", {})
            if (
                php_loose_zero(result.get("Recovery"))
                and item.get("Activation") is not None
                and info.get("Status") == "Success"
            ):
                result = self.curl("updatebuyer", f"{query}&activation={item['Activation']}")
            if expired:
                if not php_empty(item.get("AccessExpirationDate")):
                    access_expire = item["AccessExpirationDate"]
                else:
                    period = str(item["Period"])
                    assert re.fullmatch(r"\d+", period), "DateInterval('P…D') throws: PHP fatal"
                    access_expire = (now + timedelta(days=int(period))).strftime(
                        "%Y-%m-%d %H:%M:%S"
                    )
                result = self.curl(
                    "updatebuyer", f"{query}&access_expire={quote_plus(access_expire)}"
                )
        return result.get("Status") == "Success"


def access_of(shop, password) -> Access:
    return Access.objects.get(subscription__code=shop["code"], hash=password)


def expire(access: Access, *, days_ago=2):
    Access.objects.filter(pk=access.pk).update(
        access_start=timezone.now() - timedelta(days=40),
        access_expire=timezone.now() - timedelta(days=days_ago),
    )


def checked(client, key, shop, password) -> dict:
    """What a player's access check answers for this password (the JSON API)."""
    response = client.get(
        "/api/access/check",
        {"productId": shop["code"], "hash": password, "udid": "browser-1"},
        headers={"Authorization": f"Bearer {key}"},
    )
    return response.json()["Content"]


# --- A. The Moodle plugin, current generation (G3) ---------------------------------------------


def test_g3_first_view_grants_the_plugins_own_password_and_answers_at_the_top_level(client, shop):
    media = shop["media"][0]
    plugin = MoodleG3(client, shop)
    query = urlencode(plugin.params(media))
    assert "hash=moodle.example.edu%3A8443%7C42%7C" in query  # as curl::get sends it
    body = plugin.decode(client.get(f"/api/ppv/addbuyer?{query}"))
    assert body["Status"] == "Success"
    assert body["Hash"] == f"{SITE}|42|{media}"
    assert body["Email"] == "student@example.edu"
    assert isinstance(body["Period"], int) and body["Period"] == 30
    assert isinstance(body["Recovery"], int) and body["Recovery"] != 0
    assert DATE_TIME.match(body["AccessExpirationDate"])
    assert DATE_TIME.match(body["DatePurchase"])
    assert isinstance(body["Items"], list) and body["Items"][0]["Hash"] == body["Hash"]
    assert access_of(shop, f"{SITE}|42|{media}").buyer.email == "student@example.edu"
    # The player then checks the password the plugin put in its URL (id_recovery=…).
    assert checked(client, shop["key"], shop, f"{SITE}|42|{media}")["Granted"] is True


def test_g3_every_later_view_and_a_retry_answer_the_same_access_unchanged(client, shop):
    media = shop["media"][0]
    plugin = MoodleG3(client, shop)
    assert plugin.grant_access(media)
    access = access_of(shop, f"{SITE}|42|{media}")
    checked(client, shop["key"], shop, access.hash)  # one activation used
    before = Access.objects.values().get(pk=access.pk)
    for _ in range(3):  # page views, one of them a retry right after a timeout
        assert plugin.grant_access(media)
    assert Access.objects.values().get(pk=access.pk) == before
    assert Access.objects.count() == 1
    # A limit set on the subscription came with the access: the plugin needs no info call.
    assert plugin.calls == ["addbuyer"] * 4


@pytest.mark.parametrize("activation", [None, 3], ids=["no limit", "limit 3"])
def test_g3_never_loops_on_info_and_updatebuyer_whatever_the_activation_limit(
    client, shop, activation
):
    catalog_services.update_subscription(subscription=shop["sub"], activation=activation)
    plugin = MoodleG3(client, shop)
    for _ in range(3):
        assert plugin.grant_access(shop["media"][0])
    assert plugin.calls == ["addbuyer"] * 3
    body = plugin.call_api("addbuyer", plugin.params(shop["media"][0]))
    assert body["Recovery"] == (3 if activation else -1)  # -1: no limit, never 0 ("not set")


def test_info_answers_the_subscriptions_terms_as_one_item_object(client, shop):
    plugin = MoodleG3(client, shop)
    info = plugin.call_api("info", plugin.params(shop["media"][0]))  # addbuyer's parameters
    assert info["Status"] == "Success"
    assert isinstance(info["Items"], dict) and isinstance(info["Items"]["Item"], dict)
    item = info["Items"]["Item"]
    assert (item["Activation"], item["Period"], item["AccessExpirationDate"]) == (-1, 30, ZERO_TIME)
    catalog_services.update_subscription(
        subscription=shop["sub"],
        activation=4,
        period=None,
        access_expire=datetime(2030, 12, 31, 23, 59, 59, tzinfo=MOSCOW),
    )
    item = plugin.call_api("info", plugin.params(shop["media"][0]))["Items"]["Item"]
    assert (item["Activation"], item["Period"], item["AccessExpirationDate"]) == (
        4,
        0,
        "2030-12-31 23:59:59",
    )
    assert not Access.objects.exists()  # info grants nothing


def test_updatebuyer_takes_activation_0_and_minus_1_as_no_limit(client, shop):
    plugin = MoodleG3(client, shop)
    plugin.grant_access(shop["media"][0])
    params = plugin.params(shop["media"][0])
    for value in (0, -1):
        answer = plugin.call_api("updatebuyer", {**params, "activation": value})
        assert answer["Status"] == "Success"
        assert access_of(shop, params["hash"]).activation_limit is None
    assert plugin.call_api("updatebuyer", {**params, "activation": 2})["Status"] == "Success"
    assert access_of(shop, params["hash"]).activation_limit == 2
    assert plugin.call_api("addbuyer", params)["Recovery"] == 2


def test_g3_expired_access_of_a_period_subscription_is_extended_by_its_period_from_now(
    client, shop
):
    """Decision (a): info answers the zero date for no fixed end; the plugin echoes it to
    updatebuyer (PHP's !empty() holds for it), which reads it as the end the subscription gives
    a new access from now: now + Period here."""
    media = shop["media"][0]
    plugin = MoodleG3(client, shop)
    plugin.grant_access(media)
    access = access_of(shop, f"{SITE}|42|{media}")
    expire(access)
    plugin.calls.clear()
    body = plugin.call_api("addbuyer", plugin.params(media))
    assert php_datetime(body["AccessExpirationDate"]) < moscow_now()  # expired, Moscow time
    assert checked(client, shop["key"], shop, access.hash)["Reason"] == "expired"
    plugin.calls.clear()
    assert plugin.grant_access(media)
    assert plugin.calls == ["addbuyer", "info", "updatebuyer"]
    access.refresh_from_db()
    expected = timezone.now() + timedelta(days=30)
    assert abs(access.access_expire - expected) < timedelta(minutes=1)
    again = plugin.call_api("addbuyer", plugin.params(media))
    assert php_datetime(again["AccessExpirationDate"]) > moscow_now() + timedelta(days=29)
    assert checked(client, shop["key"], shop, access.hash)["Granted"] is True
    plugin.calls.clear()
    plugin.grant_access(media)
    assert plugin.calls == ["addbuyer"]  # extended: back to one call a view


def test_g3_expired_access_of_a_fixed_end_subscription_is_extended_to_that_end(client, shop):
    catalog_services.update_subscription(
        subscription=shop["sub"],
        period=None,
        access_expire=datetime(2030, 12, 31, 23, 59, 59, tzinfo=MOSCOW),
    )
    media = shop["media"][0]
    plugin = MoodleG3(client, shop)
    plugin.grant_access(media)
    access = access_of(shop, f"{SITE}|42|{media}")
    expire(access)
    plugin.calls.clear()
    assert plugin.grant_access(media)
    assert plugin.calls == ["addbuyer", "info", "updatebuyer"]
    access.refresh_from_db()
    assert access.access_expire == datetime(2030, 12, 31, 23, 59, 59, tzinfo=MOSCOW)


def test_updatebuyer_reads_a_moscow_wall_clock_date_as_the_client_computes_it(client, shop):
    plugin = MoodleG3(client, shop)
    media = shop["media"][0]
    plugin.grant_access(media)
    until = (moscow_now() + timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
    answer = plugin.call_api("updatebuyer", {**plugin.params(media), "access_expire": until})
    assert answer["Status"] == "Success"
    stored = access_of(shop, f"{SITE}|42|{media}").access_expire
    assert stored == datetime.strptime(until, "%Y-%m-%d %H:%M:%S").replace(tzinfo=MOSCOW)


def test_the_zero_date_to_updatebuyer_means_the_subscriptions_fixed_end_when_it_has_one(
    client, shop
):
    plugin = MoodleG3(client, shop)
    media = shop["media"][0]
    plugin.grant_access(media)
    catalog_services.update_subscription(
        subscription=shop["sub"], access_expire=datetime(2031, 1, 1, 23, 59, 59, tzinfo=MOSCOW)
    )
    answer = plugin.call_api(
        "updatebuyer", {**plugin.params(media), "access_expire": "0000-00-00 00:00:00"}
    )
    assert answer["Status"] == "Success"
    assert access_of(shop, f"{SITE}|42|{media}").access_expire == datetime(
        2031, 1, 1, 23, 59, 59, tzinfo=MOSCOW
    )


def test_g3_an_access_without_end_answers_the_zero_date_and_is_not_taken_for_expired(client, shop):
    media = shop["media"][0]
    plugin = MoodleG3(client, shop)
    plugin.grant_access(media)
    buyer_services.update_access(access=access_of(shop, f"{SITE}|42|{media}"), access_expire=None)
    plugin.calls.clear()
    body = plugin.call_api("addbuyer", plugin.params(media))
    assert body["AccessExpirationDate"] == ZERO_TIME
    assert body["Items"][0]["AccessExpirationDate"] == ZERO_TIME
    plugin.calls.clear()
    plugin.grant_access(media)
    assert plugin.calls == ["addbuyer"]


def test_g3_the_same_password_on_another_subscription_is_another_access(client, shop):
    other = catalog_services.create_subscription(name="Other course", scope="group", period=7)
    media = shop["media"][0]
    catalog_services.attach_media(subscription=other, media=shop["sub"].media.get(code=media))
    plugin = MoodleG3(client, shop)
    assert plugin.grant_access(media)
    override = MoodleG3(client, {**shop, "code": other.code})  # [boomstream … subscription[Y]]
    assert override.grant_access(media)
    assert Access.objects.filter(hash=f"{SITE}|42|{media}").count() == 2
    assert {a.subscription_id for a in Access.objects.all()} == {shop["sub"].pk, other.pk}


def test_a_password_of_255_printable_characters_is_echoed_and_256_refused(client, shop):
    plugin = MoodleG3(client, shop)
    params = plugin.params(shop["media"][0])
    longest = ("h" * 200 + "|:~!@#$%^&*()[]{}<>?/\\'\"`+= ;,.x" * 3)[:255]
    body = plugin.call_api("addbuyer", {**params, "hash": longest})
    assert (body["Status"], body["Hash"]) == ("Success", longest)
    assert access_of(shop, longest)
    body = plugin.call_api("addbuyer", {**params, "hash": longest + "x"})
    assert (body["Status"], body["Parameter"]) == ("Failure", "hash")
    assert isinstance(body["Message"], str) and "255" in body["Message"]
    assert Access.objects.count() == 1


def test_g3_a_bad_key_is_a_failure_with_a_message_and_the_player_url_stays(client, shop):
    plugin = MoodleG3(client, {**shop, "key": "not.a-key"})
    body = plugin.call_api("addbuyer", plugin.params(shop["media"][0]))
    assert body["Status"] != "Success" and isinstance(body["Message"], str)
    assert plugin.grant_access(shop["media"][0]) is False
    assert not Access.objects.exists()


def test_g3_a_visitor_without_e_mail_gets_a_failure_not_an_error(client, shop):
    plugin = MoodleG3(client, shop, user_id=0, email="")
    body = plugin.call_api("addbuyer", plugin.params(shop["media"][0]))
    assert body["Status"] == "Failure" and body["Message"]
    assert not Buyer.objects.exists()


def test_an_addbuyer_for_a_media_outside_the_subscription_is_refused_naming_media(client, shop):
    stray = catalog_services.create_media(title="Elsewhere")
    plugin = MoodleG3(client, shop)
    body = plugin.call_api("addbuyer", plugin.params(stray.code))
    assert (body["Status"], body["Parameter"], body["Code"]) == (
        "Failure",
        "media",
        "media_not_attached",
    )


# --- B. The Moodle plugin, older generation (G2): unencoded query strings -----------------------


def test_g2_raw_query_strings_store_the_password_with_its_bars_and_colon(client, shop):
    media = shop["media"][0]
    plugin = MoodleG2(client, shop)
    query = plugin.query(media)
    assert "|" in query and ":" in query and "@" in query  # sent as the PHP concatenates it
    assert plugin.grant_access(media)
    access = access_of(shop, f"moodle.example.edu:8443|42|{media}")
    assert access.buyer.email == "student@example.edu"
    answer = plugin.curl("updatebuyer", f"{query}&activation=3")
    assert answer["Status"] == "Success"
    answer = plugin.curl("updatebuyer", f"{query}&access_expire=2030-01-01+12%3A00%3A00")
    assert answer["Status"] == "Success"
    access.refresh_from_db()
    assert access.activation_limit == 3
    assert access.access_expire == datetime(2030, 1, 1, 12, 0, tzinfo=MOSCOW)


def test_g2_expired_access_is_extended_without_a_php_error(client, shop):
    media = shop["media"][0]
    plugin = MoodleG2(client, shop)
    plugin.grant_access(media)
    access = access_of(shop, f"moodle.example.edu:8443|42|{media}")
    expire(access)
    plugin.calls.clear()
    assert plugin.grant_access(media)
    assert plugin.calls == ["addbuyer", "info", "updatebuyer"]
    access.refresh_from_db()
    assert access.access_expire > timezone.now() + timedelta(days=29)


def test_g2_a_plus_in_a_raw_e_mail_reads_as_a_space_and_is_refused_plainly(client, shop):
    plugin = MoodleG2(client, shop, email="a+b@example.edu")
    body = plugin.curl("addbuyer", plugin.query(shop["media"][0]))
    assert (body["Status"], body["Code"], body["Parameter"]) == (
        "Failure",
        "invalid_email",
        "email",
    )
    assert not Access.objects.exists()


def test_every_date_is_a_wall_clock_time_or_the_zero_date_and_every_period_a_number(client, shop):
    no_period = catalog_services.create_subscription(
        name="Fixed", period=None, access_expire=datetime(2031, 5, 1, tzinfo=MOSCOW)
    )
    media = shop["sub"].media.first()
    catalog_services.attach_media(subscription=no_period, media=media)
    plugin = MoodleG2(client, {**shop, "code": no_period.code})
    plugin.grant_access(media.code)
    body = plugin.curl("addbuyer", plugin.query(media.code))
    info = plugin.curl("info", plugin.query(media.code))
    for answer in (body, info["Items"]["Item"]):
        for key, value in answer.items():
            if key.endswith("Date"):
                assert DATE_TIME.match(value), (key, value)
    assert info["Items"]["Item"]["Period"] == 0
    assert isinstance(body["Period"], int)


# --- C. The Moodle plugin, oldest generation (G0): one password for every media ----------------


def test_g0_one_password_across_the_subscriptions_media_is_one_access(client, shop):
    first, second = shop["media"]
    for media in (first, second):
        body = json.loads(
            client.get(
                f"/api/ppv/addbuyer?format=json&apikey={shop['key']}&code={shop['code']}"
                f"&media={media}&email=student@example.edu&notification=0"
                "&hash=shop.example|42"
            ).content
        )
        assert (body["Status"], body["Hash"]) == ("Success", "shop.example|42")
    assert Access.objects.count() == 1


# --- D. The Java back end: a flat DTO of top-level keys ----------------------------------------

JAVA_DTO = {  # BoomstreamRes: field → Java type
    "Hash": str,
    "Email": str,
    "Period": int,
    "Recovery": int,
    "DatePurchase": str,
    "AccessExpirationDate": str,
    "Message": str,
    "Status": str,
    "Version": str,
}


def jackson(response) -> dict:
    """Jackson into BoomstreamRes: top-level keys only, unknown ones ignored, types enforced."""
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    dto = {}
    for name, kind in JAVA_DTO.items():
        value = body.get(name)
        assert value is None or isinstance(value, kind), (name, value)
        dto[name] = value
    return dto


def java_addbuyer(client, shop, media, phone="998901234567"):
    url = (
        f"/api/ppv/addbuyer?apikey={shop['key']}&media={media}&access_expire=2100-12-12"
        f"&notification=0&code={shop['code']}&email={phone}@shift.uz&format=json&ver=1.1"
    )
    return client.get(url, headers={"Accept": "application/json"})


def test_java_addbuyer_reads_the_hash_at_the_top_level_with_a_far_future_date(client, shop):
    dto = jackson(java_addbuyer(client, shop, shop["media"][0]))
    assert dto["Hash"]  # the client fails on a null Hash
    assert re.fullmatch(r"[A-Za-z0-9]+", dto["Hash"])  # safe unencoded in a Spring URI template
    assert isinstance(dto["Period"], int) and isinstance(dto["Recovery"], int)
    access = Access.objects.get(hash=dto["Hash"])
    assert access.access_expire == datetime(2100, 12, 12, 23, 59, 59, tzinfo=MOSCOW)
    assert dto["AccessExpirationDate"] == "2100-12-12 23:59:59"


def test_java_next_lesson_answers_the_same_live_access(client, shop):
    first = jackson(java_addbuyer(client, shop, shop["media"][0]))
    second = jackson(java_addbuyer(client, shop, shop["media"][1]))
    assert second["Hash"] == first["Hash"]
    assert Access.objects.filter(revoked_at__isnull=True).count() == 1


def test_java_deletebuyer_revokes_the_access(client, shop):
    password = jackson(java_addbuyer(client, shop, shop["media"][0]))["Hash"]
    response = client.get(
        f"/api/ppv/deletebuyer?apikey={shop['key']}&code={shop['code']}&hash={password}"
        "&format=json&ver=1.1",
        headers={"Accept": "application/json"},
    )
    dto = jackson(response)
    assert dto["Status"] == "Success" and isinstance(dto["Message"], str)
    assert Access.objects.get(hash=password).revoked_at is not None
    assert checked(client, shop["key"], shop, password)["Granted"] is False


def test_a_revoked_access_is_refused_at_the_next_check(client, shop):
    """Players ask on every play: a revoke made through the API stops the next one."""
    password = jackson(java_addbuyer(client, shop, shop["media"][0]))["Hash"]
    for _ in range(3):
        assert checked(client, shop["key"], shop, password)["Granted"] is True
    client.get(f"/api/ppv/deletebuyer?apikey={shop['key']}&code={shop['code']}&hash={password}")
    answer = checked(client, shop["key"], shop, password)
    assert (answer["Granted"], answer["Reason"]) == (False, "revoked")


# --- E. The Python script: XML, read with ElementTree --------------------------------------------


def python_addbuyer(client, shop, email="ivan@example.ru"):
    params = {
        "apikey": shop["key"],
        "code": shop["code"],
        "media": shop["media"][0],
        "email": email,
        "name": "Ivanov Ivan",
        "notification": 0,
    }
    return client.get(f"/api/ppv/addbuyer?{urlencode(params)}")


def test_python_script_reads_status_and_hash_from_the_xml(client, shop):
    response = python_addbuyer(client, shop)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    root = ElementTree.fromstring(response.text)
    assert root.tag == "Response"
    assert root.findtext("Status") == "Success"
    password = root.findtext(".//Hash")
    assert password and root.findtext("Items/Item/Hash") == password
    assert len(root.findall(".//Hash")) == 1  # XML keeps the document's shape, no top level copy
    assert Access.objects.get(hash=password).buyer.name == "Ivanov Ivan"


def test_python_script_run_again_gets_the_same_password(client, shop):
    first = ElementTree.fromstring(python_addbuyer(client, shop).text).findtext(".//Hash")
    again = ElementTree.fromstring(python_addbuyer(client, shop).text).findtext(".//Hash")
    assert again == first
    assert Access.objects.count() == 1


def test_python_script_failure_has_a_status_and_a_message(client, shop):
    response = python_addbuyer(client, shop, email="not an e-mail")
    assert response.status_code >= 400  # requests' `response.ok` is false: the script raises
    root = ElementTree.fromstring(response.content)
    assert root.findtext("Status") != "Success"
    assert root.findtext(".//Message")


# --- F. The envelope -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", sorted(METHODS))
def test_ver_and_unknown_parameters_are_ignored_on_every_method(client, shop, method):
    access = buyer_services.grant_access(subscription=shop["sub"], email="fan@example.com")
    params = {
        "apikey": shop["key"],
        "code": shop["code"],
        "media": shop["media"][0],
        "hash": access.hash,
        "email": "fan@example.com",
        "name": "Shop",
        "period": "3",
        "format": "json",
        "ver": "1.2",
        "utm_source": "newsletter",
    }
    if method == "addmedia":
        params["media"] = catalog_services.create_media(title="New").code
    response = client.get(f"/api/ppv/{method}", params)
    assert response.json()["Status"] == "Success", response.content


def test_a_json_body_is_answered_in_json_without_format(client, shop):
    response = client.post(
        "/api/ppv/addbuyer",
        {"apikey": shop["key"], "code": shop["code"], "media": shop["media"][0], "email": "j@x.io"},
        content_type="application/json",
    )
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["Status"] == "Success" and response.json()["Hash"]
    xml = client.post(
        "/api/ppv/addbuyer?format=xml",
        {"apikey": shop["key"], "code": shop["code"], "media": shop["media"][0], "email": "j@x.io"},
        content_type="application/json",
    )
    assert ElementTree.fromstring(xml.content).findtext(".//Hash") == response.json()["Hash"]
