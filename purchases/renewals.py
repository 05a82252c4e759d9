"""The renewal engine: charges due recurring contracts exactly once per billing period.

A run repeats three steps over batches until nothing is due:
1. claim: in one transaction, `SELECT … FOR UPDATE SKIP LOCKED` a batch of due contracts (so two
   workers never take the same one), mark them claimed for a lease, and write each one's charge
   attempt as a pending ContractTransaction whose idempotency key names the contract, the period
   and the attempt; commit;
2. charge: outside any transaction, charge the whole batch through each gateway's batch call
   with those keys (a retried key answers the first outcome and never charges twice; a timeout is
   resolved by asking the gateway about the key);
3. record: in one transaction, approve or decline each attempt, move paid contracts to their
   next period (extending the access to the new bill date plus RENEWAL_GRACE_HOURS, so it never
   lapses before the next run has charged), put declined ones past due with a retry date (the
   access lasts until that retry: dunning), expire those out of retries (their access ends now)
   and those stopping at their period's end (their access ends there, with no grace), and
   release the claims.
A worker that dies anywhere leaves contracts claimed until the lease lapses; the next run takes
them again with the same keys, so what was charged is recorded and nothing is charged twice.
On SQLite (no SKIP LOCKED) writers queue on the database lock: one process at a time.
"""

from dataclasses import dataclass, field
from datetime import UTC, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from buyers import errors as buyer_errors
from buyers import services as buyer_services
from buyers.models import Access, WalletEntry
from core import audit, events
from core.bulk import update_rows

from . import errors
from .gateways import get_gateway
from .gateways.base import APPROVED, ChargeRequest, GatewayError, GatewayResult
from .journal import booking as journal
from .models import WALLET, ContractTransaction, Purchase, RecurringContract
from .notifications import CONTRACT_ENDED, RENEWAL_FAILED, RENEWAL_RECEIPT, queue_renewal_emails
from .recurrence import access_end_of_contract, period_end, renewal_grace
from .services import plan_changes


def dunning_days() -> list[int]:
    """Days after each failed attempt before the next one; after the last, the contract ends."""
    return list(settings.RENEWAL_RETRY_DAYS)


def claim_lease() -> timedelta:
    return timedelta(seconds=settings.RENEWAL_CLAIM_SECONDS)


@dataclass
class RenewalRun:
    """What one run did, for logs, the task's result and tests."""

    claimed: int = 0
    renewed: int = 0
    declined: int = 0
    expired: int = 0
    unresolved: int = 0
    batches: int = 0
    renewed_contracts: list = field(default_factory=list, repr=False)


def due_contracts(now):
    """Due contracts in two queries an index each serves (bills of active contracts by bill
    date, retries of past-due ones by retry date), not one OR that scans the table."""
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return (
        RecurringContract.objects.filter(
            unclaimed, status=RecurringContract.Status.ACTIVE, next_bill_date__lte=now
        ).order_by("next_bill_date", "pk"),
        RecurringContract.objects.filter(
            unclaimed, status=RecurringContract.Status.PAST_DUE, next_retry_at__lte=now
        ).order_by("next_retry_at", "pk"),
    )


def renew_due_contracts(*, now=None, batch_size: int = 500, max_batches: int | None = None):
    """Charge every contract due at `now` (default: the clock) once; answers a RenewalRun."""
    run = RenewalRun()
    while max_batches is None or run.batches < max_batches:
        moment = now or timezone.now()
        attempts = claim_batch(now=moment, batch_size=batch_size)
        if not attempts:
            break
        run.batches += 1
        run.claimed += len(attempts)
        answers = charge_batch(attempts)
        record_batch(attempts, answers, now=moment, run=run)
    return run


@dataclass(frozen=True)
class Attempt:
    contract_id: int
    transaction_id: int | None  # None: the contract expires at its period's end instead
    key: str
    payment_type: str
    instrument: str
    amount: object
    currency: str


