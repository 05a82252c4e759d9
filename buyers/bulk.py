"""Bulk actions on accesses (extend by N days, revoke, re-send the access e-mail), the undo of
a whole batch, and the buyers CSV import: each a BulkOperation run in the background.

Starting one writes the operation and an outbox message in one transaction (a broker that is
down only delays it); the message hands the operation to a Celery task, which works through its
targets in chunks of BULK_CHUNK_SIZE, each chunk one transaction that also advances the
operation's counts: the progress page reads them, and a task run twice or restarted after a
killed worker carries on where the last committed chunk ended. Every change goes through the
services the single actions use (buyers/services.py), and each access changed is a BulkItem with
its state before and after, which is what an undo checks and restores.
"""

import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext

from core import audit, outbox

from . import errors, imports, services
from .imports import ImportRow, check_rows
from .models import Access, BulkItem, BulkOperation

Action = BulkOperation.Action
State = BulkOperation.State

OPERATION_MESSAGE = "buyers.bulk_operation"
ACCESS_ACTIONS = (Action.EXTEND, Action.REVOKE, Action.RESEND)
UNDOABLE = (Action.EXTEND, Action.REVOKE)


def _stamp(value: datetime | None) -> str | None:
    """A time as the items keep it: UTC ISO 8601, so two readings of one value compare equal."""
    return value.astimezone(UTC).isoformat() if value is not None else None


def _shown(stamp: str | None) -> str:
    if stamp is None:
        return gettext("no end")
    return date_format(timezone.localtime(parse_datetime(stamp)), "Y-m-d H:i")


# --- Starting -----------------------------------------------------------------------------------


def check_days(days) -> int:
    """N of "extend by N days": a whole number from 1 to BULK_EXTEND_MAX_DAYS."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise errors.InvalidBulkDays()
    if not 1 <= days <= settings.BULK_EXTEND_MAX_DAYS:
        raise errors.InvalidBulkDays(
            gettext("Give the number of days to extend by: a whole number from 1 to %(most)s.")
            % {"most": f"{settings.BULK_EXTEND_MAX_DAYS:,}"}
        )
    return days


def check_selection(count: int) -> None:
    if count == 0:
        raise errors.NothingSelected()
    if count > settings.BULK_ACTION_LIMIT:
        raise errors.TooManyRows(
            gettext(
                "More than %(limit)s rows are chosen: narrow the filter, or act on them in parts."
            )
            % {"limit": f"{settings.BULK_ACTION_LIMIT:,}"}
        )


def _queue(operation: BulkOperation) -> None:
    outbox.enqueue(OPERATION_MESSAGE, {"operation_id": operation.pk}, key=f"bulk:{operation.code}")


@transaction.atomic
def start_operation(
    *,
    action: str,
    access_ids,
    started_by,
    days: int | None = None,
    source_list: str = "",
    filter_text: str = "",
    filter_query: str = "",
) -> BulkOperation:
    """Record a bulk action on these accesses and queue it (run after the commit). Refused,
    with nothing written, for no rows, more than BULK_ACTION_LIMIT, or a bad N of days."""
    if action not in ACCESS_ACTIONS:
        raise errors.InvalidBulkAction()
    ids = sorted(set(access_ids))
    check_selection(len(ids))
    days = check_days(days) if action == Action.EXTEND else None
    operation = BulkOperation.objects.create(
        action=action,
        days=days,
        created_by=started_by,
        source_list=source_list,
        filter_text=filter_text,
        filter_query=filter_query,
        targets=ids,
        total=len(ids),
    )
    _queue(operation)
    return operation


def undo_deadline(operation: BulkOperation) -> datetime:
    return operation.created_at + timedelta(hours=settings.BULK_UNDO_HOURS)


def undo_refusal(operation: BulkOperation, *, now=None) -> errors.BuyerError | None:
    """Why this operation cannot be undone now, or None when it can."""
    now = now or timezone.now()
    if operation.action not in UNDOABLE:
        if operation.action == Action.RESEND:
            return errors.UndoNotPossible(
                gettext("An e-mail that was sent cannot be taken back: re-sending is not undone.")
            )
        return errors.UndoNotPossible()
    if not operation.is_finished:
        return errors.UndoNotPossible(gettext("Wait until the operation has finished."))
    if BulkOperation.objects.filter(undoes=operation).exists():
        return errors.UndoNotPossible(gettext("This operation was undone already."))
    if now > undo_deadline(operation):
        return errors.UndoTooLate(
            ngettext(
                "An operation can be undone for %(hours)d hour after it started; this one is "
                "older.",
                "An operation can be undone for %(hours)d hours after it started; this one is "
                "older.",
                settings.BULK_UNDO_HOURS,
            )
            % {"hours": settings.BULK_UNDO_HOURS}
        )
    if not operation.done_count:
        return errors.UndoNotPossible(gettext("This operation changed nothing."))
    return None


@transaction.atomic
def start_undo(*, operation: BulkOperation, started_by) -> BulkOperation:
    """Queue the undo of every change `operation` made; refused (nothing written) when it is
    not undoable: a re-send, not finished, already undone, or older than BULK_UNDO_HOURS. An
    access changed since the operation is left as it is and named in the undo's failures."""
    operation = BulkOperation.objects.select_for_update().get(pk=operation.pk)
    refusal = undo_refusal(operation)
    if refusal is not None:
        raise refusal
    items = list(operation.items.filter(done=True).order_by("pk").values_list("pk", flat=True))
    try:
        with transaction.atomic():
            undo = BulkOperation.objects.create(
                action=Action.UNDO,
                undoes=operation,
                created_by=started_by,
                source_list=operation.source_list,
                filter_text=operation.filter_text,
                filter_query=operation.filter_query,
                targets=items,
                total=len(items),
            )
    except IntegrityError:  # another undo of it was started meanwhile
        raise errors.UndoNotPossible(gettext("This operation was undone already.")) from None
    _queue(undo)
    return undo


