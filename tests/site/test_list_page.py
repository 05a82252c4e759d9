"""The shared list-page pattern, shown on the Team page (the one list the site itself owns)."""

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from core.listing import MAX_PER_PAGE
from core.roles import FINANCE, SHOP_STAFF
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client, user_with_perms):
    user = user_with_perms("auth.view_user", username="viewer")
    client.force_login(user)
    return user


def usernames_on(response):
    return [row.record.username for row in response.context["table"].page.object_list]


def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body)))


def test_list_shows_rows_and_the_result_count(client, viewer):
    UserFactory.create_batch(3)
    response = client.get(reverse("team"))
    assert response.status_code == 200
    assert len(usernames_on(response)) == 4
    assert b"4 results" in response.content


def test_search_matches_name_and_email_case_insensitively(client, viewer):
    UserFactory(username="olga", first_name="Ольга", email="olga@shop.example")
    UserFactory(username="piet", first_name="Piet")
    assert usernames_on(client.get(reverse("team"), {"q": "ОЛЬГА"})) == ["olga"]
    assert usernames_on(client.get(reverse("team"), {"q": "SHOP.EXAMPLE"})) == ["olga"]


def test_filter_by_role(client, viewer):
    UserFactory(username="sam").groups.add(Group.objects.get(name=SHOP_STAFF))
    UserFactory(username="fran").groups.add(Group.objects.get(name=FINANCE))
    finance = Group.objects.get(name=FINANCE)
    assert usernames_on(client.get(reverse("team"), {"role": finance.pk})) == ["fran"]


def test_an_invalid_filter_value_shows_a_message_and_the_unfiltered_list(client, viewer):
    response = client.get(reverse("team"), {"role": "not-a-role"})
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    assert "viewer" in usernames_on(response)


def test_sorting_by_a_column_both_ways(client, viewer):
    UserFactory(username="aaa")
    UserFactory(username="zzz")
    assert usernames_on(client.get(reverse("team"), {"sort": "username"}))[0] == "aaa"
    assert usernames_on(client.get(reverse("team"), {"sort": "-username"}))[0] == "zzz"


def test_pages_sorted_by_a_column_with_equal_values_never_overlap(client, viewer):
    UserFactory.create_batch(30, first_name="Same", last_name="Name")
    first = usernames_on(client.get(reverse("team"), {"sort": "full_name", "per_page": 10}))
    second = usernames_on(
        client.get(reverse("team"), {"sort": "full_name", "per_page": 10, "page": 2})
    )
    third = usernames_on(
        client.get(reverse("team"), {"sort": "full_name", "per_page": 10, "page": 3})
    )
    assert len(set(first + second + third)) == 30


def test_page_size_is_capped(client, viewer):
    UserFactory.create_batch(MAX_PER_PAGE + 5)
    response = client.get(reverse("team"), {"per_page": 1_000_000})
    assert len(usernames_on(response)) == MAX_PER_PAGE


def test_a_page_past_the_end_shows_the_last_page(client, viewer):
    UserFactory.create_batch(30)
    response = client.get(reverse("team"), {"page": 99})
    assert response.status_code == 200
    assert response.context["table"].page.number == 2


def follow(client, response, rel):
    match = re.search(rf'rel="{rel}" href="([^"]+)"', response.content.decode())
    return client.get(reverse("team") + html.unescape(match.group(1))) if match else None


def walk_pages(client, first, rel="next"):
    pages, response = [], first
    while response is not None:
        pages.append(usernames_on(response))
        response = follow(client, response, rel)
    return pages


def test_beyond_the_count_limit_the_page_says_more_than_and_next_reaches_every_row(
    client, viewer, settings
):
    settings.LIST_COUNT_LIMIT = 20
    UserFactory.create_batch(60)  # 61 with the viewer
    first = client.get(reverse("team"), {"per_page": 7})
    assert b"More than 20 results" in first.content
    pages = walk_pages(client, first)
    seen = [name for page in pages for name in page]
    assert seen == sorted(get_user_model().objects.values_list("username", flat=True))
    assert [len(page) for page in pages] == [7] * 8 + [5]


@pytest.mark.parametrize("sort", ["full_name", "-last_login", "last_login", "-date_joined"])
def test_paging_by_cursor_matches_the_full_ordering_both_ways(client, viewer, settings, sort):
    settings.LIST_COUNT_LIMIT = 10
    for index in range(40):
        UserFactory(
            first_name=["Ann", "Bob"][index % 2],
            last_name="Same",
            last_login=None if index % 3 else timezone.now() - timedelta(days=index % 5),
        )
    first = client.get(reverse("team"), {"per_page": 6, "sort": sort})
    forward = walk_pages(client, first)
    expected = [
        row.record.username
        for row in client.get(reverse("team"), {"per_page": 100, "sort": sort})
        .context["table"]
        .page.object_list
    ]
    assert [name for page in forward for name in page] == expected

    last = client.get(reverse("team"), {"per_page": 6, "sort": sort})
    while (following := follow(client, last, "next")) is not None:
        last = following
    backward = walk_pages(client, last, rel="prev")
    assert backward == forward[::-1]


