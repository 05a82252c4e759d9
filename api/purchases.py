"""The JSON purchase API for storefronts and players: purchase session (reference 000), create
purchase (reference 001), cancel product (reference 002, answering its Example2 product view), the
buyer's products, and the players' access check.

Parameters keep the references' names, camelCase (userId, productId, pricingModelId, coupon,
paymentType, returnURL, userIP, …). Objects are named by their public codes: `userId` is the
buyer's code (the storefront identifies its signed-in buyer; the purchase PIN confirms it),
`productId` a subscription's, `pricingModelId` a pricing model's. Answers use reference 002's
envelope: StatusCode 0, StatusMessage "OK", Content. A refusal answers its named error with a
stable code (`Error.Code`), the reference's name (`Error.Name`) and the parameter concerned.
openapi.py declares the operations (django-ninja), whose schemas read the parameters; this
module acts on them through the services.
"""

from django.http import JsonResponse

from buyers import selectors as buyer_selectors
from buyers import services as buyer_services
from buyers.errors import BuyerError
from buyers.models import Buyer
from core.errors import DomainError
from core.money import quantize
from purchases import errors as purchase_errors
from purchases import selectors as purchase_selectors
from purchases.journal import booking as journal_booking
from purchases.models import Cancellation, Purchase, PurchaseSession
from purchases.services import cancellations, checkout, sessions
from subscriptions import selectors as catalog_selectors
from subscriptions.errors import CatalogError
from subscriptions.models import Media, PricingModel, Subscription

from .idempotency import request_key_of, run_once
from .keys import ApiKeyError, require_scope
from .params import BadParameter, column_text, ip_address, text

# A service names the field it refuses; a client knows it by the reference's parameter name.
PARAMETER_OF_FIELD = {
    "buyer": "userId",
    "subscription": "productId",
    "pricing_model": "pricingModelId",
    "payment_type": "paymentType",
    "return_url": "returnURL",
    "coupon": "coupon",
    "session": "sessionId",
    "transaction_type": "transactionType",
    "user_ip": "userIP",
    "token": "previewToken",
}


