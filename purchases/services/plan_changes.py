"""Plan changes of recurring contracts (issue 19): preview, then change now or at the period's end.

The proration, now (Stripe's "new period from now" rule, with its proration date):
- credit = what was paid for the current period x unused time / the period's length, rounded
  down to the currency's minor unit (the shop never credits more than the time left);
- charge = the new pricing model's price for a new period that starts at the proration time;
- the buyer is charged max(0, charge - credit) through the contract's stored instrument (the
  e-wallet for wallet contracts), and a credit larger than the charge goes to the buyer's
  e-wallet in the contract's currency (never lost, never carried silently);
- the contract then bills every period of the new pricing model from the proration time.
The journal gets one row each: the charge (kind plan_charge, +) and the credit (plan_credit, -),
both with the gateway reference of the charge, so together they equal what the gateway settled.

At the period's end: nothing is charged now; the renewal that closes the period charges the new
pricing model's price and the periods run at its length from there (`apply_scheduled_changes`,
called by the renewal engine when it claims the contract).

A preview answers the amounts and a token naming them and the proration time; confirming with
the token recomputes them at that time and refuses if anything changed (PlanChangePreviewOutdated).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from buyers import errors as buyer_errors
from buyers import services as buyer_services
from buyers.models import Access
from core import audit, events
from core.money import format_amount, minor_digits, quantize
from subscriptions.models import PricingModel

from .. import errors
from ..contract_changes import ContractChange
from ..gateways import get_gateway
from ..gateways.base import GatewayError
from ..journal import booking as journal
from ..journal.models import JournalEntry, Kind
from ..models import WALLET, ContractTransaction, RecurringContract, Refund
from ..notifications import queue_plan_change_email
from ..recurrence import access_end_of_contract, period_end
from .rules import has_pin

NOW, PERIOD_END = ContractChange.Timing.NOW, ContractChange.Timing.PERIOD_END
PREVIEW_SIGNATURES = "purchases.plan_change_preview"


@dataclass(frozen=True)
class PlanChangePreview:
    """What a plan change would do, before anyone confirms it."""

    contract: RecurringContract
    pricing_model: PricingModel
    timing: str
    prorated_at: datetime
    period_start: datetime
    period_end: datetime
    credit: Decimal
    charge: Decimal
    charged_now: Decimal
    to_wallet: Decimal
    next_bill_date: datetime  # after the change
    next_amount: Decimal  # charged on that date, and every period after
    token: str

    @property
    def currency(self) -> str:
        return self.contract.currency


def preview_seconds() -> int:
    return settings.PLAN_CHANGE_PREVIEW_SECONDS


def _step(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_digits(currency))


def current_period(contract: RecurringContract) -> tuple[datetime, datetime]:
    """The start and end of the period the contract is in (a trial: its purchase to its end)."""
    if contract.periods_paid == 0:
        return contract.created_at, contract.next_bill_date
    start = period_end(
        contract, contract.anchor, contract.periods_paid - 1 - contract.period_offset
    )
    return start, contract.next_bill_date


def paid_for_current_period(contract: RecurringContract) -> Decimal:
    """What the buyer paid for the period they are in, less what was refunded of it: the plan
    change that started it (its new period's price), else its renewal charge, else (period 1)
    the purchase; nothing during a trial."""
    if contract.periods_paid == 0:
        return Decimal(0)
    started_by_change = change_that_started_the_period(contract)
    if started_by_change is not None:
        return started_by_change.charge
    charge = (
        contract.transactions.filter(
            status=ContractTransaction.Status.APPROVED, period=contract.periods_paid
        )
        .order_by("-pk")
        .first()
    )
    if charge is not None:
        refunded = charge.refunds.aggregate(total=Sum("amount"))["total"] or 0
        return max(Decimal(0), charge.amount - refunded)
    if contract.periods_paid == 1 and contract.period_offset == 0:
        purchase = contract.purchase
        refunded = (
            Refund.objects.filter(purchase=purchase, contract_transaction__isnull=True).aggregate(
                total=Sum("amount")
            )["total"]
            or 0
        )
        return max(Decimal(0), purchase.amount - refunded)
    return Decimal(0)


def change_that_started_the_period(contract: RecurringContract) -> ContractChange | None:
    """The plan change now that started the period the contract is in, if one did."""
    if contract.periods_paid == 0:
        return None
    return (
        contract.plan_changes.filter(
            status=ContractChange.Status.APPLIED,
            timing=NOW,
            prorated_at=current_period(contract)[0],
        )
        .order_by("-pk")
        .first()
    )


def prorated_credit(paid: Decimal, start: datetime, end: datetime, at: datetime, currency: str):
    """The unused share of `paid` at `at` for the period start..end, rounded down to the
    currency's minor unit: exact Decimal arithmetic on whole microseconds."""
    total = _microseconds(end - start)
    unused = min(total, max(0, _microseconds(end - at)))
    if total <= 0 or paid <= 0:
        return Decimal(0)
    return (paid * unused / total).quantize(_step(currency), rounding=ROUND_DOWN)


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def check_change(contract: RecurringContract, pricing_model: PricingModel | None, now) -> None:
    """The refusals that do not depend on when the change happens (nothing written)."""
    if pricing_model is None:
        raise errors.InvalidPricingModel(_("Choose the pricing model to change to."))
    if contract.status == RecurringContract.Status.PAUSED:
        raise errors.ContractPaused(_("This contract is paused: resume it before changing plan."))
    if contract.status not in RecurringContract.LIVE_STATUSES:
        raise errors.ContractEnded(
            _("This contract has ended: buy the subscription again instead.")
        )
    if contract.status == RecurringContract.Status.PAST_DUE:
        raise errors.ContractPastDue(
            _("This contract's renewal is unpaid: retry the charge before changing plan.")
        )
    if contract.cancel_at_period_end:
        raise errors.ContractStopping(
            _("This contract stops at its period's end: keep it renewing before changing plan.")
        )
    if (contract.claimed_until and contract.claimed_until > now) or contract.transactions.filter(
        status=ContractTransaction.Status.PENDING
    ).exists():
        raise errors.RenewalInFlight(
            _("A renewal charge of this contract is running; try again in a few minutes.")
        )
    if _unfinished_change_now(contract, now) is not None:
        raise errors.RenewalInFlight(
            _(
                "A plan change of this contract stopped while it was being charged: confirm "
                "its preview again to finish it, or wait until its preview expires."
            )
        )
    if not contract.subscription.offers.filter(pricing_model=pricing_model).exists():
        raise errors.InvalidPricingModelForThisProduct(
            _("This pricing model is not offered by the contract's subscription.")
        )
    if not pricing_model.is_recurring:
        raise errors.PlanChangeNotRecurring()
    if pricing_model.currency != contract.currency:
        raise errors.PlanChangeCurrency(
            _("The contract is billed in %(billed)s; this pricing model costs %(asked)s.")
            % {"billed": contract.currency, "asked": pricing_model.currency}
        )
    if pricing_model.pk == contract.pricing_model_id:
        raise errors.PlanChangeSamePricingModel()


def _unfinished_change_now(contract: RecurringContract, now) -> ContractChange | None:
    """A change now whose confirmation stopped between its claim and its record (a worker that
    died). Once its preview can no longer be confirmed, the gateway is asked about its key: never
    charged, it is closed as declined; charged, it stays for staff to settle (see the admin)."""
    stale = contract.plan_changes.filter(status=ContractChange.Status.SCHEDULED, timing=NOW).first()
    if stale is None:
        return None
    if stale.requested_at + timedelta(seconds=preview_seconds()) > now:
        return stale
    gateway = get_gateway(contract.payment_type)
    try:
        result = gateway.lookup(idempotency_key=stale.idempotency_key) if gateway else None
    except GatewayError:
        return stale
    if result is not None and result.approved and stale.charged_now:
        return stale
    ContractChange.objects.filter(pk=stale.pk, status=ContractChange.Status.SCHEDULED).update(
        status=ContractChange.Status.DECLINED,
        response_message=_("Not confirmed in time; nothing was charged."),
    )
    return None


def _token(preview_fields: dict) -> str:
    return signing.dumps(preview_fields, salt=PREVIEW_SIGNATURES, compress=True)


def _fields(contract, pricing_model, timing, at, credit, charge, charged_now, to_wallet) -> dict:
    return {
        "contract": contract.code,
        "pricing_model": pricing_model.code,
        "timing": timing,
        "at": at.isoformat(),
        "periods_paid": contract.periods_paid,
        "amount": str(quantize(contract.amount, contract.currency)),
        "credit": str(credit),
        "charge": str(charge),
        "charged_now": str(charged_now),
        "to_wallet": str(to_wallet),
    }


def preview_plan_change(
    *, contract: RecurringContract, pricing_model: PricingModel | None, timing: str, at=None
) -> PlanChangePreview:
    """What changing `contract` to `pricing_model` now (prorated at `at`, default the clock) or
    at its period's end would credit, charge and schedule; a named refusal if it may not."""
    now = timezone.now()
    at = at or now
    if timing not in (NOW, PERIOD_END):
        raise errors.PlanChangeTiming()
    check_change(contract, pricing_model, now)
    start, end = current_period(contract)
    if end <= at:
        raise errors.PurchasePeriodOver(
            _("The period has ended; the renewal runs first, then change the plan.")
        )
    price = pricing_model.price
    if timing == PERIOD_END:
        credit = charge = charged_now = to_wallet = Decimal(0)
        next_bill = end
        prorated_at = end
    else:
        if at < start:
            raise errors.PlanChangePreviewOutdated()
        step = _step(contract.currency)
        credit = prorated_credit(
            paid_for_current_period(contract), start, end, at, contract.currency
        )
        charge = price.quantize(step)
        charged_now = max(Decimal(0), charge - credit)
        to_wallet = max(Decimal(0), credit - charge)
        next_bill = period_end(pricing_model, at, 1)
        prorated_at = at
    fields = _fields(contract, pricing_model, timing, at, credit, charge, charged_now, to_wallet)
    return PlanChangePreview(
        contract=contract,
        pricing_model=pricing_model,
        timing=timing,
        prorated_at=prorated_at,
        period_start=start,
        period_end=end,
        credit=credit,
        charge=charge,
        charged_now=charged_now,
        to_wallet=to_wallet,
        next_bill_date=next_bill,
        next_amount=price,
        token=_token(fields),
    )


def read_token(token: str) -> dict:
    """The preview a token names; PlanChangePreviewOutdated when it is forged or too old."""
    try:
        return signing.loads(token or "", salt=PREVIEW_SIGNATURES, max_age=preview_seconds())
    except signing.SignatureExpired as expired:
        raise errors.PlanChangePreviewOutdated(
            _("The preview is too old: preview the change again.")
        ) from expired
    except signing.BadSignature as bad:
        raise errors.PlanChangePreviewOutdated(_("Preview the change first.")) from bad


def change_plan(
    *,
    contract: RecurringContract,
    pricing_model: PricingModel | None,
    token: str,
    timing: str | None = None,
    staff_user=None,
    by_buyer: bool = False,
    pin: str | None = None,
) -> ContractChange:
    """Confirm a previewed plan change with exactly its amounts: scheduled for the period's end,
    or now (charged, then applied in one transaction with its journal rows, e-mail and event).
    PlanChangePreviewOutdated if the amounts changed since; PlanChangeDeclined (contract
    unchanged) if the charge is declined. A buyer through the API gives their PIN (`pin`, as
    for cancelling); a page that identified the buyer otherwise (a signed link) passes None."""
    if by_buyer and pin is not None and has_pin(contract.buyer):
        try:
            buyer_services.verify_purchase_pin(buyer=contract.buyer, pin=pin)
        except buyer_errors.BuyerError as refusal:
            raise errors.UserPurchasePinValueNoMatch(refusal.message) from None
    shown = read_token(token)
    if pricing_model is None or shown.get("pricing_model") != pricing_model.code:
        raise errors.PlanChangePreviewOutdated(_("The preview was of another pricing model."))
    if shown.get("contract") != contract.code:
        raise errors.PlanChangePreviewOutdated(_("The preview was of another contract."))
    if timing is not None and timing != shown.get("timing"):
        raise errors.PlanChangePreviewOutdated(_("The preview was of a change at another time."))
    timing = shown["timing"]
    at = datetime.fromisoformat(shown["at"])
    if timing == PERIOD_END:
        return _schedule(contract, pricing_model, shown, staff_user, by_buyer)
    change = _claim_now(contract, pricing_model, shown, at, staff_user, by_buyer)
    return finish_change(change)


def finish_change(change: ContractChange) -> ContractChange:
    """Charge and apply a change now that was claimed (also a crashed attempt's, on retry: the
    same gateway key answers the first outcome); a finished one is answered as it ended."""
    if change.status != ContractChange.Status.SCHEDULED or change.timing != NOW:
        return _finished(change)
    return _record(change, _charge(change))


def _check_same(contract, pricing_model, shown, at) -> PlanChangePreview:
    preview = preview_plan_change(
        contract=contract, pricing_model=pricing_model, timing=shown["timing"], at=at
    )
    again = _fields(
        contract,
        pricing_model,
        preview.timing,
        at,
        preview.credit,
        preview.charge,
        preview.charged_now,
        preview.to_wallet,
    )
    if again != shown:
        raise errors.PlanChangePreviewOutdated()
    return preview


@transaction.atomic
def _schedule(contract, pricing_model, shown, staff_user, by_buyer) -> ContractChange:
    contract = RecurringContract.objects.select_for_update().get(pk=contract.pk)
    existing = contract.plan_changes.filter(
        status=ContractChange.Status.SCHEDULED, timing=PERIOD_END
    ).first()
    if existing is not None and existing.to_pricing_model_id == pricing_model.pk:
        return existing  # the same confirmation again
    _check_same(contract, pricing_model, shown, datetime.fromisoformat(shown["at"]))
    if existing is not None:
        raise errors.PlanChangeAlreadyScheduled()
    return ContractChange.objects.create(
        contract=contract,
        timing=PERIOD_END,
        status=ContractChange.Status.SCHEDULED,
        from_pricing_model_id=contract.pricing_model_id,
        to_pricing_model=pricing_model,
        from_amount=contract.amount,
        to_amount=pricing_model.price,
        currency=contract.currency,
        new_next_bill_date=period_end(pricing_model, contract.next_bill_date, 1),
        created_by=staff_user,
        by_buyer=by_buyer,
        api_key=journal.current_api_key()[:16],
    )


def _claim_now(contract, pricing_model, shown, at, staff_user, by_buyer) -> ContractChange:
    """Write the change as being charged, and claim the contract from the renewal engine for
    the charge's duration (its lease), in one short transaction."""
    now = timezone.now()
    # The same preview confirmed twice is one change with one gateway key.
    digest = hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:32]
    key = f"plan-change:{contract.code}:{digest}"
    with transaction.atomic():
        contract = RecurringContract.objects.select_for_update().get(pk=contract.pk)
        earlier = ContractChange.objects.filter(idempotency_key=key).first()
        if earlier is not None:
            return earlier
        preview = _check_same(contract, pricing_model, shown, at)
        if contract.plan_changes.filter(
            status=ContractChange.Status.SCHEDULED, timing=PERIOD_END
        ).exists():
            raise errors.PlanChangeAlreadyScheduled()
        RecurringContract.objects.filter(pk=contract.pk).update(
            claimed_until=now + timedelta(seconds=settings.RENEWAL_CLAIM_SECONDS)
        )
        return ContractChange.objects.create(
            contract=contract,
            timing=NOW,
            # Scheduled here means "being charged": the claim keeps the engine away meanwhile.
            status=ContractChange.Status.SCHEDULED,
            from_pricing_model_id=contract.pricing_model_id,
            to_pricing_model=pricing_model,
            from_amount=contract.amount,
            to_amount=pricing_model.price,
            currency=contract.currency,
            prorated_at=at,
            credit=preview.credit,
            charge=preview.charge,
            charged_now=preview.charged_now,
            to_wallet=preview.to_wallet,
            new_next_bill_date=preview.next_bill_date,
            idempotency_key=key,
            created_by=staff_user,
            by_buyer=by_buyer,
            api_key=journal.current_api_key()[:16],
        )


