import re

import pytest
from django.urls import reverse

from core import __version__

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_content_security_policy(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("home"))
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.parametrize("url_name", ["login", "home", "team", "password_change"])
def test_pages_have_no_inline_script_or_style(client, admin_user, url_name):
    if url_name != "login":
        client.force_login(admin_user)
    html = client.get(reverse(url_name)).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> found"
    assert not re.search(r"\sstyle=", html), "inline style attribute found"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler found"
    assert "//cdn" not in html and "https://" not in html.split("</head>")[0]


def test_static_assets_are_served_from_our_own_files(client):
    html = client.get(reverse("login")).content.decode()
    assert "/static/vendor/bootstrap-5.3.9/css/bootstrap.min.css" in html
    assert "/static/vendor/bootstrap-5.3.9/js/bootstrap.bundle.min.js" in html


def test_footer_shows_the_version(client, admin_user):
    client.force_login(admin_user)
    assert f"Back office {__version__}".encode() in client.get(reverse("home")).content


def test_navigation_shows_only_what_the_user_may_open(
    client, staff_user, admin_user, user_with_perms
):
    client.force_login(staff_user)
    html = client.get(reverse("home")).content.decode()
    assert 'href="/team/"' not in html and 'href="/admin/"' not in html

    client.force_login(user_with_perms("auth.view_user"))
    html = client.get(reverse("home")).content.decode()
    assert 'href="/team/"' in html and 'href="/admin/"' not in html

    client.force_login(admin_user)
    html = client.get(reverse("home")).content.decode()
    assert 'href="/team/"' in html and 'href="/admin/"' in html


def test_home_tells_a_user_without_role_whom_to_ask(client, user_without_role):
    client.force_login(user_without_role)
    html = client.get(reverse("home")).content.decode()
    assert "Your account has no role yet" in html


def test_home_names_the_users_role(client, finance_user):
    client.force_login(finance_user)
    assert b"Finance" in client.get(reverse("home")).content


def test_unknown_page_answers_404_for_a_signed_in_user(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/no-such-page/").status_code == 404


def test_health_check_answers_without_sign_in(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_the_admin_names_the_sites_icon(admin_client):
    assert b"/static/favicon.svg" in admin_client.get("/admin/").content


def test_date_range_filters_name_both_inputs(client, finance_user):
    client.force_login(finance_user)
    html = client.get(reverse("purchases:list")).content.decode()
    assert 'aria-label="From"' in html and 'aria-label="To"' in html


def test_a_form_post_too_large_to_read_answers_400_saying_so(client, staff_user):
    client.force_login(staff_user)
    response = client.post(reverse("buyers:create"), {"name": "é" * 2_000_000})
    assert response.status_code == 400
    assert b"larger than the site accepts" in response.content
    assert b"Nothing was changed" in response.content
