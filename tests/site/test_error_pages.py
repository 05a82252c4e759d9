"""`make run` runs with DEBUG on: a wrong address or a bug still shows the site's own pages,
not Django's debug pages listing every URL and setting (a developer can ask for those)."""

import logging

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.site.error_urls")]


@pytest.fixture
def development(settings):
    settings.DEBUG = True
    settings.DEBUG_PAGES = False
    return settings


@pytest.fixture
def signed_in(admin_user):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    return client


def test_an_unknown_address_shows_the_sites_not_found_page(development, signed_in):
    response = signed_in.get("/no-such-page/")
    assert response.status_code == 404
    text = response.content.decode()
    assert "Nothing is at this address" in text
    assert "URLconf" not in text and "tried these URL patterns" not in text


def test_a_missing_object_shows_the_sites_not_found_page(development, signed_in):
    response = signed_in.get("/subscriptions/NOSUCH00/")
    assert response.status_code == 404
    assert "Nothing is at this address" in response.content.decode()
    assert "Raised by" not in response.content.decode()


def test_a_bug_shows_the_sites_error_page_and_is_logged(development, signed_in, caplog):
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = signed_in.get("/broken/")
    assert response.status_code == 500
    text = response.content.decode()
    assert "Something went wrong" in text and "ZeroDivisionError" not in text
    assert any(record.exc_info and "/broken/" in record.getMessage() for record in caplog.records)


def test_a_suspicious_request_shows_the_sites_bad_request_page(development, signed_in):
    response = signed_in.get("/suspicious/")
    assert response.status_code == 400
    assert "forged header" not in response.content.decode()


def test_a_missing_slash_still_redirects(development, signed_in):
    response = signed_in.get("/subscriptions")
    assert response.status_code == 301 and response["Location"] == "/subscriptions/"


def test_developers_who_ask_get_djangos_debug_pages(development, signed_in):
    development.DEBUG_PAGES = True
    response = signed_in.get("/no-such-page/")
    assert response.status_code == 404
    assert "URLconf" in response.content.decode()
    assert "ZeroDivisionError" in signed_in.get("/broken/").content.decode()