def _json(data: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


def ok(content, status: int = 200) -> JsonResponse:
    body = {"StatusCode": 0, "Severity": 1, "StatusMessage": "OK", "Content": content}
    return _json(body, status)


def refused(
    status: int, code: str, message: str, *, name="", parameter=None, headers=None, content=None
):
    body = {
        "StatusCode": 1,
        "Severity": 2,
        "StatusMessage": message,
        "Error": {"Code": code, "Name": name, "Parameter": parameter},
    }
    if content is not None:
        body["Content"] = content
    response = _json(body, status)
    for header, value in (headers or {}).items():
        response[header] = value
    return response


def refusal_of(error, content=None) -> JsonResponse:
    field = getattr(error, "field", None)
    parameter = PARAMETER_OF_FIELD.get(field, field) if field else None
    return refused(
        400,
        error.code,
        error.message,
        name=type(error).__name__,
        parameter=parameter,
        content=content,
    )


def handle(request, view, params: dict, *, scope: str, idempotent: bool = False, recover=None):
    """Run `view(request, params)` for the request's API key (already authenticated), `params`
    being what the operation's declared schema read: the scope (403), then the view, its
    refusals turned into error answers; with `idempotent`, a retry with the same
    Idempotency-Key replays the first answer, or after a crashed first attempt answers its
    outcome (`recover`, else RECOVERS)."""
    try:
        require_scope(request.auth, scope)
    except ApiKeyError as error:
        return refused(error.status, error.code, error.message)

    def run():
        try:
            # Money this request moves is booked in the journal as caused by this key.
            with journal_booking.api_key(request.auth.prefix):
                return view(request, params)
        except BadParameter as error:
            return refused(error.status, error.code, error.message, parameter=error.parameter)
        except (DomainError, BuyerError, CatalogError) as error:
            return refusal_of(error)

    if idempotent:
        recover = recover or RECOVERS.get(view)

        def recovered(record):
            try:
                return recover(request, params, record)
            except (DomainError, BuyerError, CatalogError) as error:
                return refusal_of(error)

        return run_once(
            request, params, request.auth, run, refused, recover=recovered if recover else None
        )
    return run()


# --- Looking up what parameters name (a code that names nothing is None: the service decides) -


def by_code(model, params, name: str):
    code = text(params, name)
    return model.objects.filter(code=code).first() if code else None


def buyer_of(params, name: str = "userId") -> Buyer | None:
    return by_code(Buyer, params, name)


def timestamp(value) -> int:
    return int(value.timestamp()) if value else 0


# --- Answers ------------------------------------------------------------------------------------


def purchase_content(purchase: Purchase) -> dict:
    access = purchase.access if purchase.access_id else None
    return {
        "Code": purchase.code,
        "Status": purchase.status,
        "ProductId": purchase.subscription.code,
        "PricingModelId": purchase.pricing_model.code,
        "ListPrice": str(quantize(purchase.list_price, purchase.currency)),
        "Discount": str(quantize(purchase.discount, purchase.currency)),
        "Price": str(quantize(purchase.amount, purchase.currency)),
        "Currency": purchase.currency,
        "PaymentType": purchase.payment_type,
        "IsRecurring": purchase.is_recurring,
        "RedirectURL": purchase.redirect_url or None,
        "ResultCode": purchase.result_code,
        "ResponseMessage": purchase.response_message,
        "AccessPassword": access.hash if access else None,
        "AccessExpirationDate": timestamp(access.access_expire) if access else 0,
        "CreateDate": timestamp(purchase.created_at),
    }


def pricing_model_content(pricing_model: PricingModel) -> dict:
    """Reference 002's PricingModel object, in our terms (codes, not numeric ids)."""
    unit = pricing_model.recurrence_unit
    return {
        "ID": pricing_model.code,
        "Title": pricing_model.title,
        "Chargingclass": "",
        "UserType": None,
        "Price": str(quantize(pricing_model.price, pricing_model.currency)),
        "Currency": pricing_model.currency,
        "RecurrenceType": unit or None,
        "DevicesType": list(pricing_model.device_types or []),
        "Isrecurring": pricing_model.is_recurring,
        "GrantAllDevices": pricing_model.grant_all_devices,
        "Quality": pricing_model.quality,
        "RecurrenceDays": pricing_model.recurrence_count if unit == "days" else 0,
    }


def mandatory_for(buyer: Buyer) -> tuple[bool, str | None]:
    """Whether the buyer holds the shop's mandatory subscription (True when there is none)."""
    mandatory = catalog_selectors.mandatory_subscription()
    if mandatory is None:
        return True, None
    held = buyer_selectors.live_access_of(buyer=buyer, subscription=mandatory)
    return held is not None, mandatory.code


def session_status(session: PurchaseSession | None = None, error=None) -> dict:
    """The status a session call answers (reference 000): {code, message, args}; 0 is OK."""
    if error is not None:
        return {"code": 1, "message": error.message, "args": {"error": error.code}}
    return {
        "code": 0,
        "message": "OK",
        "args": {
            "id": session.pk,
            "price": str(session.price),
            "currency": session.currency,
            "expires_at": session.expires_at.isoformat(),
        },
    }


def product_view_content(purchase: Purchase, view) -> dict:
    """The buyer's view of a product as reference 002's Example2 `Content`.

    Values the purchase service does not decide here are null rather than guessed: CanAcquire
    (only a purchase attempt knows) and the per-device availability (no device is named)."""
    subscription = purchase.subscription
    access = purchase.access if purchase.access_id else None
    have_mandatory, mandatory_code = mandatory_for(purchase.buyer)
    return {
        "ID": subscription.code,
        "Type": "subscription",
        "Favorite": False,
        "Stars": 0,
        "CanWatch": {
            "SourceProductType": "subscription",
            "SourceProductId": subscription.code,
            "ProductTypeId": "subscription",
            "ProductId": subscription.code,
            "MovieAccessReason": view.access_reason,
            "RentalHoursLeft": view.rental_hours_left,
            "ExpirationDate": timestamp(view.expiration),
            "PricingModel": pricing_model_content(view.pricing_model),
            "HaveMandatorySubscription": have_mandatory,
            "MandatorySubscriptionId": mandatory_code,
            "MandatorySubscriptionMessage": "",
            "PurchaseStatus": view.purchase_status,
            "StartDate": timestamp(access.access_start) if access else 0,
        },
        "CanAcquire": None,
        "HaveVoDAccess": view.can_watch,
        "AvailableForThisDevice": None,
        "AvailableForThisDeviceInHD": None,
        "AvailableForThisDeviceInSD": None,
        "BestMediaToPlay": 0,
    }


# --- Endpoints ----------------------------------------------------------------------------------


def purchase_session(request, params):
    """Reference 000 GetPurchaseSessionID: the price is today's (with the coupon), not sent; a
    purchase with the session's id is charged that price until the session expires."""
    default_type = PurchaseSession.TransactionType.SUBSCRIPTION
    transaction_type = text(params, "transactionType") or default_type
    try:
        session = sessions.open_purchase_session(
            buyer=buyer_of(params),
            subscription=by_code(Subscription, params, "productId"),
            pricing_model=by_code(PricingModel, params, "pricingModelId"),
            media=by_code(Media, params, "contentId"),
            transaction_type=transaction_type,
            coupon_code=text(params, "coupon"),
            user_ip=ip_address(params, "userIP"),
            udid=text(params, "udid"),
            preview_module=text(params, "previewModuleID"),
        )
    except DomainError as error:
        return refusal_of(error, content={"id": None, "status": session_status(error=error)})
    return ok({"id": session.pk, "status": session_status(session)}, 201)


def create_purchase(request, params):
    """Reference 001 CreatePurchase. A redirect payment type answers the pending purchase with
    RedirectURL, where the buyer pays; a declined card answers the failed purchase (402)."""
    session_id = text(params, "sessionId")
    session = None
    if session_id:
        if not session_id.isdigit():
            raise BadParameter("sessionId", "The parameter “sessionId” must be a session's id.")
        session = PurchaseSession.objects.filter(pk=int(session_id)).first()
        if session is None:
            raise purchase_errors.InvalidPurchaseSession()
    purchase = checkout.create_purchase(
        buyer=buyer_of(params),
        subscription=by_code(Subscription, params, "productId"),
        pricing_model=by_code(PricingModel, params, "pricingModelId"),
        payment_type=text(params, "paymentType"),
        pin=text(params, "pin"),
        coupon_code=text(params, "coupon"),
        instrument=column_text(params, "instrument", Purchase, "instrument"),
        return_url=column_text(params, "returnURL", Purchase, "return_url"),
        cancel_url=column_text(params, "cancelURL", Purchase, "cancel_url"),
        device_type=text(params, "deviceType"),
        session=session,
        request_key=_request_key(request),
    )
    return purchase_answer(purchase)


def _request_key(request) -> str:
    record = getattr(request, "idempotency_record", None)
    return request_key_of(record) if record is not None else ""


def purchase_answer(purchase: Purchase) -> JsonResponse:
    status = 402 if purchase.status == Purchase.Status.FAILED else 201
    return ok(purchase_content(purchase), status)


def recover_purchase(request, params, record):
    """A retry after the first attempt died: the purchase it made, finished and answered as the
    first attempt would have answered it (None when it made none: the request runs again)."""
    purchase = Purchase.objects.filter(request_key=request_key_of(record)).first()
    if purchase is None:
        return None
    return purchase_answer(checkout.resume_purchase(purchase=purchase))


def cancel_product(request, params):
    """Reference 002 CancelProduct by the buyer (with the PIN): `mode` period_end (default: stop
    renewing, watch until the period ends) or now. Answers the product view (Example2)."""
    buyer = buyer_of(params)
    if buyer is None:
        raise purchase_errors.AuthenticationRequired()
    purchase = cancellations.find_purchase_for_cancel(
        buyer=buyer, subscription=by_code(Subscription, params, "productId")
    )
    view = cancellations.cancel_purchase(
        purchase=purchase,
        mode=text(params, "mode") or "period_end",
        pin=text(params, "pin"),
        by_buyer=True,
    )
    purchase.refresh_from_db()
    return ok(product_view_content(purchase, view))


def _recover_product_view(params, record, *, by_buyer_field: str, at_field: str):
    """A retry after the first attempt died: the buyer's cancellation row that attempt wrote or
    took back (`at_field` since the key was first seen), answered as the first attempt would
    have; None when it committed nothing (its transaction rolled back: the request runs again)."""
    buyer = buyer_of(params)
    subscription = by_code(Subscription, params, "productId")
    if buyer is None or subscription is None:
        return None
    row = (
        Cancellation.objects.filter(
            purchase__buyer=buyer,
            purchase__subscription=subscription,
            **{by_buyer_field: True, f"{at_field}__gte": record.created_at},
        )
        .select_related("purchase")
        .order_by(f"-{at_field}")
        .first()
    )
    if row is None:
        return None
    purchase = row.purchase
    return ok(product_view_content(purchase, cancellations.product_view(purchase)))


def recover_cancellation(request, params, record):
    """The cancellation a crashed first attempt committed."""
    return _recover_product_view(params, record, by_buyer_field="by_buyer", at_field="created_at")


def reactivate_product(request, params):
    """Take back a CancelProduct at the period's end before the period ends (the buyer, with the
    PIN): the purchase renews again. Answers the product view (Example2)."""
    buyer = buyer_of(params)
    if buyer is None:
        raise purchase_errors.AuthenticationRequired()
    purchase = cancellations.find_purchase_for_cancel(
        buyer=buyer, subscription=by_code(Subscription, params, "productId")
    )
    view = cancellations.reactivate_purchase(
        purchase=purchase, pin=text(params, "pin"), by_buyer=True
    )
    purchase.refresh_from_db()
    return ok(product_view_content(purchase, view))


def buyer_products(request, params):
    """What the buyer can watch now: each access live and started, with its purchase's view."""
    buyer = buyer_of(params)
    if buyer is None:
        raise purchase_errors.AuthenticationRequired()
    items = []
    for access in purchase_selectors.buyer_products(buyer):
        purchase = getattr(access, "purchase", None)
        items.append(
            {
                "ProductId": access.subscription.code,
                "Name": access.subscription.name,
                "CanWatch": True,
                "MovieAccessReason": "purchased" if purchase else "granted",
                "ExpirationDate": timestamp(access.access_expire),
                "StartDate": timestamp(access.access_start),
                "PurchaseStatus": purchase.status if purchase else None,
                "PricingModel": pricing_model_content(purchase.pricing_model) if purchase else None,
            }
        )
    return ok(items)


def access_check(request, params):
    """For players: does access password `hash` open subscription `productId` now? The first
    use from a device (`udid`, else the IP) counts an activation. A refusal answers its reason."""
    result = buyer_services.check_access(
        subscription_code=text(params, "productId"),
        access_password=text(params, "hash"),
        device_id=text(params, "udid"),
        ip_address=text(params, "userIP") or request.META.get("REMOTE_ADDR"),
    )
    access = result.access
    return ok(
        {
            "Granted": result.granted,
            "Reason": result.reason or None,
            "NewActivation": result.new_activation,
            "ActivationsUsed": access.activations_used if access and result.granted else None,
            "ActivationLimit": access.activation_limit if access and result.granted else None,
            "ExpirationDate": timestamp(access.access_expire) if access and result.granted else 0,
        }
    )


# Endpoints whose first attempt can be found after a crash (run_once's `recover`).
def recover_reactivation(request, params, record):
    """The stop a crashed first attempt took back."""
    return _recover_product_view(
        params, record, by_buyer_field="undone_by_buyer", at_field="undone_at"
    )


RECOVERS = {
    create_purchase: recover_purchase,
    cancel_product: recover_cancellation,
    reactivate_product: recover_reactivation,
}