@dataclass(frozen=True)
class _Answer:
    approved: bool
    result_code: str = ""
    response_message: str = ""
    pnref: str = ""
    auth_code: str = ""


def _charge(change: ContractChange) -> _Answer:
    """Charge what the buyer owes now through the contract's stored instrument, outside any
    transaction (a retried key answers the first outcome; a timeout asks the gateway)."""
    contract = change.contract
    if change.charged_now == 0 or contract.payment_type == WALLET:
        return _Answer(True)  # nothing to charge, or the e-wallet is debited in _record
    gateway = get_gateway(contract.payment_type)
    if gateway is None or gateway.is_redirect:
        return _Answer(False, "PT", _("This payment type cannot be charged without the buyer."))
    try:
        result = gateway.charge(
            idempotency_key=change.idempotency_key,
            amount=change.charged_now,
            currency=change.currency,
            instrument=contract.instrument,
            description=f"Plan change {contract.code}",
        )
    except GatewayError:
        try:
            result = gateway.lookup(idempotency_key=change.idempotency_key)
        except GatewayError:
            result = None
    if result is None:
        return _Answer(False, "", _("The payment service did not answer."))
    return _Answer(
        result.approved, result.result_code, result.response_message, result.pnref, result.auth_code
    )


def _record(change: ContractChange, answer: _Answer) -> ContractChange:
    now = timezone.now()
    with transaction.atomic(), journal.at_the_end():
        contract = RecurringContract.objects.select_for_update().get(pk=change.contract_id)
        change = ContractChange.objects.select_for_update().get(pk=change.pk)
        if change.status != ContractChange.Status.SCHEDULED:
            return _finished(change)
        change.result_code, change.pnref = answer.result_code, answer.pnref
        change.response_message, change.auth_code = answer.response_message[:200], answer.auth_code
        if answer.approved and contract.payment_type == WALLET and change.charged_now:
            try:
                buyer_services.debit_wallet(
                    buyer=contract.buyer,
                    amount=change.charged_now,
                    currency=change.currency,
                    reference=change.idempotency_key,
                    links={"contract": contract},
                )
            except buyer_errors.BuyerError as refusal:
                answer = _Answer(False, "51", refusal.message)
                change.result_code, change.response_message = "51", refusal.message[:200]
        RecurringContract.objects.filter(pk=contract.pk).update(claimed_until=None)
        if answer.approved:
            _apply_now(contract, change, now)
        else:
            change.status = ContractChange.Status.DECLINED
            change.save()
    return _finished(change)


