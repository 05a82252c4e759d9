"""A list page's rows rendered in Python (core/table_rows.py) are the rows django-tables2's own
template renders: every list page, on generated shop data with markup in its names, compared as
parsed HTML; values are escaped."""

import re
from pathlib import Path

import django_tables2
import pytest
from django.conf import settings
from django.test import override_settings
from django.test.html import parse_html
from django.urls import URLPattern, URLResolver, get_resolver

from buyers.models import Buyer
from core.listing import ListPageView
from purchases.generator import generate_data
from subscriptions.models import Subscription

# django-tables2's own tbody block, read from the installed package: the rendering it replaces.
TEMPLATE_DIR = Path(django_tables2.__file__).parent / "templates" / "django_tables2"
TBODY = re.search(
    r"{% block table\.tbody %}.*?{% endblock table\.tbody %}",
    (TEMPLATE_DIR / "bootstrap5.html").read_text(),
    re.S,
).group(0)
PER_CELL = '{% extends "partials/table.html" %}{% load django_tables2 i18n l10n %}' + TBODY
MARKUP = '<b>"Ann" & O\'Brien</b>'


def list_pages():
    """(path, view class) of every list page: the URLs served by a ListPageView."""
    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern) and not entry.pattern.converters:
                view = getattr(entry.callback, "view_class", None)
                if view is not None and issubclass(view, ListPageView):
                    found.append(("/" + prefix + str(entry.pattern), view))

    walk(get_resolver().url_patterns, "")
    return found


def templates_with(per_cell_table):
    """The project's template settings plus one in-memory template: the per-cell table."""
    engine = dict(settings.TEMPLATES[0])
    options = {k: v for k, v in engine.get("OPTIONS", {}).items() if k != "loaders"}
    options["loaders"] = [
        ("django.template.loaders.locmem.Loader", {"per_cell_table.html": per_cell_table}),
        "django.template.loaders.filesystem.Loader",
        "django.template.loaders.app_directories.Loader",
    ]
    return [{**engine, "APP_DIRS": False, "OPTIONS": options}]


def table_html(response):
    match = re.search(r"<table .*?</table>", response.text, re.S)
    assert match, "no table on the page"
    return parse_html(match.group(0))


@pytest.fixture
def shop(transactional_db):
    generate_data(purchases=120, seed=8)
    buyer = Buyer.objects.exclude(email="").first()
    buyer.name = MARKUP
    buyer.save(update_fields=["name"])
    subscription = Subscription.objects.first()
    subscription.name = MARKUP
    subscription.save(update_fields=["name"])


def test_every_list_page_is_found():
    paths = {path for path, _ in list_pages()}
    assert {"/purchases/", "/buyers/", "/accesses/", "/subscriptions/", "/renewals/"} <= paths
    assert len(paths) >= 12


@pytest.mark.parametrize("query", [{"per_page": 100}, {"per_page": 7, "page": 2}, {"q": "zz-none"}])
def test_every_list_renders_the_rows_django_tables2_renders(shop, admin_client, query):
    pages = list_pages()
    per_cell = {}
    with override_settings(TEMPLATES=templates_with(PER_CELL)):
        original = ListPageView.get_table_kwargs
        ListPageView.get_table_kwargs = lambda view: {
            **original(view),
            "template_name": "per_cell_table.html",
        }
        try:
            for path, _ in pages:
                per_cell[path] = admin_client.get(path, query)
        finally:
            ListPageView.get_table_kwargs = original
    for path, _ in pages:
        response = admin_client.get(path, query)
        assert response.status_code == 200, path
        assert per_cell[path].status_code == 200, path
        assert "table_rows" not in response.text
        assert table_html(response) == table_html(per_cell[path]), path


def test_values_are_escaped_where_they_are_shown(shop, admin_client):
    response = admin_client.get("/buyers/", {"q": "O'Brien"})
    assert "&lt;b&gt;&quot;Ann&quot; &amp; O&#x27;Brien&lt;/b&gt;" in response.text
    assert MARKUP not in response.text

    response = admin_client.get("/accesses/", {"per_page": 100})
    assert MARKUP not in response.text


def test_a_list_keeps_its_row_and_cell_markup(shop, admin_client):
    response = admin_client.get("/purchases/", {"per_page": 3})
    text = response.text
    assert re.search(r'<tr class="even">\s*<td class="code"><a href="/purchases/\w+/">', text)
    assert '<th class="orderable" scope="col">' in text
    assert text.count("<tr class=") == 3


def test_links_are_those_reverse_gives_also_for_values_it_must_quote():
    import django_tables2 as tables
    from django.template import Context

    from core.table_rows import render_rows

    class Links(tables.Table):
        code = tables.Column(linkify=("buyers:detail", {"code": tables.A("code")}))
        name = tables.Column(linkify=("buyers:detail", [tables.A("name")]))

    buyers = [Buyer(code="ab-1_X", name="plain"), Buyer(code="a bü", name='<q "x">')]
    rendered = render_rows(Links(buyers), Context())
    for row in Links(buyers).rows:
        for column in ("code", "name"):
            assert str(row.get_cell(column)) in rendered
    assert 'href="/buyers/ab-1_X/"' in rendered
    assert 'href="/buyers/a%20b%C3%BC/"' in rendered
