"""Pause and resume a recurring purchase through the JSON API, by the buyer (with the purchase
PIN), in the shape of cancel and reactivate: `userId`, `productId`, `pin`; a pause also takes
`start` (now or period_end), and `periods` or `until` (YYYY-MM-DD, in the shop's time zone), or
neither (open-ended: it resumes on its own after CONTRACT_MAX_PAUSE_DAYS). Both answer the
contract as events show it (`Content`)."""

from datetime import date

from django.utils.translation import gettext as _

from buyers import errors as buyer_errors
from buyers import services as buyer_services
from purchases import errors as purchase_errors
from purchases.models import ContractPause, RecurringContract
from purchases.services import cancellations, pauses
from purchases.services.rules import has_pin
from subscriptions.models import Subscription

from .events import contract_object
from .params import BadParameter, given, text
from .purchases import buyer_of, by_code, ok


def _contract_of(params) -> RecurringContract:
    buyer = buyer_of(params)
    if buyer is None:
        raise purchase_errors.AuthenticationRequired()
    purchase = cancellations.find_purchase_for_cancel(
        buyer=buyer, subscription=by_code(Subscription, params, "productId")
    )
    contract = RecurringContract.objects.filter(purchase=purchase).first()
    if contract is None:
        raise purchase_errors.NonRenewableUserRight()
    if has_pin(buyer):
        try:
            buyer_services.verify_purchase_pin(buyer=buyer, pin=text(params, "pin"))
        except buyer_errors.BuyerError as refusal:
            raise purchase_errors.UserPurchasePinValueNoMatch(refusal.message) from None
    return contract


def _periods(params) -> int | None:
    if not given(params, "periods"):
        return None
    try:
        return int(text(params, "periods"))
    except ValueError:
        raise BadParameter("periods", _("periods is a whole number of billing periods.")) from None


def _until(params) -> date | None:
    if not given(params, "until"):
        return None
    try:
        return date.fromisoformat(text(params, "until"))
    except ValueError:
        raise BadParameter("until", _("until is a date, YYYY-MM-DD.")) from None


def _answer(contract: RecurringContract):
    contract = RecurringContract.objects.select_related(
        "purchase", "buyer", "subscription", "pricing_model"
    ).get(pk=contract.pk)
    return ok(contract_object(contract))


def pause_product(request, params):
    """Pause the buyer's recurring purchase of `productId` (reference 003 contract)."""
    periods, until = _periods(params), _until(params)
    contract = _contract_of(params)
    contract = pauses.pause_contract(
        contract=contract,
        start=text(params, "start") or pauses.NOW,
        periods=periods,
        until=until,
        by_buyer=True,
    )
    return _answer(contract)


def resume_product(request, params):
    """Resume the buyer's paused recurring purchase of `productId` now."""
    contract = pauses.resume_contract(contract=_contract_of(params), by_buyer=True)
    return _answer(contract)


def _recover(params, record, **since):
    """The pause a crashed first attempt wrote or ended (since its key was first seen), answered
    as that attempt would have; None when it committed nothing (the request runs again)."""
    buyer = buyer_of(params)
    subscription = by_code(Subscription, params, "productId")
    if buyer is None or subscription is None:
        return None
    row = (
        ContractPause.objects.filter(
            contract__buyer=buyer,
            contract__subscription=subscription,
            **{f"{name}__gte": record.created_at for name in since},
            **{flag: True for flag in since.values()},
        )
        .order_by("-pk")
        .first()
    )
    return _answer(row.contract) if row is not None else None


def recover_pause(request, params, record):
    return _recover(params, record, created_at="by_buyer")


def recover_resume(request, params, record):
    return _recover(params, record, resumed_at="resumed_by_buyer")