def _apply_now(contract: RecurringContract, change: ContractChange, now) -> None:
    pricing_model = change.to_pricing_model
    reference = change.pnref if contract.payment_type != WALLET else ""
    before = audit.snapshot(contract, ("pricing_model", "amount", "next_bill_date"))
    contract.pricing_model = pricing_model
    contract.amount = change.to_amount
    contract.recurrence_unit = pricing_model.recurrence_unit
    contract.recurrence_count = pricing_model.recurrence_count
    contract.period_offset = contract.periods_paid
    contract.periods_paid += 1
    contract.anchor = change.prorated_at
    contract.next_bill_date = change.new_next_bill_date
    contract.claimed_until = None
    contract.save(
        update_fields=[
            "pricing_model",
            "amount",
            "recurrence_unit",
            "recurrence_count",
            "period_offset",
            "periods_paid",
            "anchor",
            "next_bill_date",
            "claimed_until",
        ]
    )
    audit.record("changed plan", contract, before=before)
    end = access_end_of_contract(contract.next_bill_date, stopping=False)
    Access.objects.filter(pk=contract.access_id).update(access_expire=end)
    change.status, change.applied_at = ContractChange.Status.APPLIED, now
    change.save()
    rows = []
    for kind, amount in ((Kind.PLAN_CHARGE, change.charge), (Kind.PLAN_CREDIT, -change.credit)):
        if amount:
            rows.append(
                JournalEntry(
                    booked_at=now,
                    kind=kind,
                    amount=amount,
                    currency=change.currency,
                    buyer_id=contract.buyer_id,
                    subscription_id=contract.subscription_id,
                    pricing_model_id=(
                        change.to_pricing_model_id
                        if kind == Kind.PLAN_CHARGE
                        else change.from_pricing_model_id
                    ),
                    purchase_id=contract.purchase_id,
                    contract_id=contract.pk,
                    payment_type=contract.payment_type,
                    gateway_reference=reference,
                    created_by_id=change.created_by_id,
                    reason=f"Plan change {change.code}",
                )
            )
    journal.book(rows)
    if change.to_wallet:
        buyer_services.refund_to_wallet(
            buyer=contract.buyer,
            amount=change.to_wallet,
            currency=change.currency,
            reference=f"{change.idempotency_key}:credit",
            links={"contract": contract},
            by=change.created_by,
        )
    _tell(contract, change)


