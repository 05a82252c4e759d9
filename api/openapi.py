"""The JSON API's contract: django-ninja declares each operation with its parameters and answers,
and serves the OpenAPI 3 document at /api/schema/ and browsable docs at /api/docs/.

django-ninja rather than DRF with drf-spectacular: these are a few function endpoints over
services, not model resources; ninja documents them from type hints without serializers, viewsets
or a second settings layer, and ships Swagger UI as local static files (no CDN: strict CSP). The
schemas here read each operation's parameters, once; purchases.py acts on what they read and
builds the answers, which the schemathesis test holds to the schemas.

The reference-004 PPV API (/api/ppv/<method>, XML) is not in this document: reference 004 itself
is its contract, replayed by tests/api/test_ppv_reference.py.
"""

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyQuery, HttpBearer
from pydantic import BeforeValidator

from api.models import ApiKey

from . import purchases
from .keys import ApiKeyError, authenticate
from .purchases import handle, refused


class ApiKeyBearer(HttpBearer):
    """`Authorization: Bearer <key>`."""

    def authenticate(self, request: HttpRequest, token: str):
        return authenticate(request, {"apikey": token})


class ApiKeyParameter(APIKeyQuery):
    """`?apikey=<key>`, as the reference PPV API sends it."""

    param_name = "apikey"

    def authenticate(self, request: HttpRequest, key: str | None):
        return authenticate(request, {"apikey": key}) if key else None


api = NinjaAPI(
    title="Video shop back office API",
    version="1",
    description=(
        "Purchases, cancellations, buyers' products and the players' access check. "
        "Authenticate with an API key from the back office (API keys page). "
        "Send an `Idempotency-Key` header on create and cancel: a retry gets the first answer."
    ),
    urls_namespace="api",
    openapi_url="/schema/",
    docs_url="/docs/",
    auth=[ApiKeyBearer(), ApiKeyParameter()],
)


@api.exception_handler(ApiKeyError)
def api_key_refused(request, error: ApiKeyError):
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    return refused(error.status, error.code, error.message, headers=headers)


@api.exception_handler(AuthenticationError)
def api_key_missing(request, error):
    return refused(401, "api_key_required", "Send an API key: a Bearer token or apikey=….")


@api.exception_handler(HttpError)
def request_refused_by_ninja(request, error: HttpError):
    """Ninja's own refusals (an unreadable JSON body) in the API's error shape."""
    code = "unreadable_body" if error.status_code == 400 else "refused"
    return refused(error.status_code, code, str(error))


@api.exception_handler(ValidationError)
def parameters_unreadable(request, error: ValidationError):
    first = error.errors[0] if error.errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    parameter = location[-1] if location else None
    message = first.get("msg", "The request's parameters cannot be read.")
    return refused(
        400, "invalid", f"{parameter}: {message}" if parameter else message, parameter=parameter
    )


