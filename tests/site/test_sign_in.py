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