def test_deep_pages_link_by_cursor_not_by_number(client, viewer, settings):
    settings.LIST_COUNT_LIMIT = 20
    UserFactory.create_batch(60)
    page = client.get(reverse("team"), {"per_page": 10})
    for _ in range(3):
        page = follow(client, page, "next")
    html_text = page.content.decode()
    assert "after=" in html_text and page.context["table"].page.number == 4
    assert 'href="?page=6' not in html_text and 'href="?per_page=10&amp;page=6' not in html_text


def test_a_bare_deep_page_number_or_a_damaged_cursor_shows_the_first_page(client, viewer, settings):
    settings.LIST_COUNT_LIMIT = 20
    UserFactory.create_batch(60)
    deep = client.get(reverse("team"), {"per_page": 10, "page": 50})
    assert deep.context["table"].page.number == 1
    for cursor in ["garbage", "eyJ4Ijo=", "W1siLXVzZXJuYW1lIl0sWzFdXQ"]:
        response = client.get(reverse("team"), {"per_page": 10, "page": 5, "after": cursor})
        assert response.status_code == 200
        assert response.context["table"].page.number == 1


def test_the_query_count_does_not_grow_with_the_page_size(
    client, viewer, django_assert_max_num_queries
):
    for index in range(50):
        UserFactory().groups.add(Group.objects.get(name=SHOP_STAFF if index % 2 else FINANCE))
    with django_assert_max_num_queries(8) as five:
        client.get(reverse("team"), {"per_page": 5})
    with django_assert_max_num_queries(8) as fifty:
        client.get(reverse("team"), {"per_page": 50})
    assert len(five.captured_queries) == len(fifty.captured_queries)


def test_export_downloads_exactly_the_filtered_rows_on_every_page(client, viewer):
    UserFactory.create_batch(40, last_name="Match")
    UserFactory.create_batch(5, last_name="Other")
    response = client.get(
        reverse("team"), {"q": "match", "export": "csv", "page": 2, "per_page": 10}
    )
    rows = read_csv(response)
    assert rows[0][:3] == ["User name", "Name", "E-mail"]
    assert len(rows) == 41
    assert all(row[1].endswith("Match") for row in rows[1:])
    assert 'filename="team_start_to_' in response["Content-Disposition"]


def test_export_follows_the_lists_sort(client, viewer):
    UserFactory(username="aaa")
    UserFactory(username="zzz")
    rows = read_csv(client.get(reverse("team"), {"export": "csv", "sort": "-username"}))
    assert rows[1][0] == "zzz"


def test_exported_cells_that_could_run_as_formulas_are_neutralised(client, viewer):
    UserFactory(username="evil", first_name='=HYPERLINK("http://x")', last_name="-2+3")
    rows = read_csv(client.get(reverse("team"), {"export": "csv", "q": "evil"}))
    assert rows[1][1].startswith("'=HYPERLINK")


def test_the_old_excel_option_redirects_to_the_workbook(client, viewer):
    response = client.get(reverse("team"), {"q": "view", "export": "csv", "excel": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("team") + "?q=view&export=xlsx"


def test_export_shows_the_roles_without_a_query_per_row(
    client, viewer, django_assert_max_num_queries
):
    for _ in range(30):
        UserFactory().groups.add(Group.objects.get(name=SHOP_STAFF))
    with django_assert_max_num_queries(6):
        rows = read_csv(client.get(reverse("team"), {"export": "csv"}))
    assert sum(1 for row in rows if row[3] == SHOP_STAFF) == 30


def test_an_empty_result_says_so(client, viewer):
    response = client.get(reverse("team"), {"q": "nobody-matches-this"})
    assert b"0 results" in response.content
    assert b"Nothing matches these filters." in response.content


def test_yes_no_filters_offer_any_yes_and_no(client, viewer):
    UserFactory(username="gone", is_active=False)
    response = client.get(reverse("team"), {"is_active": "false"})
    assert usernames_on(response) == ["gone"]
    assert b">Any</option>" in response.content
    assert b"Unknown" not in response.content and b"---------" not in response.content


def test_the_list_offers_its_workbook_and_its_csv(client, viewer):
    html = client.get(reverse("team"), {"q": "view"}).content.decode()
    assert 'href="?q=view&amp;export=xlsx"' in html
    assert 'href="?q=view&amp;export=csv"' in html
    assert "excel=1" not in html


@pytest.mark.django_db
def test_a_sort_by_no_column_keeps_the_default_order_without_warnings(admin_client, recwarn):
    response = admin_client.get("/purchases/", {"sort": "example.com,-nope,__class__"})

    assert response.status_code == 200
    assert not [w for w in recwarn if "accessor" in str(w.message)]
    assert response.context["table"].order_by == ("-created_at",)


def test_a_numbered_page_reads_keys_alone_by_offset_then_its_rows_by_key(client, viewer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    UserFactory.create_batch(30)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("team"), {"per_page": 10, "page": 3})

    usernames = get_user_model().objects.order_by("username", "pk")
    assert usernames_on(response) == list(usernames.values_list("username", flat=True)[20:30])
    assert "Joined" in response.text and response.context["table"].page.number == 3
    by_offset = [query["sql"] for query in captured.captured_queries if "OFFSET" in query["sql"]]
    assert len(by_offset) == 1
    assert by_offset[0].startswith('SELECT "auth_user"."id" AS "pk" FROM "auth_user" ORDER BY')
