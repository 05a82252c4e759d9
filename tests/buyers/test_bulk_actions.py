"""Bulk actions on accesses: extend by N days, revoke, re-send the access e-mail, run in the
background in chunks through the same services as the single actions; one click undoes a whole
batch within a day, leaving (and naming) the accesses changed since."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from buyers import bulk, errors, notifications, services, tasks
from buyers.models import Access, BulkItem, BulkOperation, SentEmail
from core.models import OutboxMessage

from .factories import AccessFactory, BuyerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

Action = BulkOperation.Action


def live_accesses(count, **fields):
    subscription = SubscriptionFactory()
    end = timezone.now() + timedelta(days=10)
    return [
        AccessFactory(subscription=subscription, access_expire=end, **fields) for _ in range(count)
    ]


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Start an operation and let the outbox hand it to the (eager) worker after the commit."""

    def start(function, **arguments):
        with django_capture_on_commit_callbacks(execute=True):
            operation = function(**arguments)
        operation.refresh_from_db()
        return operation

    return start


def test_extend_moves_every_chosen_end_by_n_days_in_chunks(run, staff_user, settings):
    settings.BULK_CHUNK_SIZE = 2
    accesses = live_accesses(5)
    ends = {access.pk: access.access_expire for access in accesses}
    operation = run(
        bulk.start_operation,
        action=Action.EXTEND,
        access_ids=[access.pk for access in accesses],
        days=7,
        started_by=staff_user,
    )
    assert operation.state == BulkOperation.State.DONE
    assert (operation.total, operation.done_count, operation.failed_count) == (5, 5, 0)
    for access in Access.objects.filter(pk__in=ends):
        assert access.access_expire == ends[access.pk] + timedelta(days=7)
    assert BulkItem.objects.filter(operation=operation, done=True).count() == 5


def test_extend_leaves_revoked_and_endless_accesses_and_says_why(run, staff_user):
    good, revoked = live_accesses(2)
    services.revoke_access(access=revoked)
    endless = AccessFactory(access_expire=None)
    operation = run(
        bulk.start_operation,
        action=Action.EXTEND,
        access_ids=[good.pk, revoked.pk, endless.pk],
        days=1,
        started_by=staff_user,
    )
    assert (operation.done_count, operation.failed_count) == (1, 2)
    reasons = dict(operation.items.filter(done=False).values_list("access_id", "message"))
    assert reasons == {
        revoked.pk: "This access is revoked and can no longer be changed.",
        endless.pk: "This access has no end date: there is nothing to extend.",
    }


def test_revoke_then_undo_gives_each_access_back_as_it_was(run, staff_user):
    accesses = live_accesses(3)
    operation = run(
        bulk.start_operation,
        action=Action.REVOKE,
        access_ids=[access.pk for access in accesses],
        started_by=staff_user,
    )
    assert Access.objects.filter(revoked_at__isnull=False, revoked_by=staff_user).count() == 3
    undo = run(bulk.start_undo, operation=operation, started_by=staff_user)
    assert (undo.action, undo.undoes, undo.done_count, undo.failed_count) == (
        Action.UNDO,
        operation,
        3,
        0,
    )
    for access in accesses:
        before = (access.hash, access.access_expire)
        access.refresh_from_db()
        assert access.revoked_at is None and access.revoked_by is None
        assert (access.hash, access.access_expire) == before


def test_undo_of_extend_shortens_back_and_names_accesses_changed_since(run, staff_user):
    first, changed, revoked = live_accesses(3)
    ends = {access.pk: access.access_expire for access in (first, changed, revoked)}
    operation = run(
        bulk.start_operation,
        action=Action.EXTEND,
        access_ids=list(ends),
        days=30,
        started_by=staff_user,
    )
    later = timezone.now() + timedelta(days=90)
    services.update_access(access=changed, access_expire=later)
    services.revoke_access(access=revoked)

    undo = run(bulk.start_undo, operation=operation, started_by=staff_user)
    assert (undo.done_count, undo.failed_count) == (1, 2)
    first.refresh_from_db()
    changed.refresh_from_db()
    assert first.access_expire == ends[first.pk]
    assert changed.access_expire == later  # a later change is kept
    reasons = dict(undo.items.filter(done=False).values_list("access_id", "message"))
    assert reasons[changed.pk].startswith("Changed since: it now expires")
    assert reasons[revoked.pk] == "Changed since: it was revoked."


