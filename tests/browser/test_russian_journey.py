"""The staff flow in Russian, in a real browser: a staff user whose language is Russian signs in,
finds a buyer with the header's search box, grants an access (told on Russian pages) and reads the
Russian e-mail it sent the Russian-language buyer; then switches the site to English from the
header's menu."""

import pytest
from django.core import mail

from buyers import services as buyer_services
from buyers.models import Access
from core.models import UserPreference
from tests.factories import TEST_PASSWORD, UserFactory
from tests.subscriptions.factories import SubscriptionFactory

from .test_sign_in_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_russian_speaking_staff_user_grants_access_and_the_buyer_is_mailed_in_russian(
    page, live_server
):
    olga = UserFactory(username="olga", is_staff=True, is_superuser=True)
    UserPreference.objects.create(user=olga, language="ru")
    subscription = SubscriptionFactory(name="Кулинарный мастер-класс", activation=2)
    buyer_services.create_buyer(email="ivan@example.com", name="Иван Петров", language="ru")

    sign_in(page, live_server.url, "olga", TEST_PASSWORD)
    page.get_by_text("Добро пожаловать").wait_for()
    assert page.locator("html").get_attribute("lang") == "ru"

    page.get_by_role("searchbox", name="Найти по коду, e-mail, телефону, имени").fill(
        "ivan@example.com"
    )
    page.keyboard.press("Enter")
    page.wait_for_url("**/buyers/*/")
    assert page.get_by_test_id("buyer-language").inner_text() == "Русский"

    page.get_by_role("link", name="Выдать доступ").click()
    page.get_by_label("Подписка").select_option(label=str(subscription))
    assert page.get_by_label("Уведомить покупателя по e-mail").is_checked()
    page.get_by_role("button", name="Выдать доступ").click()
    page.get_by_text("Доступ выдан покупателю Иван Петров").wait_for()
    access = Access.objects.get()
    assert page.get_by_test_id("access-password").inner_text() == access.hash

    # The e-mail went out in the buyer's language, and staff read it as sent.
    (message,) = mail.outbox
    assert message.subject == "Ваш доступ к «Кулинарный мастер-класс»"
    assert message.body.startswith("Здравствуйте, Иван Петров!")
    page.goto(f"{live_server.url}/emails/")
    page.get_by_role("row", name=message.subject).get_by_role("link").first.click()
    assert f"Ваш пароль доступа: {access.hash}" in page.locator("main").inner_text()

    # The header's menu switches the site to English, for this and the next sign-ins.
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert UserPreference.objects.get(user=olga).language == "en"
    assert page.console_problems == []