def _tell(contract: RecurringContract, change: ContractChange) -> None:
    queue_plan_change_email(change)
    events.publish("contract.plan_changed", contract, key=f"contract.plan_changed:{change.code}")


def _finished(change: ContractChange) -> ContractChange:
    if change.status == ContractChange.Status.DECLINED:
        raise errors.PlanChangeDeclined(
            _("The charge of %(amount)s was declined (%(reason)s); the contract is unchanged.")
            % {
                "amount": format_amount(change.charged_now, change.currency),
                "reason": change.response_message or change.result_code or _("declined"),
            }
        )
    return change


@transaction.atomic
def cancel_scheduled_plan_change(*, contract: RecurringContract, staff_user=None) -> ContractChange:
    """Take back a change scheduled for the period's end: the contract renews as it is."""
    change = (
        ContractChange.objects.select_for_update()
        .filter(contract=contract, status=ContractChange.Status.SCHEDULED, timing=PERIOD_END)
        .first()
    )
    if change is None:
        raise errors.NoScheduledPlanChange()
    change.status, change.cancelled_at = ContractChange.Status.CANCELLED, timezone.now()
    change.save(update_fields=["status", "cancelled_at"])
    return change


def apply_scheduled_changes(contract_ids: list[int], now) -> int:
    """In the renewal engine's claim transaction: contracts due at their period's end with a
    change scheduled move to the new pricing model before their charge is written, so the
    renewal charges its price and the periods run at its length from the old bill date. One
    query when none is scheduled (the common case)."""
    changes = list(
        ContractChange.objects.filter(
            contract_id__in=contract_ids,
            status=ContractChange.Status.SCHEDULED,
            timing=PERIOD_END,
        ).select_related("contract", "to_pricing_model")
    )
    applied = 0
    for change in changes:
        contract = change.contract
        if (
            contract.status != RecurringContract.Status.ACTIVE
            or contract.cancel_at_period_end
            or contract.failed_attempts
            or contract.next_bill_date > now
        ):
            continue
        pricing_model = change.to_pricing_model
        contract.pricing_model = pricing_model
        contract.amount = change.to_amount
        contract.recurrence_unit = pricing_model.recurrence_unit
        contract.recurrence_count = pricing_model.recurrence_count
        contract.anchor = contract.next_bill_date
        contract.period_offset = contract.periods_paid
        contract.save(
            update_fields=[
                "pricing_model",
                "amount",
                "recurrence_unit",
                "recurrence_count",
                "anchor",
                "period_offset",
            ]
        )
        change.status, change.applied_at = ContractChange.Status.APPLIED, now
        change.new_next_bill_date = period_end(pricing_model, contract.anchor, 1)
        change.save(update_fields=["status", "applied_at", "new_next_bill_date"])
        _tell(contract, change)
        applied += 1
    return applied


def find_contract(*, buyer, subscription) -> RecurringContract:
    """The buyer's running contract for a subscription, as the API names it (buyer and product);
    UserHasNoRightsToThisProduct when there is none."""
    if buyer is None:
        raise errors.AuthenticationRequired()
    if subscription is None:
        raise errors.ProductDoesNotExist()
    contract = (
        RecurringContract.objects.select_related("buyer", "subscription", "pricing_model")
        .filter(buyer=buyer, subscription=subscription)
        .order_by("-created_at", "-pk")
        .first()
    )
    if contract is None:
        raise errors.UserHasNoRightsToThisProduct()
    return contract


def plan_changes_of(contract: RecurringContract) -> tuple[list, ContractChange | None]:
    """A contract's plan changes, newest first, and the one waiting for the period's end."""
    history = list(
        contract.plan_changes.select_related("from_pricing_model", "to_pricing_model", "created_by")
    )
    scheduled = next(
        (
            c
            for c in history
            if c.status == ContractChange.Status.SCHEDULED and c.timing == PERIOD_END
        ),
        None,
    )
    return history, scheduled