def record_import(*, good_rows: list[ImportRow], bad_count: int, started_by) -> BulkOperation:
    """Keep a previewed file's good rows until staff confirm the import (`start_import`); the
    same person's earlier preview that was never confirmed is forgotten (it held only a copy of
    a file)."""
    BulkOperation.objects.filter(
        action=Action.IMPORT, state=State.PREVIEW, created_by=started_by
    ).delete()
    return BulkOperation.objects.create(
        action=Action.IMPORT,
        state=State.PREVIEW,
        created_by=started_by,
        source_list="buyers",
        filter_text=ngettext(
            "%(count)d bad row left out at the preview",
            "%(count)d bad rows left out at the preview",
            bad_count,
        )
        % {"count": bad_count},
        targets=[[row.line, row.email, row.phone, row.name] for row in good_rows],
        total=len(good_rows),
    )


@transaction.atomic
def start_import(*, operation: BulkOperation) -> BulkOperation:
    """Queue a previewed import (once: a second confirmation changes nothing)."""
    operation = BulkOperation.objects.select_for_update().get(pk=operation.pk)
    if operation.action != Action.IMPORT or operation.state != State.PREVIEW:
        return operation
    if not operation.total:
        raise errors.NothingSelected(gettext("The file has no good rows to import."))
    operation.state = State.QUEUED
    operation.created_at = operation.updated_at = timezone.now()
    operation.save(update_fields=["state", "created_at", "updated_at"])
    _queue(operation)
    return operation


# --- Running ------------------------------------------------------------------------------------


def hand_to_worker(payload: dict) -> None:
    """The outbox handler: ask a worker to run the operation. A broker that refuses raises, so
    the outbox keeps the message and tries again."""
    from .tasks import run_bulk_operation  # tasks import this module

    run_bulk_operation.apply_async((payload["operation_id"],), retry=False)


def run_operation(operation_id: int) -> BulkOperation | None:
    """Work through the operation's targets, a chunk per transaction, until all are done. Safe
    to run twice at once or again after a crash: each chunk locks the operation and starts where
    the counts say the last committed chunk ended."""
    operation = BulkOperation.objects.filter(pk=operation_id).first()
    if operation is None or operation.state in (State.PREVIEW, State.DONE):
        return operation
    targets = operation.targets
    size = max(1, settings.BULK_CHUNK_SIZE)
    while True:
        with transaction.atomic():
            # The targets were read once above: a 100,000-row import's are megabytes.
            operation = (
                BulkOperation.objects.select_for_update().defer("targets").get(pk=operation_id)
            )
            if operation.state == State.DONE:
                return operation
            start = operation.processed
            if start >= operation.total:
                operation.state = State.DONE
                operation.finished_at = timezone.now()
                operation.save(update_fields=["state", "finished_at"])
                return operation
            operation.state = State.RUNNING
            # The trail's entries of one operation share its batch (its undo's have their own).
            with audit.in_batch(uuid.uuid5(uuid.NAMESPACE_URL, f"bulk:{operation.code}")):
                done, failed = CHUNK_RUNNERS[operation.action](
                    operation, targets[start : start + size]
                )
            operation.done_count += done
            operation.failed_count += failed
            operation.updated_at = timezone.now()
            operation.save(update_fields=["state", "done_count", "failed_count", "updated_at"])


def stalled_operations(*, now=None) -> list[int]:
    """Operations started (or confirmed) but not done whose last chunk is older than
    BULK_STALLED_MINUTES: their worker died, or the broker lost the task."""
    now = now or timezone.now()
    before = now - timedelta(minutes=settings.BULK_STALLED_MINUTES)
    return list(
        BulkOperation.objects.filter(
            state__in=[State.QUEUED, State.RUNNING], updated_at__lt=before
        ).values_list("pk", flat=True)
    )


def _locked_accesses(ids) -> dict[int, Access]:
    accesses = Access.objects.select_for_update().filter(pk__in=list(ids)).order_by("pk")
    return {access.pk: access for access in accesses.select_related("buyer", "subscription")}


