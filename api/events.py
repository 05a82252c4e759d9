"""How events show their object: as the JSON API shows it (core/events.py renders each event's
object with these, registered from ApiConfig.ready()). A purchase is the create-purchase answer's
`Content`; an access, a contract and a buyer use the same style (codes, not ids; unix times)."""

from django.db import connection

from buyers.models import Access, Buyer
from core import events
from purchases.models import Purchase, RecurringContract
from subscriptions.models import PricingModel, Subscription

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


def _epoch(column: str) -> str:
    """SQL for `timestamp(value)`: whole seconds since the epoch, 0 for none."""
    return f"COALESCE(trunc(extract(epoch FROM {column}))::bigint, 0)"


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def contract_object_sql() -> str:
    """`contract_object` rendered by PostgreSQL, for events published set-based
    (core.events.publish_in_sql): (id, code, data) of the contracts in %(ids)s. A test holds it
    equal to `contract_object` for contracts in every state."""
    # Only table names from the models' metadata go into the text; the ids are a parameter.
    return f"""
        SELECT c.id, c.code, jsonb_build_object(
            'Code', c.code,
            'PurchaseId', p.code,
            'BuyerId', b.code,
            'ProductId', s.code,
            'PricingModelId', m.code,
            'Status', c.status,
            'Amount', c.amount::text,
            'Currency', c.currency,
            'PeriodsPaid', c.periods_paid,
            'NextBillDate', {_epoch("c.next_bill_date")},
            'NextRetryDate', {_epoch("c.next_retry_at")},
            'FailedAttempts', c.failed_attempts,
            'CancelAtPeriodEnd', c.cancel_at_period_end,
            'EndDate', {_epoch("c.ended_at")},
            'PausedFrom', {_epoch("c.paused_from")},
            'ResumeDate', {_epoch("c.resume_at")}
        )
        FROM {_table(RecurringContract)} AS c
        JOIN {_table(Purchase)} AS p ON p.id = c.purchase_id
        JOIN {_table(Buyer)} AS b ON b.id = c.buyer_id
        JOIN {_table(Subscription)} AS s ON s.id = c.subscription_id
        JOIN {_table(PricingModel)} AS m ON m.id = c.pricing_model_id
        WHERE c.id = ANY(%(ids)s)
    """  # noqa: S608


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
        events.register_renderer(
            kind,
            render,
            api_version=API_VERSION,
            sql=contract_object_sql() if kind == "contract" else "",
        )