def test_undo_is_refused_after_a_day_and_changes_nothing(run, staff_user):
    [access] = live_accesses(1)
    operation = run(
        bulk.start_operation,
        action=Action.EXTEND,
        access_ids=[access.pk],
        days=3,
        started_by=staff_user,
    )
    BulkOperation.objects.filter(pk=operation.pk).update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    operation.refresh_from_db()
    access.refresh_from_db()
    extended = access.access_expire
    with pytest.raises(errors.UndoTooLate, match="24 hours"):
        bulk.start_undo(operation=operation, started_by=staff_user)
    access.refresh_from_db()
    assert access.access_expire == extended
    assert BulkOperation.objects.filter(action=Action.UNDO).count() == 0


def test_an_operation_is_undone_once_and_a_resend_never(run, staff_user):
    [access] = live_accesses(1)
    operation = run(
        bulk.start_operation, action=Action.REVOKE, access_ids=[access.pk], started_by=staff_user
    )
    run(bulk.start_undo, operation=operation, started_by=staff_user)
    with pytest.raises(errors.UndoNotPossible, match="undone already"):
        bulk.start_undo(operation=operation, started_by=staff_user)
    resend = run(
        bulk.start_operation, action=Action.RESEND, access_ids=[access.pk], started_by=staff_user
    )
    with pytest.raises(errors.UndoNotPossible, match="cannot be taken back"):
        bulk.start_undo(operation=resend, started_by=staff_user)


def test_resend_mails_the_access_email_again_once_per_operation(run, staff_user):
    subscription = SubscriptionFactory()
    with_email = AccessFactory(subscription=subscription, buyer=BuyerFactory(email="a@example.com"))
    no_email = AccessFactory(
        subscription=subscription, buyer=BuyerFactory(email="", phone="+44 20 7946 0001")
    )
    operation = run(
        bulk.start_operation,
        action=Action.RESEND,
        access_ids=[with_email.pk, no_email.pk],
        started_by=staff_user,
    )
    assert (operation.done_count, operation.failed_count) == (1, 1)
    [email] = mail.outbox
    assert email.to == ["a@example.com"] and with_email.hash in email.body
    assert SentEmail.objects.get().kind == SentEmail.Kind.ACCESS_GRANTED
    # The same e-mail delivered again (a redelivered message) is not mailed twice.
    assert not notifications.send_access_email_again(with_email.pk, operation.code)
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("days", "error"),
    [(0, errors.InvalidBulkDays), (-3, errors.InvalidBulkDays), (10**9, errors.InvalidBulkDays)],
)
def test_a_bad_number_of_days_is_refused_and_writes_nothing(staff_user, days, error):
    [access] = live_accesses(1)
    with pytest.raises(error):
        bulk.start_operation(
            action=Action.EXTEND, access_ids=[access.pk], days=days, started_by=staff_user
        )
    assert not BulkOperation.objects.exists() and not OutboxMessage.objects.exists()


def test_no_rows_or_more_than_the_limit_is_refused(staff_user, settings):
    settings.BULK_ACTION_LIMIT = 2
    accesses = live_accesses(3)
    with pytest.raises(errors.NothingSelected):
        bulk.start_operation(action=Action.REVOKE, access_ids=[], started_by=staff_user)
    with pytest.raises(errors.TooManyRows, match="More than 2 rows"):
        bulk.start_operation(
            action=Action.REVOKE, access_ids=[a.pk for a in accesses], started_by=staff_user
        )
    assert not BulkOperation.objects.exists()
    assert not Access.objects.filter(revoked_at__isnull=False).exists()


