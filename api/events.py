"""How events show their object: as the JSON API shows it (core/events.py renders each event's
object with these, registered from ApiConfig.ready()). A purchase is the create-purchase answer's
`Content`; an access, a contract and a buyer use the same style (codes, not ids; unix times)."""

from buyers.models import Access, Buyer
from core import events
from purchases.models import Purchase, RecurringContract

from .purchases import purchase_content, timestamp

API_VERSION = "1"


def purchase_object(purchase: Purchase) -> dict:
    return {**purchase_content(purchase), "BuyerId": purchase.buyer.code}


def access_object(access: Access) -> dict:
    return {
        "Code": access.code,
        "BuyerId": access.buyer.code,
        "ProductId": access.subscription.code,
        "AccessPassword": access.hash,
        "Status": access.status,
        "ActivationLimit": access.activation_limit,
        "ActivationsUsed": access.activations_used,
        "StartDate": timestamp(access.access_start),
        "ExpirationDate": timestamp(access.access_expire),
        "PurchaseDate": timestamp(access.purchased_at),
        "RevokeDate": timestamp(access.revoked_at),
    }


def contract_object(contract: RecurringContract) -> dict:
    return {
        "Code": contract.code,
        "PurchaseId": contract.purchase.code,
        "BuyerId": contract.buyer.code,
        "ProductId": contract.subscription.code,
        "PricingModelId": contract.pricing_model.code,
        "Status": contract.status,
        "Amount": str(contract.amount),
        "Currency": contract.currency,
        "PeriodsPaid": contract.periods_paid,
        "NextBillDate": timestamp(contract.next_bill_date),
        "NextRetryDate": timestamp(contract.next_retry_at),
        "FailedAttempts": contract.failed_attempts,
        "CancelAtPeriodEnd": contract.cancel_at_period_end,
        "EndDate": timestamp(contract.ended_at),
        # While paused (Status "paused"): when the pause started or starts, and when it ends.
        "PausedFrom": timestamp(contract.paused_from),
        "ResumeDate": timestamp(contract.resume_at),
    }


def buyer_object(buyer: Buyer) -> dict:
    return {
        "Code": buyer.code,
        "Email": buyer.email or None,
        "Phone": buyer.phone or None,
        "Name": buyer.name,
        "CreateDate": timestamp(buyer.created_at),
    }


def register_renderers() -> None:
    for kind, render in (
        ("purchase", purchase_object),
        ("access", access_object),
        ("contract", contract_object),
        ("buyer", buyer_object),
    ):
        events.register_renderer(kind, render, api_version=API_VERSION)