def _as_text(value):
    """Parameters are text, as in a query string: a number or yes/no sent in JSON is read so."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError("must be text, a number or true/false")


Text = Annotated[str | None, BeforeValidator(_as_text)]


# --- Answers ------------------------------------------------------------------------------------


class ErrorDetail(Schema):
    Code: str = Field(description="Stable code of the refusal, e.g. insufficient_balance.")
    Name: str = Field(description="The reference's name of it, e.g. InsufficientBalance.")
    Parameter: str | None = Field(description="The parameter concerned, when one is.")


class Refusal(Schema):
    StatusCode: int = Field(description="1: refused.")
    Severity: int
    StatusMessage: str = Field(description="What was refused, for people.")
    Error: ErrorDetail
    Content: Any = None


class SessionStatus(Schema):
    code: int = Field(description="0: OK; 1: refused (args.error names the refusal).")
    message: str
    args: dict[str, Any]


class SessionContent(Schema):
    id: int | None = Field(description="The purchase session's id (PurchaseCustomDataId).")
    status: SessionStatus


class SessionAnswer(Schema):
    StatusCode: int
    Severity: int
    StatusMessage: str
    Content: SessionContent


class PurchaseContent(Schema):
    Code: str
    Status: str = Field(description="pending, completed, failed, cancelling, cancelled, refunded")
    ProductId: str
    PricingModelId: str
    ListPrice: str
    Discount: str
    Price: str
    Currency: str
    PaymentType: str
    IsRecurring: bool
    RedirectURL: str | None = Field(description="Where to send the buyer to pay (pending).")
    ResultCode: str
    ResponseMessage: str
    AccessPassword: str | None
    AccessExpirationDate: int = Field(description="Unix time; 0: none.")
    CreateDate: int


class PurchaseAnswer(Schema):
    StatusCode: int
    Severity: int
    StatusMessage: str
    Content: PurchaseContent


class PricingModelContent(Schema):
    ID: str
    Title: str
    Chargingclass: str
    UserType: Any = None
    Price: str
    Currency: str
    RecurrenceType: str | None
    DevicesType: list[str]
    Isrecurring: bool
    GrantAllDevices: bool
    Quality: str
    RecurrenceDays: int


class CanWatch(Schema):
    SourceProductType: str
    SourceProductId: str
    ProductTypeId: str
    ProductId: str
    MovieAccessReason: str
    RentalHoursLeft: int | None
    ExpirationDate: int
    PricingModel: PricingModelContent
    HaveMandatorySubscription: bool
    MandatorySubscriptionId: str | None
    MandatorySubscriptionMessage: str
    PurchaseStatus: str
    StartDate: int


class ProductView(Schema):
    """Reference 002's Example2 `Content`."""

    ID: str
    Type: str
    Favorite: bool
    Stars: int
    CanWatch: CanWatch
    CanAcquire: bool | None
    HaveVoDAccess: bool
    AvailableForThisDevice: bool | None
    AvailableForThisDeviceInHD: bool | None
    AvailableForThisDeviceInSD: bool | None
    BestMediaToPlay: int


class ProductViewAnswer(Schema):
    StatusCode: int
    Severity: int
    StatusMessage: str
    Content: ProductView


class BuyerProduct(Schema):
    ProductId: str
    Name: str
    CanWatch: bool
    MovieAccessReason: str = Field(description="purchased or granted (by staff or addbuyer)")
    ExpirationDate: int
    StartDate: int
    PurchaseStatus: str | None
    PricingModel: PricingModelContent | None


class BuyerProductsAnswer(Schema):
    StatusCode: int
    Severity: int
    StatusMessage: str
    Content: list[BuyerProduct]


class AccessCheckContent(Schema):
    Granted: bool
    Reason: str | None = Field(
        description="unknown, revoked, not_started, expired, activation_limit_reached"
    )
    NewActivation: bool
    ActivationsUsed: int | None
    ActivationLimit: int | None
    ExpirationDate: int


class AccessCheckAnswer(Schema):
    StatusCode: int
    Severity: int
    StatusMessage: str
    Content: AccessCheckContent


REFUSALS = {400: Refusal, 401: Refusal, 403: Refusal, 429: Refusal}
IDEMPOTENT_REFUSALS = {**REFUSALS, 409: Refusal, 422: Refusal}


# --- Requests -----------------------------------------------------------------------------------


class SessionIn(Schema):
    """Reference 000 GetPurchaseSessionID's parameters (the price is today's, not sent)."""

    userId: Text = Field(None, description="The buyer's code.")
    productId: Text = Field(None, description="The subscription's code.")
    pricingModelId: Text = Field(None, description="A pricing model's code (default: the default).")
    contentId: Text = Field(None, description="A media's code in the subscription.")
    coupon: Text = None
    userIP: Text = None
    udid: Text = None
    transactionType: Text = Field(None, description="PPV, Subscription, Collection, …")
    previewModuleID: Text = None


class PurchaseIn(Schema):
    """Reference 001 CreatePurchase's parameters; the buyer is named by code, confirmed by PIN."""

    buyer: Text = Field(None, description="The buyer's code.")
    productId: Text = Field(None, description="The subscription's code.")
    productType: Text = Field(None, description="Only subscriptions are sold.")
    pricingModelId: Text = Field(None, description="The pricing model's code.")
    paymentType: Text = Field(None, description="wallet or an enabled gateway (sandbox_card, …)")
    pin: Text = Field(None, description="The buyer's purchase PIN.")
    returnURL: Text = None
    cancelURL: Text = None
    couponCode: Text = None
    instrument: Text = Field(None, description="The stored card's token (card gateways).")
    deviceType: Text = None
    sessionId: Text = Field(None, description="A purchase session's id.")