CLAIM_ATTEMPTS_SQL = """
    INSERT INTO purchases_contracttransaction (
        contract_id, period, attempt, idempotency_key, payment_pref, transaction_date, amount,
        convenience_fee, currency, status, pnref, result_code, response_message, auth_code
    )
    SELECT id, periods_paid + 1, failed_attempts + 1,
           'contract:' || code || ':period:' || (periods_paid + 1)
               || ':attempt:' || (failed_attempts + 1),
           payment_type, %s, amount, 0, currency, 'pending', '', '', '', ''
    FROM purchases_recurringcontract
    WHERE id IN ({ids}) AND NOT cancel_at_period_end
    ON CONFLICT DO NOTHING
"""


def claim_batch(*, now, batch_size: int, only=None) -> list[Attempt]:
    """Claim up to `batch_size` due contracts (of `only`, a queryset, when given) and write their
    pending charge attempts, in set-based statements (no row-by-row work)."""
    with transaction.atomic():
        ids = []
        for due in due_contracts(now):
            if only is not None:
                due = due.filter(pk__in=only.values("pk"))
            room = batch_size - len(ids)
            if room > 0:
                ids += list(
                    due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:room]
                )
        if not ids:
            return []
        RecurringContract.objects.filter(pk__in=ids).update(claimed_until=now + claim_lease())
        # A plan change scheduled for the period's end applies before the charge is written.
        plan_changes.apply_scheduled_changes(ids, now)
        # A pending attempt left by a worker that died is kept as it is: same key, same charge.
        with connection.cursor() as cursor:
            placeholders = ", ".join(["%s"] * len(ids))
            cursor.execute(CLAIM_ATTEMPTS_SQL.format(ids=placeholders), [now, *ids])
        contracts = RecurringContract.objects.filter(pk__in=ids).values_list(
            "pk",
            "code",
            "periods_paid",
            "failed_attempts",
            "cancel_at_period_end",
            "payment_type",
            "instrument",
            "amount",
            "currency",
        )
        plans = []
        for (
            pk,
            code,
            paid,
            failed,
            stopping,
            payment_type,
            instrument,
            amount,
            currency,
        ) in contracts:
            key = "" if stopping else f"contract:{code}:period:{paid + 1}:attempt:{failed + 1}"
            plans.append((pk, key, payment_type, instrument, amount, currency))
        by_key = dict(
            ContractTransaction.objects.filter(
                contract_id__in=ids, status=ContractTransaction.Status.PENDING
            ).values_list("idempotency_key", "pk")
        )
    return [
        Attempt(
            contract_id=pk,
            transaction_id=by_key.get(key) if key else None,
            key=key,
            payment_type=payment_type,
            instrument=instrument,
            amount=amount,
            currency=currency,
        )
        for pk, key, payment_type, instrument, amount, currency in sorted(plans)
    ]


def charge_batch(attempts: list[Attempt]) -> dict:
    """Charge each attempt through its gateway, batched per gateway: {key: GatewayResult | None}.
    None means the outcome is still unknown (the gateway did not answer even to a lookup)."""
    answers: dict = {}
    by_gateway: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        if attempt.transaction_id is None:
            continue
        if attempt.amount == 0:
            answers[attempt.key] = GatewayResult("approved", APPROVED, "Nothing to charge")
        elif attempt.payment_type == WALLET:
            answers[attempt.key] = _charge_wallet(attempt)
        else:
            by_gateway.setdefault(attempt.payment_type, []).append(attempt)
    for name, batch in by_gateway.items():
        gateway = get_gateway(name)
        if gateway is None:
            for attempt in batch:
                answers[attempt.key] = GatewayResult(
                    "declined", "PT", "This payment type is no longer enabled"
                )
            continue
        requests = [ChargeRequest(a.key, a.amount, a.currency, a.instrument) for a in batch]
        try:
            results = gateway.charge_many(requests)
        except GatewayError as failure:
            results = {request.idempotency_key: failure for request in requests}
        for attempt in batch:
            result = results.get(attempt.key)
            if isinstance(result, GatewayError) or result is None:
                # Unknown outcome: ask about the key before anything else is tried.
                try:
                    result = gateway.lookup(idempotency_key=attempt.key)
                except GatewayError:
                    result = None
            answers[attempt.key] = result
    return answers