def test_an_interrupted_operation_resumes_after_its_last_chunk(staff_user, settings):
    settings.BULK_CHUNK_SIZE = 2
    accesses = live_accesses(5)
    ends = {access.pk: access.access_expire for access in accesses}
    operation = bulk.start_operation(  # no commit callbacks: the worker never got it
        action=Action.EXTEND, access_ids=list(ends), days=1, started_by=staff_user
    )
    first_chunk = bulk.CHUNK_RUNNERS[Action.EXTEND]
    calls = []

    def dies_on_second_chunk(operation, ids):
        calls.append(ids)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return first_chunk(operation, ids)

    settings_runners = dict(bulk.CHUNK_RUNNERS)
    bulk.CHUNK_RUNNERS[Action.EXTEND] = dies_on_second_chunk
    try:
        with pytest.raises(RuntimeError):
            bulk.run_operation(operation.pk)
    finally:
        bulk.CHUNK_RUNNERS.update(settings_runners)
    operation.refresh_from_db()
    assert (operation.state, operation.done_count) == (BulkOperation.State.RUNNING, 2)
    bulk.run_operation(operation.pk)
    operation.refresh_from_db()
    assert (operation.state, operation.done_count) == (BulkOperation.State.DONE, 5)
    for access in Access.objects.filter(pk__in=ends):  # each moved once
        assert access.access_expire == ends[access.pk] + timedelta(days=1)


def test_the_beat_job_resumes_an_operation_whose_worker_died(staff_user):
    stalled_rows, fresh_rows = live_accesses(2), live_accesses(1)
    stalled = bulk.start_operation(  # no commit callbacks: never handed to a worker
        action=Action.REVOKE, access_ids=[a.pk for a in stalled_rows], started_by=staff_user
    )
    fresh = bulk.start_operation(
        action=Action.REVOKE, access_ids=[a.pk for a in fresh_rows], started_by=staff_user
    )
    BulkOperation.objects.filter(pk=stalled.pk).update(
        updated_at=timezone.now() - timedelta(minutes=11)
    )
    assert tasks.resume_stalled_bulk_operations() == 1
    stalled.refresh_from_db()
    fresh.refresh_from_db()
    assert (stalled.state, stalled.done_count) == (BulkOperation.State.DONE, 2)
    assert fresh.state == BulkOperation.State.QUEUED  # its worker may still take it


def test_beat_schedule_resumes_stalled_operations(settings):
    tasks_scheduled = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "buyers.tasks.resume_stalled_bulk_operations" in tasks_scheduled


def test_undo_of_a_revoke_leaves_an_access_the_buyer_replaced_meanwhile(run, staff_user):
    [access] = live_accesses(1)
    operation = run(
        bulk.start_operation, action=Action.REVOKE, access_ids=[access.pk], started_by=staff_user
    )
    newer = services.grant_access(subscription=access.subscription, buyer=access.buyer)
    undo = run(bulk.start_undo, operation=operation, started_by=staff_user)
    assert (undo.done_count, undo.failed_count) == (0, 1)
    [item] = undo.items.all()
    assert item.message == (
        f"The buyer has another live access to this subscription now ({newer.code})."
    )
    access.refresh_from_db()
    assert access.revoked_at is not None  # two live accesses would be one too many


def test_a_re_sent_access_email_is_written_in_the_buyer_s_language(run, staff_user):
    subscription = SubscriptionFactory(name="Yoga")
    access = AccessFactory(
        subscription=subscription, buyer=BuyerFactory(email="r@example.com", language="ru")
    )
    run(bulk.start_operation, action=Action.RESEND, access_ids=[access.pk], started_by=staff_user)
    [email] = mail.outbox
    assert "Yoga" in email.subject and "Your access" not in email.subject
