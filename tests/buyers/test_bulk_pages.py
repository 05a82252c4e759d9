"""The bulk actions as staff use them: tick rows (or take all matching the filter) on the
accesses or buyers list, confirm the count, watch the progress page, undo; refused without the
permission (403) and for bad input, which changes nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from buyers.models import Access, BulkOperation
from core.models import OutboxMessage

from .factories import AccessFactory, BuyerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

Action = BulkOperation.Action


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def accesses(count, subscription=None, **fields):
    subscription = subscription or SubscriptionFactory()
    end = timezone.now() + timedelta(days=10)
    fields.setdefault("access_expire", end)
    return [AccessFactory(subscription=subscription, **fields) for _ in range(count)]


def ends(rows):
    return {access.pk: access.access_expire for access in rows}


def test_the_lists_offer_the_actions_and_a_checkbox_per_row(staff):
    accesses(2)
    page = staff.get(reverse("accesses:list")).content.decode()
    assert 'data-testid="bulk-form"' in page
    assert page.count('name="selected"') == 2
    assert '<option value="extend">' in page and '<option value="revoke">' in page
    buyers_page = staff.get(reverse("buyers:list")).content.decode()
    assert buyers_page.count('name="selected"') == 2


def test_ticked_rows_are_confirmed_with_their_count_then_changed(
    staff, django_capture_on_commit_callbacks
):
    chosen, other = accesses(2), accesses(1)
    before = ends(chosen + other)
    data = {"action": "extend", "days": "5", "scope": "selected"}
    data["selected"] = [access.code for access in chosen]
    page = staff.post(reverse("accesses:bulk"), data)
    assert page.status_code == 200
    assert "Extend 2 accesses by 5 days each." in page.content.decode()
    assert not BulkOperation.objects.exists()  # the confirmation changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("accesses:bulk"), {**data, "expected": "2", "confirm": "1"})
    operation = BulkOperation.objects.get()
    assert response["Location"] == reverse("accesses:bulk_detail", args=[operation.code])
    for access in Access.objects.all():
        shift = timedelta(days=5) if access in chosen else timedelta(0)
        assert access.access_expire == before[access.pk] + shift
    progress = staff.get(response["Location"]).content.decode()
    assert "2 of 2 rows" in progress and "Done: 2" in progress
    assert 'http-equiv="refresh"' not in progress  # finished: it stops refreshing


def test_all_matching_the_filter_counts_and_changes_exactly_those_rows(
    staff, django_capture_on_commit_callbacks
):
    gold = SubscriptionFactory(name="Gold")
    matching = accesses(3, subscription=gold)
    others = accesses(2)
    query = f"?subscription={gold.code}"
    data = {"action": "revoke", "scope": "all"}
    page = staff.post(reverse("accesses:bulk") + query, data).content.decode()
    assert "Revoke 3 accesses." in page and "Subscription: Gold" in page
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("accesses:bulk") + query, {**data, "expected": "3", "confirm": "1"})
    revoked = set(Access.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True))
    assert revoked == {access.pk for access in matching}
    assert all(Access.objects.get(pk=a.pk).revoked_at is None for a in others)
    operation = BulkOperation.objects.get()
    assert operation.filter_text.startswith("Subscription: Gold")
    assert operation.filter_query == f"subscription={gold.code}"


def test_a_count_that_changed_since_the_confirmation_changes_nothing(staff):
    gold = SubscriptionFactory()
    accesses(2, subscription=gold)
    query = f"?subscription={gold.code}"
    accesses(1, subscription=gold)  # added after staff saw "2"
    response = staff.post(
        reverse("accesses:bulk") + query,
        {"action": "revoke", "scope": "all", "expected": "2", "confirm": "1"},
    )
    assert "changed since you confirmed (2 then, 3 now)" in response.content.decode()
    assert not BulkOperation.objects.exists()
    assert not Access.objects.filter(revoked_at__isnull=False).exists()


def test_more_than_the_limit_matching_is_refused(staff, settings):
    settings.BULK_ACTION_LIMIT = 2
    accesses(3)
    response = staff.post(
        reverse("accesses:bulk"), {"action": "revoke", "scope": "all"}, follow=True
    )
    assert "Nothing was changed: More than 2 rows are chosen" in response.content.decode()
    assert not BulkOperation.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "extend", "days": "5", "scope": "selected"}, "No rows are chosen"),
        ({"action": "extend", "days": "0", "scope": "selected"}, "a whole number from 1 to"),
        ({"action": "extend", "days": "-4", "scope": "selected"}, "a whole number from 1 to"),
        ({"action": "extend", "days": "99999999999", "scope": "selected"}, "from 1 to"),
        ({"action": "extend", "days": "seven", "scope": "selected"}, "Enter a whole number"),
        ({"action": "delete", "scope": "selected"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(staff, data, message):
    [access] = accesses(1)
    end = access.access_expire
    if data.get("days") != "5":
        data = {**data, "selected": [access.code]}
    response = staff.post(reverse("accesses:bulk"), {**data, "confirm": "1"}, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    access.refresh_from_db()
    assert access.access_expire == end and access.revoked_at is None
    assert not BulkOperation.objects.exists() and not OutboxMessage.objects.exists()


def test_on_the_buyers_list_an_action_applies_to_their_accesses_not_revoked(
    staff, django_capture_on_commit_callbacks
):
    ann, bob = BuyerFactory(), BuyerFactory()
    ann_live = accesses(2, buyer=ann)
    [ann_revoked] = accesses(1, buyer=ann, revoked_at=timezone.now())
    [bob_live] = accesses(1, buyer=bob)
    data = {"action": "extend", "days": "1", "scope": "selected", "selected": [ann.code]}
    page = staff.post(reverse("buyers:bulk"), data).content.decode()
    assert "Extend 2 accesses by 1 days each." in page and "of 1 buyer." in page
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("buyers:bulk"), {**data, "expected": "2", "confirm": "1"})
    operation = BulkOperation.objects.get()
    assert sorted(operation.targets) == sorted(a.pk for a in ann_live)
    assert ann_revoked.pk not in operation.targets and bob_live.pk not in operation.targets


def test_undo_from_the_progress_page_restores_the_batch(staff, django_capture_on_commit_callbacks):
    rows = accesses(2)
    before = ends(rows)
    data = {"action": "extend", "days": "3", "scope": "selected"}
    data["selected"] = [access.code for access in rows]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("accesses:bulk"), {**data, "expected": "2", "confirm": "1"})
    operation = BulkOperation.objects.get()
    page = staff.get(response["Location"]).content.decode()
    assert 'data-testid="bulk-undo"' in page
    with django_capture_on_commit_callbacks(execute=True):
        undone = staff.post(reverse("accesses:bulk_undo", args=[operation.code]))
    undo = BulkOperation.objects.get(action=Action.UNDO)
    assert undone["Location"] == reverse("accesses:bulk_detail", args=[undo.code])
    assert ends(Access.objects.all()) == before
    page = staff.get(reverse("accesses:bulk_detail", args=[operation.code])).content.decode()
    assert "Undone by" in page and undo.code in page
    again = staff.post(reverse("accesses:bulk_undo", args=[operation.code]), follow=True)
    assert "Not undone: This operation was undone already." in again.content.decode()


def test_undo_after_a_day_is_refused_on_the_page(staff, staff_user):
    [access] = accesses(1)
    operation = BulkOperation.objects.create(
        action=Action.EXTEND,
        days=1,
        created_by=staff_user,
        state=BulkOperation.State.DONE,
        created_at=timezone.now() - timedelta(days=2),
        targets=[access.pk],
        total=1,
        done_count=1,
    )
    page = staff.get(reverse("accesses:bulk_detail", args=[operation.code])).content.decode()
    assert 'data-testid="bulk-undo"' not in page
    assert "can be undone for 24 hours after it started" in page
    response = staff.post(reverse("accesses:bulk_undo", args=[operation.code]), follow=True)
    assert "Not undone: An operation can be undone for 24 hours" in response.content.decode()
    assert not BulkOperation.objects.filter(action=Action.UNDO).exists()


def test_a_resend_says_it_cannot_be_undone(staff, django_capture_on_commit_callbacks):
    [access] = accesses(1)
    data = {"action": "resend", "scope": "selected", "selected": [access.code]}
    page = staff.post(reverse("accesses:bulk"), data).content.decode()
    assert "this action cannot be undone" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("accesses:bulk"), {**data, "expected": "1", "confirm": "1"})
    page = staff.get(response["Location"]).content.decode()
    assert "re-sending is not undone" in page and 'data-testid="bulk-undo"' not in page


def test_the_progress_page_refreshes_while_waiting_or_running(staff, staff_user):
    operation = BulkOperation.objects.create(
        action=Action.REVOKE, created_by=staff_user, total=4, done_count=1, failed_count=1
    )
    page = staff.get(reverse("accesses:bulk_detail", args=[operation.code])).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page
    assert "Waiting to start" in page and "2 of 4 rows" in page
    assert '<progress class="w-100" id="bulk-progress-bar" max="4" value="2">' in page
    BulkOperation.objects.filter(pk=operation.pk).update(state=BulkOperation.State.RUNNING)
    page = staff.get(reverse("accesses:bulk_detail", args=[operation.code])).content.decode()
    assert "Running" in page and 'http-equiv="refresh"' in page


def test_staff_without_the_permissions_see_no_bulk_actions_and_a_post_is_refused(
    client, user_with_perms
):
    [access] = accesses(1)
    viewer = user_with_perms("buyers.view_access", "buyers.view_buyer")
    client.force_login(viewer)
    page = client.get(reverse("accesses:list")).content.decode()
    assert 'data-testid="bulk-form"' not in page and 'name="selected"' not in page
    data = {"action": "revoke", "scope": "selected", "selected": [access.code], "confirm": "1"}
    assert client.post(reverse("accesses:bulk"), {**data, "expected": "1"}).status_code == 403
    assert client.post(reverse("buyers:bulk"), data).status_code == 403
    # Extending does not let one revoke.
    extender = user_with_perms("buyers.view_access", "buyers.change_access")
    client.force_login(extender)
    page = client.get(reverse("accesses:list")).content.decode()
    assert '<option value="extend">' in page and '<option value="revoke">' not in page
    assert client.post(reverse("accesses:bulk"), {**data, "expected": "1"}).status_code == 403
    assert not BulkOperation.objects.exists()
    access.refresh_from_db()
    assert access.revoked_at is None


def test_undo_needs_the_permission_of_the_action(client, user_with_perms, staff_user):
    [access] = accesses(1)
    operation = BulkOperation.objects.create(
        action=Action.REVOKE,
        created_by=staff_user,
        state=BulkOperation.State.DONE,
        targets=[access.pk],
        total=1,
        done_count=1,
    )
    client.force_login(user_with_perms("buyers.view_access", "buyers.change_access"))
    page = client.get(reverse("accesses:bulk_detail", args=[operation.code])).content.decode()
    assert 'data-testid="bulk-undo"' not in page
    assert client.post(reverse("accesses:bulk_undo", args=[operation.code])).status_code == 403


def test_exports_leave_out_the_checkbox_column(staff):
    accesses(1)
    response = staff.get(reverse("accesses:list") + "?export=csv")
    header = b"".join(response.streaming_content).decode().splitlines()[0]
    assert "Choose" not in header and header.startswith("Code,")


def test_the_operations_list_finds_an_operation_again(
    staff, staff_user, django_assert_max_num_queries
):
    for action in (Action.EXTEND, Action.REVOKE, Action.RESEND):
        BulkOperation.objects.create(action=action, days=2, created_by=staff_user, total=1)
    BulkOperation.objects.create(
        action=Action.IMPORT, state=BulkOperation.State.PREVIEW, created_by=staff_user
    )
    with django_assert_max_num_queries(12):
        page = staff.get(reverse("accesses:bulk_list")).content.decode()
    codes = BulkOperation.objects.exclude(action=Action.IMPORT).values_list("code", flat=True)
    assert all(reverse("accesses:bulk_detail", args=[code]) in page for code in codes)
    preview = BulkOperation.objects.get(action=Action.IMPORT)
    assert preview.code not in page  # a preview never confirmed is not an operation
    revokes = staff.get(reverse("accesses:bulk_list"), {"action": "revoke"}).content.decode()
    shown = [code for code in codes if code in revokes]
    assert shown == [BulkOperation.objects.get(action=Action.REVOKE).code]