def _each_access(operation, ids, change) -> tuple[int, int]:
    """Call `change(access)` (it answers before, after) for each access, in a savepoint each, and
    record an item per access: done, or failed with the service's refusal."""
    accesses = _locked_accesses(ids)
    items, done = [], 0
    for access_id in ids:
        access = accesses.get(access_id)
        item = BulkItem(operation=operation, access_id=access_id)
        try:
            with transaction.atomic():
                item.before, item.after = change(access)
        except errors.BuyerError as refusal:
            item.message = refusal.message
        else:
            item.done = True
            done += 1
        items.append(item)
    BulkItem.objects.bulk_create(items)
    return done, len(items) - done


def _extend_chunk(operation, ids):
    days = timedelta(days=operation.days)

    def extend(access):
        if access.revoked_at is not None:
            raise errors.AccessRevoked()
        if access.access_expire is None:
            raise errors.AccessHasNoEnd()
        before = access.access_expire
        try:
            later = before + days
        except OverflowError:
            raise errors.AccessWindowOutOfRange() from None
        access = services.update_access(access=access, access_expire=later)
        return {"access_expire": _stamp(before)}, {"access_expire": _stamp(access.access_expire)}

    return _each_access(operation, ids, extend)


def _revoke_chunk(operation, ids):
    def revoke(access):
        if access.revoked_at is not None:
            raise errors.AccessRevoked(gettext("This access was revoked already."))
        access = services.revoke_access(access=access, revoked_by=operation.created_by)
        return {"revoked_at": None}, {"revoked_at": _stamp(access.revoked_at)}

    return _each_access(operation, ids, revoke)


def _resend_chunk(operation, ids):
    def resend(access):
        services.resend_access_email(access=access, event=operation.code)
        return {}, {"email": access.buyer.email}

    return _each_access(operation, ids, resend)


def _undo_chunk(operation, item_ids):
    originals = {
        item.pk: item for item in BulkItem.objects.filter(pk__in=list(item_ids), done=True)
    }
    accesses = _locked_accesses(item.access_id for item in originals.values())
    action = operation.undoes.action
    items, done = [], 0
    for item_id in item_ids:
        original = originals[item_id]
        access = accesses[original.access_id]
        item = BulkItem(operation=operation, access=access, reverts=original)
        try:
            with transaction.atomic():
                item.before, item.after = _revert(action, access, original)
        except errors.BuyerError as refusal:
            item.message = refusal.message
        else:
            item.done = True
            done += 1
        items.append(item)
    BulkItem.objects.bulk_create(items)
    return done, len(items) - done


def _revert(action, access: Access, original: BulkItem):
    """Put one access back as `original` found it, if nothing changed it since."""
    if action == Action.EXTEND:
        now_expire = _stamp(access.access_expire)
        if access.revoked_at is not None:
            raise errors.ChangedSince(gettext("Changed since: it was revoked."))
        if now_expire != original.after["access_expire"]:
            raise errors.ChangedSince(
                gettext("Changed since: it now expires %(now)s, not %(then)s.")
                % {"now": _shown(now_expire), "then": _shown(original.after["access_expire"])}
            )
        earlier = parse_datetime(original.before["access_expire"])
        access = services.update_access(access=access, access_expire=earlier)
        return {"access_expire": now_expire}, {"access_expire": _stamp(access.access_expire)}
    now_revoked = _stamp(access.revoked_at)
    if now_revoked != original.after["revoked_at"]:
        raise errors.ChangedSince(gettext("Changed since: it was given back already."))
    services.restore_access(access=access)
    return {"revoked_at": now_revoked}, {"revoked_at": None}


def _import_chunk(operation, rows):
    """Write a chunk of the previewed good rows; a row that became bad since (a buyer with the
    same e-mail added meanwhile) is left out and recorded with the reason."""
    checked = check_rows([ImportRow(line, email, phone, name) for line, email, phone, name in rows])
    failures = [
        BulkItem(operation=operation, line=row.line, message=row.error) for row in checked.bad
    ]
    done = 0
    try:
        with transaction.atomic():
            done = len(imports.import_buyers(rows=checked.good))
    except (errors.BuyerError, IntegrityError):
        # Someone wrote one of these contacts since the check: each row on its own.
        for row in checked.good:
            try:
                with transaction.atomic():
                    imports.import_buyers(rows=[row])
            except (errors.BuyerError, IntegrityError) as refusal:
                message = getattr(refusal, "message", "") or gettext(
                    "A buyer with this e-mail or phone was added meanwhile."
                )
                failures.append(BulkItem(operation=operation, line=row.line, message=message))
            else:
                done += 1
    BulkItem.objects.bulk_create(failures)
    return done, len(failures)


CHUNK_RUNNERS = {
    Action.EXTEND: _extend_chunk,
    Action.REVOKE: _revoke_chunk,
    Action.RESEND: _resend_chunk,
    Action.UNDO: _undo_chunk,
    Action.IMPORT: _import_chunk,
}