def _charge_wallet(attempt: Attempt) -> GatewayResult:
    if WalletEntry.objects.filter(reference=attempt.key).exists():
        return GatewayResult("approved", APPROVED, "Paid from the e-wallet")
    contract = RecurringContract.objects.select_related("buyer").get(pk=attempt.contract_id)
    try:
        buyer_services.debit_wallet(
            buyer=contract.buyer,
            amount=attempt.amount,
            currency=attempt.currency,
            reference=attempt.key,
            links={"contract": contract, "renewal_charge_id": attempt.transaction_id},
        )
    except buyer_errors.BuyerError as refusal:
        return GatewayResult("declined", "51", refusal.message[:200])
    return GatewayResult("approved", APPROVED, "Paid from the e-wallet")


APPROVE_CHARGES_SQL = """
    UPDATE purchases_contracttransaction AS t
    SET status = 'approved', pnref = v.pnref, auth_code = v.auth_code,
        result_code = v.result_code, response_message = v.response_message
    FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[])
        AS v(id, pnref, auth_code, result_code, response_message)
    WHERE t.id = v.id
"""
PAY_PERIODS_SQL = """
    UPDATE purchases_recurringcontract AS c
    SET periods_paid = t.period, status = 'active', failed_attempts = 0, next_retry_at = NULL,
        claimed_until = NULL,
        next_bill_date = c.anchor + (t.period - c.period_offset) * CASE c.recurrence_unit
            WHEN 'days' THEN make_interval(days => c.recurrence_count)
            WHEN 'weeks' THEN make_interval(weeks => c.recurrence_count)
            WHEN 'months' THEN make_interval(months => c.recurrence_count)
            ELSE make_interval(years => c.recurrence_count) END
    FROM purchases_contracttransaction AS t
    WHERE t.contract_id = c.id AND t.id = ANY(%s) AND t.status = 'approved'
      AND c.status IN ('active', 'past_due')
    RETURNING c.id, c.code, t.period
"""
# The same rule as `access_end_of_contract`: the grace is given only to a contract that renews.
EXTEND_ACCESSES_SQL = """
    UPDATE buyers_access AS a
    SET access_expire = CASE WHEN c.cancel_at_period_end THEN c.next_bill_date
                             ELSE c.next_bill_date + %s END
    FROM purchases_recurringcontract AS c
    WHERE c.access_id = a.id AND c.id = ANY(%s)
"""


def _record_paid_in_sql(paid: list[Attempt], answers: dict, run: RenewalRun, emails: list):
    """The common case, on PostgreSQL, in three set-based statements: approve the charges, move
    their contracts to the next period (the same month arithmetic as `period_end`, in UTC) and
    extend their accesses to the new bill date plus the grace."""
    results = [answers[attempt.key] for attempt in paid]
    with connection.cursor() as cursor:
        # One array a column, not a model object and a parameter per cell.
        cursor.execute(
            APPROVE_CHARGES_SQL,
            [
                [attempt.transaction_id for attempt in paid],
                [result.pnref for result in results],
                [result.auth_code for result in results],
                [result.result_code for result in results],
                [result.response_message[:200] for result in results],
            ],
        )
        cursor.execute(PAY_PERIODS_SQL, [[attempt.transaction_id for attempt in paid]])
        moved = cursor.fetchall()
        cursor.execute(
            EXTEND_ACCESSES_SQL, [renewal_grace(), [contract_id for contract_id, _, _ in moved]]
        )
    for contract_id, code, period in moved:
        run.renewed += 1
        run.renewed_contracts.append(contract_id)
        emails.append((RENEWAL_RECEIPT, contract_id, f"renewal-receipt:{code}:{period}"))
    # Contracts ended by staff while their charge ran (no cancellation is allowed then, so
    # this is a safety net) keep their end; the update above released the others' claims.
    moved_ids = {contract_id for contract_id, _, _ in moved}
    unmoved = [a.contract_id for a in paid if a.contract_id not in moved_ids]
    if unmoved:
        RecurringContract.objects.filter(pk__in=unmoved).update(claimed_until=None)