class CancelIn(Schema):
    """Reference 002 CancelProduct's parameters, by the buyer."""

    buyer: Text = Field(None, description="The buyer's code.")
    productId: Text = Field(None, description="The subscription's code.")
    productTypeId: Text = None
    pin: Text = Field(None, description="The buyer's purchase PIN.")
    mode: Text = Field(None, description="period_end (default) or now.")


class BuyerProductsIn(Schema):
    buyer: Text = Field(None, description="The buyer's code.")


class AccessCheckIn(Schema):
    code: Text = Field(None, description="The subscription's code.")
    hash: Text = Field(None, description="The access password.")
    udid: Text = Field(None, description="The device's id (else it is known by its IP).")
    ip: Text = Field(None, description="The viewer's IP address (default: the caller's).")


# --- Operations ---------------------------------------------------------------------------------

PURCHASES = ApiKey.Scope.PURCHASES


def params_of(schema: Schema | None) -> dict:
    """The parameters an operation's schema read (those the request gave), for its handler."""
    return schema.model_dump(exclude_none=True) if schema is not None else {}


@api.post(
    "/purchases/sessions",
    response={201: SessionAnswer, **REFUSALS},
    url_name="purchase_session",
    tags=["Purchases"],
    summary="Open a purchase session (reference 000)",
)
def purchase_session(request, payload: SessionIn = None):
    return handle(request, purchases.purchase_session, params_of(payload), scope=PURCHASES)


@api.post(
    "/purchases",
    response={201: PurchaseAnswer, 402: PurchaseAnswer, **IDEMPOTENT_REFUSALS},
    url_name="purchase_create",
    tags=["Purchases"],
    summary="Create a purchase (reference 001); 402 answers a declined payment",
)
def create_purchase(request, payload: PurchaseIn = None):
    return handle(
        request, purchases.create_purchase, params_of(payload), scope=PURCHASES, idempotent=True
    )


@api.post(
    "/purchases/cancel",
    response={200: ProductViewAnswer, **IDEMPOTENT_REFUSALS},
    url_name="purchase_cancel",
    tags=["Purchases"],
    summary="Cancel a product (reference 002), answering the buyer's product view",
)
def cancel_product(request, payload: CancelIn = None):
    return handle(
        request, purchases.cancel_product, params_of(payload), scope=PURCHASES, idempotent=True
    )


BUYER_PRODUCTS = {
    "response": {200: BuyerProductsAnswer, **REFUSALS},
    "tags": ["Buyers"],
    "summary": "What the buyer can watch now",
}


@api.get("/buyers/products", url_name="buyer_products", **BUYER_PRODUCTS)
def buyer_products(request, filters: Query[BuyerProductsIn]):
    return handle(request, purchases.buyer_products, params_of(filters), scope=PURCHASES)


@api.post("/buyers/products", url_name="buyer_products", **BUYER_PRODUCTS)
def buyer_products_post(request, payload: BuyerProductsIn = None):
    return handle(request, purchases.buyer_products, params_of(payload), scope=PURCHASES)


ACCESS_CHECK = {
    "response": {200: AccessCheckAnswer, **REFUSALS},
    "tags": ["Players"],
    "summary": "May this access password play this subscription now?",
}


@api.get("/access/check", url_name="access_check", **ACCESS_CHECK)
def access_check(request, filters: Query[AccessCheckIn]):
    return handle(
        request, purchases.access_check, params_of(filters), scope=ApiKey.Scope.ACCESS_CHECK
    )


@api.post("/access/check", url_name="access_check", **ACCESS_CHECK)
def access_check_post(request, payload: AccessCheckIn = None):
    return handle(
        request, purchases.access_check, params_of(payload), scope=ApiKey.Scope.ACCESS_CHECK
    )
