"""The JSON API's plan change (issue 19), next to cancel and reactivate: a storefront or the
buyers' self-service page previews a change of the buyer's contract (`userId`, `productId`,
`pricingModelId`, `timing` now or period_end) and confirms it with the preview's token and the
buyer's PIN. Confirming is idempotent (Idempotency-Key); the amounts are exactly the preview's."""

from datetime import timedelta

from django.utils import timezone

from core.errors import DomainError
from core.money import quantize
from purchases.contract_changes import ContractChange
from purchases.services import plan_changes
from purchases.services.plan_changes import preview_seconds
from subscriptions.models import PricingModel, Subscription

from .purchases import buyer_of, by_code, ok, text, timestamp


def _money(amount, currency: str) -> str:
    return str(quantize(amount, currency))


def preview_content(preview) -> dict:
    contract = preview.contract
    return {
        "ContractId": contract.code,
        "ProductId": contract.subscription.code,
        "FromPricingModelId": contract.pricing_model.code,
        "PricingModelId": preview.pricing_model.code,
        "Timing": preview.timing,
        "ProratedAt": timestamp(preview.prorated_at),
        "PeriodStart": timestamp(preview.period_start),
        "PeriodEnd": timestamp(preview.period_end),
        "Credit": _money(preview.credit, contract.currency),
        "Charge": _money(preview.charge, contract.currency),
        "ChargedNow": _money(preview.charged_now, contract.currency),
        "CreditedToWallet": _money(preview.to_wallet, contract.currency),
        "Currency": contract.currency,
        "NextBillDate": timestamp(preview.next_bill_date),
        "NextAmount": _money(preview.next_amount, contract.currency),
        "PreviewToken": preview.token,
        "PreviewExpires": timestamp(timezone.now() + timedelta(seconds=preview_seconds())),
    }


def change_content(change: ContractChange) -> dict:
    contract = change.contract
    contract.refresh_from_db()
    return {
        "ChangeId": change.code,
        "ContractId": contract.code,
        "Status": change.status,
        "Timing": change.timing,
        "FromPricingModelId": change.from_pricing_model.code,
        "PricingModelId": change.to_pricing_model.code,
        "Credit": _money(change.credit, change.currency),
        "Charge": _money(change.charge, change.currency),
        "ChargedNow": _money(change.charged_now, change.currency),
        "CreditedToWallet": _money(change.to_wallet, change.currency),
        "Currency": change.currency,
        "PNRef": change.pnref or None,
        "NextBillDate": timestamp(contract.next_bill_date),
        "NextAmount": _money(change.to_amount, change.currency),
    }


def _contract(params):
    return plan_changes.find_contract(
        buyer=buyer_of(params), subscription=by_code(Subscription, params, "productId")
    )


def preview_plan_change(request, params):
    """What changing the buyer's contract would credit, charge and schedule (nothing written)."""
    preview = plan_changes.preview_plan_change(
        contract=_contract(params),
        pricing_model=by_code(PricingModel, params, "pricingModelId"),
        timing=text(params, "timing") or "now",
    )
    return ok(preview_content(preview))


def change_plan(request, params):
    """Confirm a preview by its token (with the buyer's PIN): 201 with the change."""
    change = plan_changes.change_plan(
        contract=_contract(params),
        pricing_model=by_code(PricingModel, params, "pricingModelId"),
        token=text(params, "previewToken"),
        timing=text(params, "timing") or None,
        pin=text(params, "pin") or "",
        by_buyer=True,
    )
    return ok(change_content(change), 201)


def recover_plan_change(request, params, record):
    """A retry after the first attempt died: the change it wrote (by the buyer, since the key
    was first seen), answered as the first attempt would have; None when it wrote none."""
    try:
        contract = _contract(params)
    except DomainError:  # nothing to recover: the request runs again and says why
        return None
    change = (
        contract.plan_changes.filter(by_buyer=True, requested_at__gte=record.created_at)
        .exclude(status=ContractChange.Status.CANCELLED)
        .order_by("-pk")
        .first()
    )
    if change is None:
        return None
    if change.status == ContractChange.Status.SCHEDULED and change.timing == "now":
        change = plan_changes.finish_change(change)
    return ok(change_content(change), 201)
