"""Recurring contracts (reference 003) as purchases start, stop and change them. Charging them
every period is the renewal engine's job (purchases/renewals.py)."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from buyers.models import Access
from core import audit, events
from core.money import format_amount
from subscriptions.models import PricingModel

from .. import errors
from ..gateways import get_gateway
from ..gateways.base import GatewayError
from ..models import WALLET, Purchase, RecurringContract
from ..notifications import CONTRACT_ENDED, queue_renewal_emails
from ..recurrence import access_end_of_contract, period_end


def first_bill_date(purchase: Purchase, now):
    """When a recurring purchase completed at `now` is first billed again: at its trial's end,
    else at the end of its first period."""
    return purchase.trial_ends_at or period_end(purchase.pricing_model, now, 1)


def start_contract(purchase: Purchase, amount: Decimal, now) -> RecurringContract:
    """The contract a recurring purchase starts: period 1 is paid now (or, with a trial, free
    until the trial ends, when period 1 is charged); the next bill date is that period's end."""
    trial = purchase.trial_ends_at is not None
    anchor = purchase.trial_ends_at if trial else now
    contract = RecurringContract.objects.create(
        purchase=purchase,
        buyer=purchase.buyer,
        subscription=purchase.subscription,
        pricing_model=purchase.pricing_model,
        access=purchase.access,
        amount=amount,
        currency=purchase.currency,
        payment_type=purchase.payment_type,
        instrument=purchase.instrument or purchase.gateway_reference,
        recurrence_unit=purchase.pricing_model.recurrence_unit,
        recurrence_count=purchase.pricing_model.recurrence_count,
        anchor=anchor,
        periods_paid=0 if trial else 1,
        next_bill_date=first_bill_date(purchase, now),
        created_at=now,
    )
    audit.record("started", contract, changes=_audited_start(contract))
    return contract


def _audited_start(contract: RecurringContract) -> dict:
    return {
        "amount": [None, format_amount(contract.amount, contract.currency)],
        "next_bill_date": [None, timezone.localtime(contract.next_bill_date).isoformat()],
        "status": [None, contract.status],
    }


def end_access_at_period_end(contract: RecurringContract) -> None:
    """A contract that stops at its period's end gives no renewal grace: its access ends at the
    period's end. A past-due one keeps its access until its next retry, when the renewal job
    ends it (dunning)."""
    if contract.status != RecurringContract.Status.ACTIVE:
        return
    end = access_end_of_contract(contract.next_bill_date, stopping=True)
    Access.objects.filter(pk=contract.access_id, access_expire__gt=end).update(access_expire=end)


def end_contract(purchase: Purchase, now) -> None:
    """A recurring purchase ended now (cancelled or refunded in full): its contract stops
    charging, and the buyer is told."""
    contract = RecurringContract.objects.select_for_update().filter(purchase=purchase).first()
    # A paused contract ends too (its access ended when the pause started).
    if contract is None or contract.status not in RecurringContract.OPEN_STATUSES:
        return
    before = audit.snapshot(contract, ("status", "ended_at"))
    contract.status, contract.ended_at = RecurringContract.Status.CANCELLED, now
    contract.save(update_fields=["status", "ended_at"])
    audit.record("ended", contract, before=before)
    queue_renewal_emails([(CONTRACT_ENDED, contract.pk, f"contract-ended:{contract.code}")])
    events.publish("contract.ended", contract, key=f"contract.ended:{contract.code}")


@transaction.atomic
def apply_new_price_to_contracts(*, pricing_model: PricingModel) -> int:
    """The shop's choice to charge running contracts of `pricing_model` its current price from
    their next period on (without it, a contract keeps the price it was bought at). Answers how
    many contracts changed."""
    changed = RecurringContract.objects.filter(
        pricing_model=pricing_model,
        status__in=RecurringContract.OPEN_STATUSES,
    ).update(amount=pricing_model.price)
    shown = format_amount(pricing_model.price, pricing_model.currency)
    audit.record(
        f"new price applied to {changed} contracts",
        pricing_model,
        changes={"contracts' amount": [None, shown]},
    )
    return changed


def check_card(payment_type: str, instrument: str, key: str) -> tuple[str, str] | None:
    """Verify a stored card with its gateway without charging it: None when it is good (or the
    gateway cannot check without charging); else (result code, message) of why not. A gateway
    that does not answer is not taken as approval."""
    gateway = get_gateway(payment_type)
    if gateway is None or gateway.is_redirect:
        return None
    try:
        result = gateway.verify(idempotency_key=f"{key}:verify", instrument=instrument, currency="")
    except GatewayError as failure:
        return "", f"The card could not be checked ({failure}); try again."
    if result is None or result.approved:
        return None
    return result.result_code, f"The card was declined when checked: {result.response_message}."


@transaction.atomic
def change_contract_card(*, contract: RecurringContract, instrument: str) -> RecurringContract:
    """Charge a stored card from now on (the buyer's new card after a decline), once its gateway
    has checked it without charging; a declined or unchecked card is refused."""
    instrument = (instrument or "").strip()
    if not instrument or len(instrument) > 80:
        raise errors.InvalidCard()
    if (
        contract.payment_type == WALLET
        or get_gateway(contract.payment_type) is None
        or (get_gateway(contract.payment_type).is_redirect)
    ):
        raise errors.InvalidCard("This contract is not paid by a stored card.")
    if contract.status not in RecurringContract.OPEN_STATUSES:
        raise errors.InvalidCard("This contract has ended.", field=None)
    refusal = check_card(contract.payment_type, instrument, f"card:{contract.code}:{instrument}")
    if refusal is not None:
        raise errors.InvalidCard(f"{refusal[1]} The contract keeps its card.")
    RecurringContract.objects.filter(pk=contract.pk).update(instrument=instrument)
    masked = [f"…{card[-4:]}" if card else None for card in (contract.instrument, instrument)]
    audit.record("changed card", contract, changes={"instrument": masked})
    contract.instrument = instrument
    return contract
