"""The JSON API's contract: django-ninja declares each operation with its parameters and answers,
and serves the OpenAPI 3 document at /api/schema/ and browsable docs at /api/docs/.

django-ninja rather than DRF with drf-spectacular: these are a few function endpoints over
services, not model resources; ninja documents them from type hints without serializers, viewsets
or a second settings layer, and ships Swagger UI as local static files (no CDN: strict CSP). The
schemas here read each operation's parameters, once; purchases.py acts on what they read and
builds the answers, which the schemathesis test holds to the schemas.

The reference-004 PPV API (/api/ppv/<method>, XML or JSON) is a plain view of its own; its
methods are added to this document from their table (ppv_schema.py), and reference 004's
samples and its real clients are replayed by tests/api/test_ppv_reference.py and
test_ppv_clients.py.
"""

import json
from typing import Annotated, Any, ClassVar

from django.http import HttpRequest
from ninja import Field, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import APIKeyQuery, HttpBearer
from pydantic import BeforeValidator, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from api.models import ApiKey

from . import pauses, plan_changes, purchases, support
from .events import API_VERSION
from .keys import ApiKeyError, authenticate
from .ppv_schema import ppv_paths
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


def api_key_field(request: HttpRequest):
    """`apikey` as a field of the request's body (JSON or a form), as the PPV API takes it; each
    operation's parameters declare it (the document has no security scheme for a body field)."""
    if request.method != "POST" or not request.body:
        return None
    try:
        fields = ParametersParser().parse_body(request)
    except ValueError:
        return None  # the operation answers that the body cannot be read
    key = fields.get("apikey") if isinstance(fields, dict) else None
    return authenticate(request, {"apikey": key}) if isinstance(key, str) and key else None


class ParametersParser(Parser):
    """A POST's parameters: a JSON object, or a form (`application/x-www-form-urlencoded`)."""

    def parse_body(self, request: HttpRequest):
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return {name: request.POST.get(name) for name in request.POST}
        return json.loads(request.body)


class UnknownParameters(Exception):
    def __init__(self, unknown, known, *, where=""):
        super().__init__(", ".join(unknown))
        self.unknown, self.known, self.where = list(unknown), list(known), where