def record_batch(attempts: list[Attempt], answers: dict, *, now, run: RenewalRun) -> None:
    """Write what the charges did, in one transaction."""
    retries = dunning_days()
    paid = []  # approved and recorded set-based (PostgreSQL)
    with transaction.atomic():
        emails = []
        # An attempt already recorded (by a worker whose lease lapsed and another took over)
        # is not recorded again: a decline counted twice would skip a dunning step.
        still_pending = set(
            ContractTransaction.objects.filter(
                pk__in=[a.transaction_id for a in attempts if a.transaction_id],
                status=ContractTransaction.Status.PENDING,
            ).values_list("pk", flat=True)
        )
        attempts = [
            a for a in attempts if a.transaction_id is None or a.transaction_id in still_pending
        ]
        if connection.vendor == "postgresql":
            paid = [
                a
                for a in attempts
                if a.transaction_id and answers.get(a.key) and answers[a.key].approved
            ]
            if paid:
                _record_paid_in_sql(paid, answers, run, emails)
                done = {attempt.contract_id for attempt in paid}
                attempts = [a for a in attempts if a.contract_id not in done]
        contracts = {
            c.pk: c
            for c in RecurringContract.objects.select_for_update()
            .select_related("access")
            .filter(pk__in=[a.contract_id for a in attempts])
        }
        transactions = {
            t.pk: t
            for t in ContractTransaction.objects.filter(
                pk__in=[a.transaction_id for a in attempts if a.transaction_id]
            )
        }
        changed_contracts, changed_transactions, changed_accesses, ended_purchases = [], [], [], []
        booked = []  # approved charges' journal rows
        for attempt in attempts:
            contract = contracts[attempt.contract_id]
            access = contract.access
            if contract.status not in RecurringContract.LIVE_STATUSES:
                # Ended by staff meanwhile: keep it ended.
                result = answers.get(attempt.key)
                if attempt.transaction_id and result is not None:
                    charge = transactions[attempt.transaction_id]
                    charge.status = (
                        ContractTransaction.Status.APPROVED
                        if result.approved
                        else ContractTransaction.Status.DECLINED
                    )
                    charge.pnref, charge.auth_code = result.pnref, result.auth_code
                    charge.result_code = result.result_code
                    charge.response_message = result.response_message[:200]
                    changed_transactions.append(charge)
                    if result.approved:  # charged all the same: the money moved
                        booked.append(journal.renewal_entry(charge, contract))
                contract.claimed_until = None
                changed_contracts.append(contract)
                continue
            if attempt.transaction_id is None:  # stops at its period's end
                # Stopping already ended the access at the period's end (a past-due
                # contract's at its retry, which is now); no grace may outlive the contract.
                end = (
                    contract.next_bill_date
                    if contract.status == RecurringContract.Status.ACTIVE
                    else now
                )
                if access.access_expire is None or access.access_expire > end:
                    access.access_expire = end
                    changed_accesses.append(access)
                contract.status, contract.ended_at = RecurringContract.Status.EXPIRED, now
                ended_purchases.append(contract.purchase_id)
                emails.append((CONTRACT_ENDED, contract.pk, f"contract-ended:{contract.code}"))
                run.expired += 1
            else:
                result = answers.get(attempt.key)
                charge = transactions[attempt.transaction_id]
                if result is None:
                    run.unresolved += 1  # claimed until the lease lapses, then tried again
                    continue
                charge.pnref, charge.auth_code = result.pnref, result.auth_code
                charge.result_code = result.result_code
                charge.response_message = result.response_message[:200]
                if result.approved:
                    charge.status = ContractTransaction.Status.APPROVED
                    booked.append(journal.renewal_entry(charge, contract))
                    contract.periods_paid = charge.period
                    contract.next_bill_date = period_end(
                        contract, contract.anchor, charge.period - contract.period_offset
                    )
                    contract.status = RecurringContract.Status.ACTIVE
                    contract.failed_attempts, contract.next_retry_at = 0, None
                    access.access_expire = access_end_of_contract(
                        contract.next_bill_date, stopping=contract.cancel_at_period_end
                    )
                    changed_accesses.append(access)
                    run.renewed += 1
                    run.renewed_contracts.append(contract.pk)
                    emails.append(
                        (
                            RENEWAL_RECEIPT,
                            contract.pk,
                            f"renewal-receipt:{contract.code}:{charge.period}",
                        )
                    )
                else:
                    charge.status = ContractTransaction.Status.DECLINED
                    contract.failed_attempts += 1
                    run.declined += 1
                    if contract.failed_attempts > len(retries):
                        contract.status, contract.ended_at = RecurringContract.Status.EXPIRED, now
                        contract.next_retry_at = None
                        access.access_expire = max(now, access.access_start or now)
                        changed_accesses.append(access)
                        ended_purchases.append(contract.purchase_id)
                        emails.append(
                            (CONTRACT_ENDED, contract.pk, f"contract-ended:{contract.code}")
                        )
                        run.expired += 1
                    else:
                        contract.status = RecurringContract.Status.PAST_DUE
                        contract.next_retry_at = now + timedelta(
                            days=retries[contract.failed_attempts - 1]
                        )
                        emails.append(
                            (RENEWAL_FAILED, contract.pk, f"renewal-failed:{attempt.key}")
                        )
                        # The buyer keeps watching while the retries run.
                        access.access_expire = max(
                            access.access_expire or now, contract.next_retry_at
                        )
                        changed_accesses.append(access)
                changed_transactions.append(charge)
            contract.claimed_until = None
            changed_contracts.append(contract)
        update_rows(
            RecurringContract,
            changed_contracts,
            [
                "status",
                "periods_paid",
                "next_bill_date",
                "next_retry_at",
                "failed_attempts",
                "claimed_until",
                "ended_at",
            ],
        )
        update_rows(
            ContractTransaction,
            changed_transactions,
            ["status", "pnref", "auth_code", "result_code", "response_message"],
        )
        update_rows(Access, changed_accesses, ["access_expire"])
        Purchase.objects.filter(pk__in=ended_purchases, status=Purchase.Status.CANCELLING).update(
            status=Purchase.Status.CANCELLED
        )
        queue_renewal_emails(emails)
        publish_contract_events(emails)
        audit_renewals(emails, now=now)
        # Last, so the days' totals rows are locked only for the end of this transaction.
        journal.book(booked)
        journal.book_renewals_in_sql([attempt.transaction_id for attempt in paid], earliest=now)


