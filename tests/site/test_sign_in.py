import pytest
from django.urls import reverse

from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def sign_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_sign_in_page_shows_the_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password"' in response.content


def test_sign_in_with_the_right_password_opens_home(client):
    UserFactory(username="ana")
    response = sign_in(client, "ana", TEST_PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert b"Welcome" in home.content


def test_sign_in_returns_to_the_page_first_asked_for(client, user_with_perms):
    user_with_perms("auth.view_user", username="boris")
    response = client.post(
        reverse("login") + "?next=/team/",
        {"username": "boris", "password": TEST_PASSWORD, "next": "/team/"},
    )
    assert response["Location"] == "/team/"


def test_wrong_password_shows_a_message_and_signs_nobody_in(client):
    UserFactory(username="ana")
    response = sign_in(client, "ana", "wrong")
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_repeated_wrong_passwords_lock_the_user_out_even_with_the_right_one(client, settings):
    UserFactory(username="ana")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "ana", "wrong")
    response = sign_in(client, "ana", TEST_PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_a_lockout_is_for_that_user_only(client, settings):
    UserFactory(username="ana")
    UserFactory(username="boris")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "ana", "wrong")
    assert sign_in(client, "boris", TEST_PASSWORD).status_code == 302


def test_a_successful_sign_in_forgets_earlier_failures(client, settings):
    UserFactory(username="ana")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "ana", "wrong")
    assert sign_in(client, "ana", TEST_PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "ana", "wrong")
    assert sign_in(client, "ana", TEST_PASSWORD).status_code == 302


def test_sign_out_ends_the_session(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_password_change_needs_the_old_password(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "not it",
            "new_password1": "Another long phrase 7",
            "new_password2": "Another long phrase 7",
        },
    )
    assert response.status_code == 200
    assert b"Your old password was entered incorrectly" in response.content
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_password_change_keeps_the_user_signed_in(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "Another long phrase 7",
            "new_password2": "Another long phrase 7",
        },
    )
    assert response["Location"] == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password("Another long phrase 7")
    assert client.get(reverse("home")).status_code == 200


def test_behind_a_proxy_the_lockout_follows_the_client_not_the_proxy(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    UserFactory(username="ana")
    attacker = {"HTTP_X_FORWARDED_FOR": "203.0.113.9", "HTTP_X_FORWARDED_PROTO": "https"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "ana", "password": "wrong"}, **attacker)
    locked = client.post(
        reverse("login"), {"username": "ana", "password": TEST_PASSWORD}, **attacker
    )
    assert locked.status_code == 429
    real_user = {"HTTP_X_FORWARDED_FOR": "198.51.100.7", "HTTP_X_FORWARDED_PROTO": "https"}
    response = client.post(
        reverse("login"), {"username": "ana", "password": TEST_PASSWORD}, **real_user
    )
    assert response.status_code == 302


def test_wrong_current_passwords_on_the_password_change_lock_it_like_sign_in(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = UserFactory(username="dana")
    client.force_login(user)
    url = reverse("password_change")
    change = {"new_password1": "a-New-passw0rd!", "new_password2": "a-New-passw0rd!"}
    for _ in range(2):
        response = client.post(url, {"old_password": "guess", **change})
        assert response.status_code == 200
        assert "incorrect" in response.content.decode()
    locked = client.post(url, {"old_password": "guess", **change})
    assert locked.status_code == 429
    # Locked: even the right password is not evaluated now.
    again = client.post(url, {"old_password": TEST_PASSWORD, **change})
    assert again.status_code == 429
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_the_right_current_password_changes_it(client):
    user = UserFactory(username="eli")
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "a-New-passw0rd!",
            "new_password2": "a-New-passw0rd!",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-New-passw0rd!")


def test_addresses_of_one_ipv6_64_count_as_one_for_the_lockout(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="fay")
    for host in range(1, 4):
        client.post(
            reverse("login"),
            {"username": "fay", "password": "guess"},
            REMOTE_ADDR=f"2001:db8:1:2::{host:x}",
        )
    # A fourth address of the same /64, with the right password: still locked out.
    response = client.post(
        reverse("login"),
        {"username": "fay", "password": TEST_PASSWORD},
        REMOTE_ADDR="2001:db8:1:2:ffff::9",
    )
    assert response.status_code == 429
    # Another /64 is another network: the user can still sign in from there.
    elsewhere = client.post(
        reverse("login"),
        {"username": "fay", "password": TEST_PASSWORD},
        REMOTE_ADDR="2001:db8:1:3::1",
    )
    assert elsewhere.status_code == 302


def test_the_sign_in_address_of_ipv6_is_its_64_and_ipv4_is_itself():
    from django.test import RequestFactory

    from core.client_ip import sign_in_address

    def of(address):
        return sign_in_address(RequestFactory().get("/", REMOTE_ADDR=address))

    assert of("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::"
    assert of("198.51.100.7") == "198.51.100.7"
    assert of("::ffff:198.51.100.7") == "198.51.100.7"
    assert of("not an address") == "not an address"
