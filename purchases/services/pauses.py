"""Pausing and resuming a recurring contract (staff pages, the JSON API, the buyers' page).

While a contract is paused (status PAUSED) the renewal engine, dunning and reminders pass it by
(they select active or past-due contracts only) and its access has ended at the pause's start,
so the access check answers "no access". Resuming moves the next bill date, and the anchor the
later periods are counted from, by the time the contract was paused: the unused part of the
period is kept to the second (elapsed time, so a DST change neither gains nor loses an hour). A
date the pause ends on is read in the shop's time zone (the pause ends at 00:00 that day); a
pause for N periods ends N periods later on the shop's calendar. A pause moves no money: it writes
no journal row.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from buyers.models import Access
from core import audit, events

from .. import errors
from ..models import ContractPause, ContractTransaction, RecurringContract
from ..notifications import CONTRACT_PAUSED, CONTRACT_RESUMED, queue_renewal_emails
from ..recurrence import access_end_of_contract, period_end

NOW = "now"
PERIOD_END = "period_end"
STARTS = (NOW, PERIOD_END)


def max_pause() -> int:
    return settings.CONTRACT_MAX_PAUSE_DAYS


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _after_days(moment: datetime, days: int) -> datetime:
    """`moment` plus `days` on the shop's calendar (the same wall-clock time, across a DST
    change)."""
    local = timezone.localtime(moment)
    naive = local.replace(tzinfo=None) + timedelta(days=days)
    return timezone.make_aware(naive)


def _after_periods(contract: RecurringContract, moment: datetime, periods: int) -> datetime:
    local = timezone.localtime(moment).replace(tzinfo=None)
    return timezone.make_aware(period_end(contract, local, periods))


@dataclass(frozen=True)
class PausePlan:
    starts_at: datetime
    ends_at: datetime
    open_ended: bool
    periods: int | None


def plan_pause(
    *, contract: RecurringContract, start: str, until=None, periods=None, now=None
) -> PausePlan:
    """When a pause asked this way would start and end, or the refusal (writes nothing)."""
    now = now or timezone.now()
    if contract.status in (RecurringContract.Status.CANCELLED, RecurringContract.Status.EXPIRED):
        raise errors.ContractEnded()
    if contract.status == RecurringContract.Status.PAUSED:
        raise errors.ContractAlreadyPaused()
    if contract.status == RecurringContract.Status.PAST_DUE:
        raise errors.ContractPastDue()
    if contract.cancel_at_period_end:
        raise errors.ContractStopping()
    # Also a charge whose worker outlived its lease: its outcome is not recorded yet.
    if (contract.claimed_until and contract.claimed_until > now) or contract.transactions.filter(
        status=ContractTransaction.Status.PENDING
    ).exists():
        raise errors.RenewalInFlight()
    if max_pause() < 1:
        raise errors.PauseTooLong(_("This shop does not allow pausing subscriptions."), field=None)
    if start not in STARTS:
        raise errors.InvalidPauseStart()
    if until is not None and periods is not None:
        raise errors.InvalidPauseLength(
            _("Pause for a number of periods or until a date, not both."), field="until"
        )
    # A bill already due (the engine has not run yet) is not charged: the pause starts now.
    starts_at = max(now, contract.next_bill_date) if start == PERIOD_END else now
    limit = _after_days(starts_at, max_pause())
    if periods is not None:
        if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
            raise errors.InvalidPauseLength()
        ends_at, field = _after_periods(contract, starts_at, periods), "periods"
    elif until is not None:
        if isinstance(until, datetime):
            ends_at = until if timezone.is_aware(until) else timezone.make_aware(until)
        elif isinstance(until, date):
            ends_at = _local_midnight(until)
        else:
            raise errors.PauseDateInPast(_("Give the date the pause ends on."))
        field = "until"
        if ends_at <= now:
            raise errors.PauseDateInPast(_("This date is in the past: choose a later one."))
        if ends_at <= starts_at:
            raise errors.PauseDateInPast(
                _("The pause starts at the period's end, on %(start)s: choose a later date.")
                % {"start": f"{timezone.localtime(starts_at):%Y-%m-%d %H:%M}"}
            )
    else:
        return PausePlan(starts_at, limit, True, None)
    if ends_at > limit:
        raise errors.PauseTooLong(
            str(errors.PauseTooLong.message) % {"days": max_pause()}, field=field, days=max_pause()
        )
    return PausePlan(starts_at, ends_at, False, periods)


# A pause's and a resume's entries in the audit trail.
PAUSE_FIELDS = ("status", "paused_from", "resume_at", "next_bill_date")


def pause_contract(
    *,
    contract: RecurringContract,
    start: str = NOW,
    until: date | datetime | None = None,
    periods: int | None = None,
    by=None,
    by_buyer: bool = False,
    now=None,
) -> RecurringContract:
    """Pause a running contract now or at its period's end, for `periods` periods, until
    `until` (a date: 00:00 that day in the shop's time zone) or open-ended (resumed by the job
    after CONTRACT_MAX_PAUSE_DAYS). Nothing is charged and the access ends while it is paused.
    Refuses an ended, paused, past-due or stopping contract, one whose renewal is being charged,
    a date in the past, fewer than one period and a pause longer than the limit."""
    now = now or timezone.now()
    with transaction.atomic():
        contract = RecurringContract.objects.select_for_update().get(pk=contract.pk)
        before = audit.snapshot(contract, PAUSE_FIELDS)
        plan = plan_pause(contract=contract, start=start, until=until, periods=periods, now=now)
        pause = ContractPause.objects.create(
            contract=contract,
            starts_at=plan.starts_at,
            ends_at=plan.ends_at,
            open_ended=plan.open_ended,
            periods=plan.periods,
            next_bill_before=contract.next_bill_date,
            created_at=now,
            created_by=by,
            by_buyer=by_buyer,
        )
        contract.status = RecurringContract.Status.PAUSED
        contract.paused_from, contract.resume_at = plan.starts_at, plan.ends_at
        contract.save(update_fields=["status", "paused_from", "resume_at"])
        audit.record("paused", contract, before=before)
        # No access while paused: it ends where the pause starts (no renewal grace), or just
        # after its own start when that is later (an access ends after it starts).
        access = Access.objects.only("access_start").get(pk=contract.access_id)
        end = plan.starts_at
        if access.access_start and access.access_start >= end:
            end = access.access_start + timedelta(seconds=1)
        Access.objects.filter(
            Q(access_expire__isnull=True) | Q(access_expire__gt=end), pk=contract.access_id
        ).update(access_expire=end)
        key = f"contract-paused:{contract.code}:{pause.pk}"
        queue_renewal_emails([(CONTRACT_PAUSED, contract.pk, key)])
        events.publish(
            "contract.paused",
            _for_event(contract),
            key=f"contract.paused:{contract.code}:{pause.pk}",
        )
    return contract


def resume_contract(
    *,
    contract: RecurringContract,
    by=None,
    by_buyer: bool = False,
    automatically: bool = False,
    now=None,
) -> RecurringContract:
    """Resume a paused contract now: its next bill date (and the anchor of its later periods)
    moves by the time it was paused, so the unused part of its period is kept; its access runs
    again until that bill date plus the renewal grace. Resuming a pause that has not started yet
    (at the period's end) only takes it back. Refuses a contract that is not paused."""
    now = now or timezone.now()
    with transaction.atomic():
        contract = RecurringContract.objects.select_for_update().get(pk=contract.pk)
        if contract.status != RecurringContract.Status.PAUSED:
            if contract.status not in RecurringContract.OPEN_STATUSES:
                raise errors.ContractEnded()
            raise errors.ContractNotPaused()
        before = audit.snapshot(contract, PAUSE_FIELDS)
        paused_for = max(timedelta(0), now - contract.paused_from)
        contract.anchor = _moved_anchor(contract, paused_for)
        contract.next_bill_date += paused_for
        contract.status = RecurringContract.Status.ACTIVE
        contract.paused_from = contract.resume_at = None
        contract.save(
            update_fields=["status", "paused_from", "resume_at", "next_bill_date", "anchor"]
        )
        audit.record("resumed", contract, before=before)
        pause = ContractPause.objects.filter(contract=contract, resumed_at__isnull=True).first()
        if pause is not None:
            pause.resumed_at, pause.resumed_by = now, by
            pause.resumed_by_buyer, pause.resumed_automatically = by_buyer, automatically
            pause.next_bill_after = contract.next_bill_date
            pause.save(
                update_fields=[
                    "resumed_at",
                    "resumed_by",
                    "resumed_by_buyer",
                    "resumed_automatically",
                    "next_bill_after",
                ]
            )
        end = access_end_of_contract(contract.next_bill_date, stopping=False)
        # A revoked access stays revoked: staff took it away on purpose.
        Access.objects.filter(pk=contract.access_id, revoked_at__isnull=True).update(
            access_expire=end
        )
        which = pause.pk if pause is not None else f"{now:%Y%m%d%H%M%S}"
        queue_renewal_emails(
            [(CONTRACT_RESUMED, contract.pk, f"contract-resumed:{contract.code}:{which}")]
        )
        events.publish(
            "contract.resumed",
            _for_event(contract),
            key=f"contract.resumed:{contract.code}:{which}",
        )
    return contract


def _moved_anchor(contract: RecurringContract, paused_for: timedelta) -> datetime:
    """The anchor later periods are counted from once the next bill moved by `paused_for`: the
    moved bill date less the periods paid, so later bills fall on the moved bill's day of the
    month; when a month end makes that not count back to the moved date (the 31st less a
    month is the 28th or 30th), the old anchor moved by the same time."""
    moved_bill = contract.next_bill_date + paused_for
    if not paused_for:
        return contract.anchor
    # Periods are counted from the anchor after the last plan change (period_offset).
    counted = contract.periods_paid - contract.period_offset
    counted_back = period_end(contract, moved_bill, -counted)
    if period_end(contract, counted_back, counted) == moved_bill:
        return counted_back
    return contract.anchor + paused_for


def _for_event(contract: RecurringContract) -> RecurringContract:
    return RecurringContract.objects.select_related(
        "purchase", "buyer", "subscription", "pricing_model"
    ).get(pk=contract.pk)


def resume_due_contracts(*, now=None, batch_size: int = 200) -> int:
    """Resume every contract whose pause has ended by `now` (the beat job); each once, also
    when two workers run at the same time (a worker skips the rows another has locked, and a
    contract resumed meanwhile is no longer paused). Answers how many were resumed."""
    now = now or timezone.now()
    resumed = 0
    while True:
        with transaction.atomic():
            due = list(
                RecurringContract.objects.filter(
                    status=RecurringContract.Status.PAUSED, resume_at__lte=now
                )
                .order_by("resume_at", "pk")
                .select_for_update(skip_locked=True)[:batch_size]
            )
            for contract in due:
                resume_contract(contract=contract, automatically=True, now=now)
            resumed += len(due)
        if len(due) < batch_size:
            return resumed