# What each renewal e-mail tells the buyer is also an event for the shop's other systems.
EVENT_OF_EMAIL = {
    RENEWAL_RECEIPT: "contract.renewed",
    RENEWAL_FAILED: "contract.renewal_failed",
    CONTRACT_ENDED: "contract.ended",
}


def event_key(kind: str, email_key: str) -> str:
    """The key of the event told beside an e-mail: a contract ends once (contract.ended:<code>);
    the others are the e-mail's own event (contract.renewed:renewal-receipt:<code>:<period>)."""
    if kind == CONTRACT_ENDED:
        return "contract.ended:" + email_key.removeprefix("contract-ended:")
    return f"{EVENT_OF_EMAIL[kind]}:{email_key}"


def publish_contract_events(emails: list) -> int:
    """The batch's contract events, in its transaction, each keyed like its e-mail, so it is
    written once. On PostgreSQL the database renders them (core.events.publish_in_sql): one
    insert per event type, no contract loaded here; elsewhere one read of the contracts as they
    are now and two inserts (core/events.py)."""
    if not emails:
        return 0
    keyed = [
        (EVENT_OF_EMAIL[kind], contract_id, event_key(kind, key))
        for kind, contract_id, key in emails
    ]
    if connection.vendor == "postgresql":
        by_type: dict[str, tuple[list, list]] = {}
        for event_type, contract_id, key in keyed:
            ids, keys = by_type.setdefault(event_type, ([], []))
            ids.append(contract_id)
            keys.append(key)
        return sum(
            events.publish_in_sql(event_type, ids, keys)
            for event_type, (ids, keys) in by_type.items()
        )
    contracts = RecurringContract.objects.select_related(
        "purchase", "buyer", "subscription", "pricing_model"
    ).in_bulk([contract_id for _, contract_id, _ in keyed])
    return events.publish_many(
        (event_type, contracts[contract_id], key) for event_type, contract_id, key in keyed
    )