class BackOfficeApi(NinjaAPI):
    """The JSON API's operations, and in its document the reference PPV API too (a plain view
    of its own, described by ppv_schema.py), so Swagger shows both."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        security = [{name: []} for name in ("ApiKeyBearer", "ApiKeyParameter")]
        schema["paths"].update(ppv_paths(path_prefix, security))
        return schema


api = BackOfficeApi(
    title="Video shop back office API",
    version=API_VERSION,
    description=(
        "Purchases, cancellations, buyers' products and the players' access check. "
        "Authenticate with an API key from the back office (API keys page), sent as a Bearer "
        "token, `?apikey=` or an `apikey` field of the body alike. "
        "Parameters are camelCase, named as in the references (`userId`, `productId`, "
        "`pricingModelId`, `coupon`, `userIP`); the old names shown as deprecated are still "
        "read. An unknown parameter is refused (400 `unknown_parameter`). "
        "Send an `Idempotency-Key` header on create and cancel: a retry gets the first answer. "
        "The reference PPV API (`/api/ppv/<method>`, tag PPV) answers XML, or JSON with "
        "`format=json`; its refusals carry `Status: Failure` and a `Code`."
    ),
    urls_namespace="api",
    openapi_url="/schema/",
    docs_url="/docs/",
    auth=[ApiKeyBearer(), ApiKeyParameter(), api_key_field],
    parser=ParametersParser(),
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


@api.exception_handler(UnknownParameters)
def parameters_unknown(request, error: UnknownParameters):
    names = ", ".join(f"“{name}”" for name in error.unknown)
    plural = "s" if len(error.unknown) > 1 else ""
    message = f"Unknown parameter{plural} {names}{error.where}: this operation takes " + (
        ", ".join(error.known) or "none there"
    )
    return refused(400, "unknown_parameter", message + ".", parameter=error.unknown[0])


@api.exception_handler(ValidationError)
def parameters_unreadable(request, error: ValidationError):
    extra = [
        str(problem["loc"][-1])
        for problem in error.errors
        if problem.get("type") == "extra_forbidden" and problem.get("loc")
    ]
    if extra:
        match = request.resolver_match
        declared = PARAMETERS_OF.get(match.url_name if match else "")
        return parameters_unknown(request, UnknownParameters(extra, current_names(declared)))
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


class ContractContent(Schema):
    """A recurring contract as events show it (reference 003's contract, by codes)."""

    Code: str
    PurchaseId: str
    BuyerId: str
    ProductId: str
    PricingModelId: str
    Status: str = Field(description="active, past_due, paused, cancelled or expired")
    Amount: str
    Currency: str
    PeriodsPaid: int
    NextBillDate: int
    NextRetryDate: int
    FailedAttempts: int
    CancelAtPeriodEnd: bool
    EndDate: int
    PausedFrom: int = Field(description="When the pause started or starts (0: not paused).")
    ResumeDate: int = Field(description="When the pause ends and the contract resumes.")


class ContractAnswer(Schema):
    StatusCode: int
    Severity: int
    StatusMessage: str
    Content: ContractContent


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


class RuleAnswerContent(Schema):
    Rule: str = Field(description="The rule's stable name, e.g. mandatory, balance, expired.")
    Title: str
    Outcome: str = Field(description="passed, failed, not_checked or note")
    Reason: str
    Fix: str = Field(description="What would change it (failed rules and notes).")
    Code: str | None = Field(description="The refusal's code a real call would answer.")


class ExplainContent(Schema):
    BuyerId: str
    ProductId: str
    PricingModelId: str | None
    PaymentType: str
    CanBuy: bool = Field(description="A purchase of it now would be accepted.")
    CanWatch: bool = Field(description="The access check would let the device play it now.")
    AccessId: str | None = Field(description="The access the watch rules were asked about.")
    Purchase: list[RuleAnswerContent]
    Watch: list[RuleAnswerContent]
    Notes: list[RuleAnswerContent]


class ExplainAnswer(Schema):
    StatusCode: int
    Severity: int
    StatusMessage: str
    Content: ExplainContent


class PlanChangePreviewContent(Schema):
    ContractId: str
    ProductId: str
    FromPricingModelId: str
    PricingModelId: str
    Timing: str = Field(description="now (prorated) or period_end (the next renewal)")
    ProratedAt: int = Field(description="Unix time the unused share is counted from.")
    PeriodStart: int
    PeriodEnd: int
    Credit: str = Field(
        description="The unused share of what was paid for this period, rounded down to the "
        "currency's minor unit (0 at the period's end)."
    )
    Charge: str = Field(description="The new pricing model's price for a new period from now.")
    ChargedNow: str = Field(description="max(0, Charge - Credit): charged to the stored card.")
    CreditedToWallet: str = Field(description="max(0, Credit - Charge): to the buyer's e-wallet.")
    Currency: str
    NextBillDate: int
    NextAmount: str = Field(description="Charged on NextBillDate and every period after.")
    PreviewToken: str = Field(description="Send it back as previewToken to confirm.")
    PreviewExpires: int


class PlanChangePreviewAnswer(Schema):
    StatusCode: int
    Severity: int
    StatusMessage: str
    Content: PlanChangePreviewContent


class PlanChangeContent(Schema):
    ChangeId: str
    ContractId: str
    Status: str = Field(description="applied (now) or scheduled (period_end)")
    Timing: str
    FromPricingModelId: str
    PricingModelId: str
    Credit: str
    Charge: str
    ChargedNow: str
    CreditedToWallet: str
    Currency: str
    PNRef: str | None
    NextBillDate: int
    NextAmount: str


class PlanChangeAnswer(Schema):
    StatusCode: int
    Severity: int
    StatusMessage: str
    Content: PlanChangeContent


REFUSALS = {400: Refusal, 401: Refusal, 403: Refusal, 429: Refusal}
IDEMPOTENT_REFUSALS = {**REFUSALS, 409: Refusal, 422: Refusal}


# --- Requests -----------------------------------------------------------------------------------


class Parameters(Schema):
    """An operation's parameters, read once: camelCase as in the references, text as in a query
    string. One the operation does not take is refused, not ignored (a typo would otherwise
    answer as if it were absent). `RENAMED` maps an old name, still read, to its new one."""

    model_config = ConfigDict(extra="forbid")
    RENAMED: ClassVar[dict[str, str]] = {}

    apikey: Text = Field(
        None, description="The API key, when not sent as a Bearer token or `?apikey=`."
    )


def old_name(new: str) -> Any:
    return Field(None, deprecated=True, description=f"Old name of `{new}`, still read.")


class SessionIn(Parameters):
    """Reference 000 GetPurchaseSessionID's parameters (the price is today's, not sent)."""

    userId: Text = Field(None, description="The buyer's code.")
    productId: Text = Field(None, description="The subscription's code.")
    pricingModelId: Text = Field(None, description="A pricing model's code (default: the default).")
    contentId: Text = Field(None, description="A media's code in the subscription.")
    coupon: Text = Field(None, description="A coupon's code.")
    userIP: Text = Field(None, description="The buyer's IP address.")
    udid: Text = Field(None, description="The buyer's device id.")
    transactionType: Text = Field(None, description="PPV, Subscription, Collection, …")
    previewModuleID: Text = None


class PurchaseIn(Parameters):
    """Reference 001 CreatePurchase's parameters; the buyer is named by code, confirmed by PIN."""

    RENAMED: ClassVar[dict[str, str]] = {"buyer": "userId", "couponCode": "coupon"}

    userId: Text = Field(None, description="The buyer's code.")
    productId: Text = Field(None, description="The subscription's code.")
    productType: Text = Field(None, description="Only subscriptions are sold.")
    pricingModelId: Text = Field(None, description="The pricing model's code.")
    paymentType: Text = Field(None, description="wallet or an enabled gateway (sandbox_card, …)")
    pin: Text = Field(None, description="The buyer's purchase PIN.")
    returnURL: Text = None
    cancelURL: Text = None
    coupon: Text = Field(None, description="A coupon's code.")
    instrument: Text = Field(None, description="The stored card's token (card gateways).")
    deviceType: Text = None
    sessionId: Text = Field(None, description="A purchase session's id.")
    buyer: Text = old_name("userId")
    couponCode: Text = old_name("coupon")


class CancelIn(Parameters):
    """Reference 002 CancelProduct's parameters, by the buyer."""

    RENAMED: ClassVar[dict[str, str]] = {"buyer": "userId"}

    userId: Text = Field(None, description="The buyer's code.")
    productId: Text = Field(None, description="The subscription's code.")
    productTypeId: Text = None
    pin: Text = Field(None, description="The buyer's purchase PIN.")
    mode: Text = Field(None, description="period_end (default) or now.")
    buyer: Text = old_name("userId")


class ReactivateIn(Parameters):
    """Which stopped purchase to renew again, by the buyer."""

    RENAMED: ClassVar[dict[str, str]] = {"buyer": "userId"}

    userId: Text = Field(None, description="The buyer's code.")
    productId: Text = Field(None, description="The subscription's code.")
    pin: Text = Field(None, description="The buyer's purchase PIN.")
    buyer: Text = old_name("userId")


class PauseIn(Parameters):
    """Which recurring purchase the buyer pauses, from when and for how long."""

    userId: Text = Field(None, description="The buyer's code.")
    productId: Text = Field(None, description="The subscription's code.")
    pin: Text = Field(None, description="The buyer's purchase PIN.")
    start: Text = Field(None, description="now (default) or period_end.")
    periods: Text = Field(None, description="Pause for this many billing periods (1 or more).")
    until: Text = Field(
        None,
        description="Or pause until this date (YYYY-MM-DD, 00:00 in the shop's time zone). "
        "Neither: open-ended, resumed on its own after the shop's longest pause.",
    )


class ResumeIn(Parameters):
    """Which paused recurring purchase the buyer resumes now."""

    userId: Text = Field(None, description="The buyer's code.")
    productId: Text = Field(None, description="The subscription's code.")
    pin: Text = Field(None, description="The buyer's purchase PIN.")


class PlanChangePreviewIn(Parameters):
    """Which contract (the buyer's, of the product) changes to which pricing model, and when."""

    userId: Text = Field(None, description="The buyer's code.")
    productId: Text = Field(None, description="The subscription's code.")
    pricingModelId: Text = Field(None, description="The pricing model to change to.")
    timing: Text = Field(None, description="now (default: prorated) or period_end.")


class PlanChangeIn(PlanChangePreviewIn):
    """A preview confirmed: its token, and the buyer's PIN."""

    previewToken: Text = Field(None, description="The preview's PreviewToken.")
    pin: Text = Field(None, description="The buyer's purchase PIN.")


class BuyerProductsIn(Parameters):
    RENAMED: ClassVar[dict[str, str]] = {"buyer": "userId"}

    userId: Text = Field(None, description="The buyer's code.")
    buyer: Text = old_name("userId")


class AccessCheckIn(Parameters):
    RENAMED: ClassVar[dict[str, str]] = {"code": "productId", "ip": "userIP"}

    productId: Text = Field(None, description="The subscription's code.")
    hash: Text = Field(None, description="The access password.")
    udid: Text = Field(None, description="The device's id (else it is known by its IP).")
    userIP: Text = Field(None, description="The viewer's IP address (default: the caller's).")
    code: Text = old_name("productId")
    ip: Text = old_name("userIP")


class ExplainIn(Parameters):
    userId: Text = Field(None, description="The buyer's code or e-mail.")
    productId: Text = Field(None, description="The subscription's code.")
    pricingModelId: Text = Field(None, description="A pricing model's code (default: the default).")
    paymentType: Text = Field(None, description="wallet (default) or an enabled gateway.")
    deviceType: Text = None
    coupon: Text = Field(None, description="A coupon's code.")
    udid: Text = Field(None, description="The player's device id (default: a new device).")


# --- Operations ---------------------------------------------------------------------------------

PURCHASES = ApiKey.Scope.PURCHASES


def current_names(declared: type[Parameters] | None) -> list[str]:
    """The parameters an operation documents, without the old names it still reads."""
    if declared is None:
        return []
    return [name for name in declared.model_fields if name not in declared.RENAMED]


def params_of(request, declared: type[Parameters], given: Parameters | None, *, query: bool):
    """What the operation's schema read (`given`, from the query string or the body), by the
    new names; UnknownParameters for anything else in the query string."""
    taken = [name for name in declared.model_fields if name != "apikey"]
    known_in_query = {"apikey", *(taken if query else ())}
    unknown = [name for name in request.GET if name not in known_in_query]
    if unknown:
        where = "" if query else " in the query string (send them in the body)"
        raise UnknownParameters(
            unknown, current_names(declared) if query else ["apikey"], where=where
        )
    values = given.model_dump(exclude_none=True) if given is not None else {}
    values.pop("apikey", None)
    for old, new in declared.RENAMED.items():
        if old in values:
            values.setdefault(new, values[old])
            del values[old]
    return values


def body_params(request, declared: type[Parameters], given: Parameters | None) -> dict:
    return params_of(request, declared, given, query=False)


def query_params(request, declared: type[Parameters], given: Parameters | None) -> dict:
    return params_of(request, declared, given, query=True)


@api.post(
    "/purchases/sessions",
    response={201: SessionAnswer, **REFUSALS},
    url_name="purchase_session",
    tags=["Purchases"],
    summary="Open a purchase session (reference 000)",
)
def purchase_session(request, payload: SessionIn = None):
    params = body_params(request, SessionIn, payload)
    return handle(request, purchases.purchase_session, params, scope=PURCHASES)


@api.post(
    "/purchases",
    response={201: PurchaseAnswer, 402: PurchaseAnswer, **IDEMPOTENT_REFUSALS},
    url_name="purchase_create",
    tags=["Purchases"],
    summary="Create a purchase (reference 001); 402 answers a declined payment",
)
def create_purchase(request, payload: PurchaseIn = None):
    params = body_params(request, PurchaseIn, payload)
    return handle(request, purchases.create_purchase, params, scope=PURCHASES, idempotent=True)


@api.post(
    "/purchases/cancel",
    response={200: ProductViewAnswer, **IDEMPOTENT_REFUSALS},
    url_name="purchase_cancel",
    tags=["Purchases"],
    summary="Cancel a product (reference 002), answering the buyer's product view",
)
def cancel_product(request, payload: CancelIn = None):
    params = body_params(request, CancelIn, payload)
    return handle(request, purchases.cancel_product, params, scope=PURCHASES, idempotent=True)


@api.post(
    "/purchases/reactivate",
    response={200: ProductViewAnswer, **IDEMPOTENT_REFUSALS},
    url_name="purchase_reactivate",
    tags=["Purchases"],
    summary="Take back a stop at the period's end before the period ends: the purchase renews",
)
def reactivate_product(request, payload: ReactivateIn = None):
    params = body_params(request, ReactivateIn, payload)
    return handle(request, purchases.reactivate_product, params, scope=PURCHASES, idempotent=True)


@api.post(
    "/purchases/pause",
    response={200: ContractAnswer, **IDEMPOTENT_REFUSALS},
    url_name="purchase_pause",
    tags=["Purchases"],
    summary="Pause a recurring purchase: no charge and no access until it resumes",
)
def pause_product(request, payload: PauseIn = None):
    params = body_params(request, PauseIn, payload)
    return handle(
        request,
        pauses.pause_product,
        params,
        scope=PURCHASES,
        idempotent=True,
        recover=pauses.recover_pause,
    )


@api.post(
    "/purchases/resume",
    response={200: ContractAnswer, **IDEMPOTENT_REFUSALS},
    url_name="purchase_resume",
    tags=["Purchases"],
    summary="Resume a paused recurring purchase now; the next bill date moves by the time paused",
)
def resume_product(request, payload: ResumeIn = None):
    params = body_params(request, ResumeIn, payload)
    return handle(
        request,
        pauses.resume_product,
        params,
        scope=PURCHASES,
        idempotent=True,
        recover=pauses.recover_resume,
    )


PLAN_CHANGE_ERRORS = (
    " Refusals (Error.Name): AuthenticationRequired, ProductDoesNotExist, "
    "UserHasNoRightsToThisProduct, InvalidPricingModel, InvalidPricingModelForThisProduct "
    "(another subscription's), PlanChangeNotRecurring, PlanChangeCurrency, "
    "PlanChangeSamePricingModel, PlanChangeTiming, ContractEnded, ContractPaused, "
    "ContractPastDue, ContractStopping, RenewalInFlight (a renewal charge is running), "
    "PurchasePeriodOver, PlanChangeAlreadyScheduled"
)


@api.post(
    "/purchases/plan-change/preview",
    response={200: PlanChangePreviewAnswer, **REFUSALS},
    url_name="plan_change_preview",
    tags=["Purchases"],
    summary="Preview a plan change: the credit, the charge, what is charged now, the next bill",
    description="Nothing is written. Confirm within PLAN_CHANGE_PREVIEW_SECONDS with the token."
    + PLAN_CHANGE_ERRORS
    + ".",
)
def preview_plan_change(request, payload: PlanChangePreviewIn = None):
    params = body_params(request, PlanChangePreviewIn, payload)
    return handle(request, plan_changes.preview_plan_change, params, scope=PURCHASES)


@api.post(
    "/purchases/plan-change",
    response={201: PlanChangeAnswer, **IDEMPOTENT_REFUSALS},
    url_name="plan_change",
    tags=["Purchases"],
    summary="Confirm a previewed plan change with exactly its amounts (Idempotency-Key)",
    description="Now: charged through the contract's stored card (or e-wallet) and applied; "
    "at period_end: scheduled for the next renewal."
    + PLAN_CHANGE_ERRORS
    + ", PlanChangePreviewOutdated (the amounts changed, or the token is too old or another "
    "change's), PlanChangeDeclined (the contract is unchanged), UserPurchasePinValueNoMatch.",
)
def change_plan(request, payload: PlanChangeIn = None):
    params = body_params(request, PlanChangeIn, payload)
    return handle(
        request,
        plan_changes.change_plan,
        params,
        scope=PURCHASES,
        idempotent=True,
        recover=plan_changes.recover_plan_change,
    )


# Each operation's parameters by its URL name (a GET and a POST of one path share it).
PARAMETERS_OF = {
    "purchase_session": SessionIn,
    "purchase_create": PurchaseIn,
    "purchase_cancel": CancelIn,
    "purchase_reactivate": ReactivateIn,
    "purchase_pause": PauseIn,
    "purchase_resume": ResumeIn,
    "plan_change_preview": PlanChangePreviewIn,
    "plan_change": PlanChangeIn,
    "buyer_products": BuyerProductsIn,
    "access_check": AccessCheckIn,
    "support_explain": ExplainIn,
}

BUYER_PRODUCTS = {
    "response": {200: BuyerProductsAnswer, **REFUSALS},
    "tags": ["Buyers"],
    "summary": "What the buyer can watch now",
}


@api.get("/buyers/products", url_name="buyer_products", **BUYER_PRODUCTS)
def buyer_products(request, filters: Query[BuyerProductsIn]):
    params = query_params(request, BuyerProductsIn, filters)
    return handle(request, purchases.buyer_products, params, scope=PURCHASES)


@api.post("/buyers/products", url_name="buyer_products", **BUYER_PRODUCTS)
def buyer_products_post(request, payload: BuyerProductsIn = None):
    params = body_params(request, BuyerProductsIn, payload)
    return handle(request, purchases.buyer_products, params, scope=PURCHASES)


ACCESS_CHECK = {
    "response": {200: AccessCheckAnswer, **REFUSALS},
    "tags": ["Players"],
    "summary": "May this access password play this subscription now?",
}


def access_check_by_query(request):
    """GET /api/access/check for players, as the operation below answers it, without
    django-ninja's dispatch: players ask on every play (api/middleware.py sends it here). The
    same key check, schema, refusals and answer; tests and the OpenAPI contract run through it."""
    try:
        request.auth = authenticate(request, request.GET)
    except ApiKeyError as error:
        return api_key_refused(request, error)
    try:
        declared = {
            name: value for name, value in request.GET.items() if name in AccessCheckIn.model_fields
        }
        params = query_params(request, AccessCheckIn, AccessCheckIn.model_validate(declared))
    except UnknownParameters as error:
        return parameters_unknown(request, error)
    except PydanticValidationError as error:
        return parameters_unreadable(request, ValidationError(error.errors(include_url=False)))
    return handle(request, purchases.access_check, params, scope=ApiKey.Scope.ACCESS_CHECK)


@api.get("/access/check", url_name="access_check", **ACCESS_CHECK)
def access_check(request, filters: Query[AccessCheckIn]):
    params = query_params(request, AccessCheckIn, filters)
    return handle(request, purchases.access_check, params, scope=ApiKey.Scope.ACCESS_CHECK)


@api.post("/access/check", url_name="access_check", **ACCESS_CHECK)
def access_check_post(request, payload: AccessCheckIn = None):
    params = body_params(request, AccessCheckIn, payload)
    return handle(request, purchases.access_check, params, scope=ApiKey.Scope.ACCESS_CHECK)


EXPLAIN = {
    "response": {200: ExplainAnswer, **REFUSALS},
    "tags": ["Support"],
    "summary": "Why can't this buyer buy or watch? Every rule with its answer",
}


@api.get("/support/explain", url_name="support_explain", **EXPLAIN)
def support_explain(request, filters: Query[ExplainIn]):
    params = query_params(request, ExplainIn, filters)
    return handle(request, support.explain, params, scope=ApiKey.Scope.SUPPORT)


@api.post("/support/explain", url_name="support_explain", **EXPLAIN)
def support_explain_post(request, payload: ExplainIn = None):
    params = body_params(request, ExplainIn, payload)
    return handle(request, support.explain, params, scope=ApiKey.Scope.SUPPORT)