AUDIT_ACTION_OF_EMAIL = {
    RENEWAL_RECEIPT: "renewed",
    RENEWAL_FAILED: "renewal declined",
    CONTRACT_ENDED: "ended",
}


def audit_renewals(emails: list, *, now) -> int:
    """The batch's audit entries (one per contract renewed, declined or ended), in its
    transaction, with the contracts as they are now: on PostgreSQL one INSERT ... SELECT."""
    if not emails:
        return 0
    ids = [contract_id for _, contract_id, _ in emails]
    actions = [AUDIT_ACTION_OF_EMAIL[kind] for kind, _, _ in emails]
    if connection.vendor == "postgresql":
        return _audit_renewals_in_sql(ids, actions, now)
    contracts = RecurringContract.objects.in_bulk(ids)
    return audit.record_many(
        [
            audit.entry(
                action,
                object_kind="recurringcontract",
                object_code=contracts[contract_id].code,
                object_label=contracts[contract_id].code,
                changes=_renewal_changes(contracts[contract_id], action),
                when=now,
            )
            for contract_id, action in zip(ids, actions, strict=True)
        ]
    )


def _renewal_changes(contract: RecurringContract, action: str) -> dict:
    bill = contract.next_bill_date.astimezone(UTC).isoformat(timespec="seconds")
    changes = {"status": [None, contract.status], "next_bill_date": [None, bill]}
    if action == AUDIT_ACTION_OF_EMAIL[RENEWAL_FAILED]:
        changes["failed_attempts"] = [contract.failed_attempts - 1, contract.failed_attempts]
    return changes


def _audit_renewals_in_sql(ids: list, actions: list, now) -> int:
    """The same entries as `audit_renewals` builds, made by the database from the contracts."""
    actor = audit.current_actor()
    declined = AUDIT_ACTION_OF_EMAIL[RENEWAL_FAILED]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO site_auditentry (created_at, actor_kind, actor_id, actor_label,
                object_kind, object_code, object_label, action, changes, address, reason,
                request_id, batch)
            SELECT %s, %s, %s, %s, 'recurringcontract', c.code, c.code, done.action,
                jsonb_build_object(
                    'status', jsonb_build_array(NULL, c.status),
                    'next_bill_date', jsonb_build_array(NULL,
                        to_char(c.next_bill_date AT TIME ZONE 'UTC',
                                'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'))
                ) || CASE WHEN done.action = %s THEN jsonb_build_object('failed_attempts',
                        jsonb_build_array(c.failed_attempts - 1, c.failed_attempts))
                     ELSE '{}'::jsonb END,
                %s, '', %s, %s
            FROM unnest(%s::bigint[], %s::text[]) WITH ORDINALITY AS done(id, action, n)
            JOIN purchases_recurringcontract c ON c.id = done.id
            ORDER BY done.n
            """,
            [
                now,
                actor.kind,
                actor.id[:150],
                actor.label[:200],
                declined,
                actor.address,
                actor.request_id[:64],
                actor.batch,
                ids,
                actions,
            ],
        )
        return cursor.rowcount


def retry_contract_now(*, contract: RecurringContract, now=None) -> RecurringContract:
    """Charge a past-due contract now instead of at its next retry (staff, after the buyer fixed
    their card). It is the same attempt the engine would make: same rules, same key scheme."""
    now = now or timezone.now()
    if contract.status != RecurringContract.Status.PAST_DUE:
        raise errors.ContractNotRetryable()
    RecurringContract.objects.filter(
        pk=contract.pk, status=RecurringContract.Status.PAST_DUE
    ).update(next_retry_at=now)
    audit.record("retry requested", contract)
    attempts = claim_batch(
        now=now, batch_size=1, only=RecurringContract.objects.filter(pk=contract.pk)
    )
    if attempts:
        record_batch(attempts, charge_batch(attempts), now=now, run=RenewalRun())
    contract.refresh_from_db()
    return contract
