"""The reference-004 PPV API, compatible with its real clients: `/api/ppv/<method>` with the
document's parameter names, GET or POST, answering its XML shape
(`<Response>…<Status>Success</Status></Response>`) or JSON with `format=json` (or a JSON body).

Each method reads its parameters (shape only: a number, a date, a yes/no) and calls the catalog's
or the buyers' service; the services decide every rule. A refusal answers Status Failure with a
message naming the parameter in reference 004's words. Parameters a method does not read (`ver`,
and what clients send every method alike) are ignored, as the reference system does.

What its clients rely on beyond the document (README, "The PPV API and its clients"): dates in
PPV_API_TIME_ZONE, the zero date `0000-00-00 00:00:00` for none; a JSON answer about one buyer
repeats that buyer's fields at its top level, with `Recovery` (the activation limit, -1 for none);
`info` tells the subscription's `Activation`, `AccessExpirationDate` and `Period`; `addbuyer`
takes a client-chosen `hash` and answers the same access again for it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from api.models import ApiKey
from buyers import errors as buyer_errors
from buyers import selectors as buyer_selectors
from buyers import services as buyer_services
from buyers.errors import BuyerError
from buyers.models import Access
from core.errors import DomainError
from core.money import quantize
from subscriptions import errors as catalog_errors
from subscriptions import selectors as catalog_selectors
from subscriptions import services as catalog_services
from subscriptions.errors import CatalogError
from subscriptions.models import Media, ShopContacts, Subscription

from .formats import (
    JSON_TOP_LEVEL,
    SUCCESS,
    UnreadableBody,
    api_time,
    failure,
    read_params,
    respond,
    wants_json,
)
from .idempotency import run_once
from .keys import ApiKeyError, authenticate, require_scope
from .params import (
    ZERO,
    BadParameter,
    amount,
    boolean,
    column_text,
    date_or_time,
    given,
    integer,
    text,
)

# Most rows one list answers (reference 004 gives `list` and `listbuyers` no paging of their own).
MAX_LIMIT = 1000
DEFAULT_MEDIA_LIMIT = 100

# A service names the field it refuses; a client knows it by reference 004's parameter name.
PARAMETER_OF_FIELD = {
    "kind": "subscription_type",
    "scope": "type",
    "price": "cost",
    "currency": "currency",
    "activation_limit": "activation",
    "notify": "notification",
    "subscription": "code",
    "access_password": "hash",
}
# "No activation limit" as reference 004 clients read it: never 0, which one reads as "not set
# yet" and then copies the subscription's `Activation` on every page view.
NO_LIMIT = -1


def subscription_of(params) -> Subscription:
    code = text(params, "code", required=True)
    subscription = Subscription.objects.filter(code=code).first()
    if subscription is None:
        raise BadParameter(
            "code", f"No subscription has the code “{code}”.", code="not_found", status=404
        )
    return subscription


def media_of(params) -> Media:
    code = text(params, "media", required=True)
    media = Media.objects.filter(code=code).first()
    if media is None:
        raise BadParameter(
            "media", f"No media has the code “{code}”.", code="not_found", status=404
        )
    return media


def access_of(params, subscription: Subscription) -> Access:
    password = text(params, "hash", required=True)
    access = (
        Access.objects.select_related("buyer", "subscription")
        .filter(subscription=subscription, hash=password)
        .first()
    )
    if access is None:
        raise buyer_errors.AccessNotFound()
    return access


def limit_offset(params, default_limit: int) -> tuple[int, int]:
    limit, offset = integer(params, "limit"), integer(params, "offset")
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise BadParameter("limit", f"The parameter “limit” must be from 1 to {MAX_LIMIT}.")
    if offset is not None and offset < 0:
        raise BadParameter("offset", "The parameter “offset” must be 0 or more.")
    return limit or default_limit, offset or 0


# --- Answers in reference 004's shape -----------------------------------------------------------


def cost_of(subscription: Subscription, default_offers=None) -> str:
    """The price of the subscription's default pricing model, as 100.00 (empty when none)."""
    if default_offers is None:
        default_offers = list(
            subscription.offers.filter(is_default=True).select_related("pricing_model")
        )
    if not default_offers:
        return ""
    pricing_model = default_offers[0].pricing_model
    return str(quantize(pricing_model.price, pricing_model.currency))


def period_of(subscription: Subscription) -> int:
    """Days of access the subscription gives (0 when it gives a fixed end instead): always a
    whole number, which clients put in a date interval unchecked."""
    return subscription.period or 0


def limit_of(activation_limit: int | None) -> int:
    return activation_limit if activation_limit else NO_LIMIT


def activation_of(params) -> int | None:
    """`activation`: a limit of 1 or more; 0 and -1 (what we answer for none) mean no limit."""
    value = integer(params, "activation")
    return None if value in (0, NO_LIMIT) else value


def media_item(media: Media) -> dict:
    """A media as reference 004 `listmedia` shows it. Live-stream fields (PublishKey,
    OnlineStatus, RecordStatus, Concurrent) have no counterpart here: a shop's media are files;
    per-rendition transcodes are not kept, only the adaptive HLS stream."""
    poster = {
        "Code": f"{media.code}-poster" if media.poster_url else "",
        "Width": media.width,
        "Height": media.height,
        "Url": media.poster_url,
    }
    return {
        "Title": media.title,
        "Code": media.code,
        "PublishKey": "",
        "OnlineStatus": False,
        "RecordStatus": False,
        "Concurrent": 0,
        "CreationDate": api_time(media.created_at),
        "Type": media.kind,
        "Width": media.width,
        "Height": media.height,
        "MediaStatus": media.get_status_display(),
        "Duration": media.duration,
        "PlayerCode": "",
        "DownloadLink": media.download_url,
        "Poster": poster,
        "Transcodes": [],
        "Adaptive": {"AppleHLS": media.hls_url},
        "Screenshots": [dict(poster)] if media.poster_url else [],
    }


def access_period(access: Access) -> int:
    if access.access_start and access.access_expire:
        return (access.access_expire - access.access_start).days
    return period_of(access.subscription)


def buyer_item(access: Access, *, with_start: bool) -> dict:
    item = {
        "Email": access.buyer.email,
        "Hash": access.hash,
        "Period": access_period(access),
    }
    if with_start:
        item["AccessStartDate"] = api_time(access.access_start)
    item["AccessExpirationDate"] = api_time(access.access_expire)
    item["DatePurchase"] = api_time(access.purchased_at)
    return item


def one_buyer_answer(access: Access) -> dict:
    """An answer about one buyer: the document's `Items`, and in JSON the same fields at the top
    level with `Recovery` (clients read `$answer->Hash`, or a flat DTO); XML keeps the document's
    shape, which its clients read with `.//Hash`."""
    item = buyer_item(access, with_start=True)
    top_level = {**item, "Recovery": limit_of(access.activation_limit)}
    return {"Items": [item], JSON_TOP_LEVEL: top_level}


def contacts_answer(contacts) -> dict:
    return {
        "Name": contacts.name,
        "Phone": contacts.phone,
        "Email": contacts.email,
        "Site": contacts.site,
        "Description": contacts.description,
    }


# --- Methods ------------------------------------------------------------------------------------

# Parameters of `create` and `update` that map one to one onto the subscription's fields.
TEXT_FIELDS = ("description", "collection_type", "materials", "buy_redirect_url", "custom_url")
INTEGER_FIELDS = ("period", "activation", "preview")
DATE_FIELDS = ("access_start", "access_expire")
BOOLEAN_FIELDS = (
    "ip_recovery",
    "device_ban",
    "buyer_commission",
    "drm",  # ours: the DRM options below are refused unless DRM is on
    "downloadable_origin",
    "watermark",
    "watermark_email",
    "watermark_name",
    "watermark_ip",
)


def subscription_fields(params) -> dict:
    """The subscription fields this request gives, read by shape; absent ones are left out."""
    fields = {}
    if given(params, "name"):
        fields["name"] = column_text(params, "name", Subscription, "name")
    if given(params, "subscription_type"):
        fields["kind"] = text(params, "subscription_type")
    if given(params, "type"):
        fields["scope"] = text(params, "type")
    for name in TEXT_FIELDS:
        if given(params, name):
            fields[name] = column_text(params, name, Subscription, name)
    for name in INTEGER_FIELDS:
        if given(params, name):
            fields[name] = activation_of(params) if name == "activation" else integer(params, name)
    for name in DATE_FIELDS:
        if given(params, name):
            value = date_or_time(params, name, end_of_day=name == "access_expire")
            fields[name] = None if value is ZERO else value  # the zero date: no fixed date
    for name in BOOLEAN_FIELDS:
        if given(params, name):
            fields[name] = boolean(params, name)
    return fields


def shop_currency(params) -> str:
    return text(params, "currency") or settings.SHOP_CURRENCY


def subscription_answer(subscription: Subscription, *, with_type: bool) -> dict:
    item = {"Code": subscription.code, "Name": subscription.name}
    if with_type:
        item["Type"] = subscription.scope
    item.update(
        Cost=cost_of(subscription),
        Period=period_of(subscription),
        AccessExpirationDate=api_time(subscription.access_expire),
        Description=subscription.description,
    )
    return {"Items": [item]}


@transaction.atomic
def create(params) -> dict:
    """Create a subscription; `cost` becomes its one-time pricing model in the shop's currency."""
    text(params, "name", required=True)
    fields = subscription_fields(params)
    cost = amount(params, "cost")
    pricing_models = []
    if cost is not None:
        pricing_models.append(
            catalog_services.create_pricing_model(
                title=fields["name"], price=cost, currency=shop_currency(params)
            )
        )
    subscription = catalog_services.create_subscription(pricing_models=pricing_models, **fields)
    return subscription_answer(subscription, with_type=True)


@transaction.atomic
def update(params) -> dict:
    """Change the given fields; a new `cost` is the catalog's `set_subscription_price`."""
    subscription = subscription_of(params)
    fields = subscription_fields(params)
    cost = amount(params, "cost")
    subscription = catalog_services.update_subscription(subscription=subscription, **fields)
    if cost is not None:
        catalog_services.set_subscription_price(
            subscription=subscription, price=cost, currency=shop_currency(params)
        )
    return subscription_answer(subscription, with_type=False)


def delete(params) -> dict:
    """Delete the subscription, or archive it when it has purchases or accesses."""
    catalog_services.delete_or_archive_subscription(subscription=subscription_of(params))
    return {}


def list_subscriptions(params) -> dict:
    """The shop's subscriptions (archived ones are deleted as far as clients know)."""
    limit, offset = limit_offset(params, MAX_LIMIT)
    subscriptions = catalog_selectors.subscriptions_for_list().filter(archived_at__isnull=True)
    items = []
    for subscription in subscriptions.order_by("-created_at", "-pk")[offset : offset + limit]:
        items.append(
            {
                "Name": subscription.name,
                "Code": subscription.code,
                "Cost": cost_of(subscription, subscription.default_offer_list),
                "Period": period_of(subscription),
                "AccessExpirationDate": api_time(subscription.access_expire),
                "AmountFiles": subscription.media_count,
                "Type": subscription.scope,
                "AddedDate": api_time(subscription.created_at),
                "Description": subscription.description,
            }
        )
    return {"Items": items}


def add_media(params) -> dict:
    subscription, media = subscription_of(params), media_of(params)
    catalog_services.attach_media(subscription=subscription, media=media)
    return {"Medias": [media_item(media)]}


def delete_media(params) -> dict:
    subscription, media = subscription_of(params), media_of(params)
    catalog_services.detach_media(subscription=subscription, media=media)
    return {}


def list_media(params) -> dict:
    subscription = subscription_of(params)
    limit, offset = limit_offset(params, DEFAULT_MEDIA_LIMIT)
    links = catalog_selectors.media_of(subscription)[offset : offset + limit]
    return {"Medias": [media_item(link.media) for link in links]}


def media_in(params, subscription: Subscription) -> Media:
    """The `media` parameter, which reference 004 asks on buyer methods: a media of the
    subscription (accesses themselves are granted to the whole subscription)."""
    media = media_of(params)
    if not catalog_selectors.media_of(subscription).filter(media=media).exists():
        raise catalog_errors.MediaNotAttached()
    return media


def add_buyer(params) -> dict:
    """Grant a buyer (found or created by e-mail or phone) access to the subscription. With
    `hash`, the access gets that password, and the access already holding it is answered again
    unchanged; without, the buyer's live access is (`grant_access`: never a second live one)."""
    subscription = subscription_of(params)
    media_in(params, subscription)
    access_start = date_or_time(params, "access_start", end_of_day=False)
    access_expire = date_or_time(params, "access_expire", end_of_day=True)
    arguments = {
        "email": text(params, "email"),
        "phone": text(params, "phone"),
        "name": text(params, "name"),
        "language": text(params, "language"),
        "access_password": text(params, "hash"),
        # The zero date: the window the subscription gives, as when none is sent.
        "access_start": None if access_start is ZERO else access_start,
        "access_expire": None if access_expire is ZERO else access_expire,
        "custom_url": column_text(params, "custom_url", Access, "custom_url"),
        "use_subscription_custom_url": boolean(params, "use_subscription_custom_url"),
        "notify": boolean(params, "notification"),
    }
    if given(params, "activation"):
        arguments["activation_limit"] = activation_of(params)
    access = buyer_services.grant_access(subscription=subscription, **arguments)
    return one_buyer_answer(access)


def info(params) -> dict:
    """The subscription's terms for new buyers, which clients read after `addbuyer` to set an
    access's limit or extend it: `Activation` (-1: no limit), `AccessExpirationDate` (its fixed
    end, or the zero date) and `Period` (days). Takes addbuyer's parameters and reads `code`."""
    subscription = subscription_of(params)
    item = {
        "Code": subscription.code,
        "Name": subscription.name,
        "Activation": limit_of(subscription.activation),
        "AccessExpirationDate": api_time(subscription.access_expire),
        "Period": period_of(subscription),
    }
    return {"Items": {"Item": item}}


def update_buyer(params) -> dict:
    """Change an access's dates, activation limit or its buyer's name. `access_expire` as the
    zero date (what `info` answers for a subscription without a fixed end, which clients echo
    back) means the end the subscription gives a new access from now."""
    subscription = subscription_of(params)
    access = access_of(params, subscription)
    changes = {}
    if given(params, "name"):
        changes["name"] = text(params, "name")
    if given(params, "activation"):
        changes["activation_limit"] = activation_of(params)
    if given(params, "access_start"):
        start = date_or_time(params, "access_start", end_of_day=False)
        changes["access_start"] = None if start is ZERO else start
    if given(params, "access_expire"):
        expire = date_or_time(params, "access_expire", end_of_day=True)
        if expire is ZERO:
            now = timezone.now()
            _, expire = buyer_services.default_access_window(subscription, start=now, now=now)
        changes["access_expire"] = expire
    buyer_services.update_access(access=access, **changes)
    return {"Message": "Recovery code is updated"}


def delete_buyer(params) -> dict:
    """Revoke an access (the row stays, marked revoked)."""
    subscription = subscription_of(params)
    buyer_services.revoke_access(access=access_of(params, subscription))
    return {"Message": "Recovery code is deleted"}


def list_buyers(params) -> dict:
    """The subscription's live accesses, or those of the buyers with `email` (several may match)."""
    subscription = subscription_of(params)
    media_in(params, subscription)
    limit, offset = limit_offset(params, MAX_LIMIT)
    email = text(params, "email")
    if email:
        accesses = buyer_selectors.accesses_by_email(subscription=subscription, email=email)
    else:
        accesses = buyer_selectors.accesses_for_list().filter(subscription=subscription)
    accesses = accesses.filter(revoked_at__isnull=True).order_by("-purchased_at", "-pk")
    return {
        "Items": [
            buyer_item(access, with_start=False) for access in accesses[offset : offset + limit]
        ]
    }


def contacts(params) -> dict:
    return contacts_answer(catalog_services.get_shop_contacts())


def update_contacts(params) -> dict:
    """Write the seller's contacts; the ones this request leaves out keep their value."""
    current = catalog_services.get_shop_contacts()
    values = {
        field: column_text(params, field, ShopContacts, field)
        if given(params, field)
        else getattr(current, field)
        for field in catalog_services.CONTACT_FIELDS
    }
    saved = catalog_services.update_shop_contacts(**values)
    return {**contacts_answer(saved), "Message": "Updated success"}


@dataclass(frozen=True)
class Method:
    """A PPV method: the scopes that may call it (any one), what it does, and the parameters it
    reads (documented in the OpenAPI document, api/ppv_schema.py); it ignores any other."""

    scopes: tuple[str, ...]
    run: Callable[[dict], dict]
    summary: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    # Writes a client may retry with an `Idempotency-Key` header (api/idempotency.py): the
    # retry gets the first answer, as on the JSON API's purchases.
    idempotent: bool = False


CATALOG, BUYERS = (ApiKey.Scope.CATALOG,), (ApiKey.Scope.BUYERS,)
SUBSCRIPTION_PARAMETERS = (
    "subscription_type",
    "type",
    *TEXT_FIELDS,
    *INTEGER_FIELDS,
    *DATE_FIELDS,
    *BOOLEAN_FIELDS,
    "cost",
    "currency",
)
ADD_BUYER_PARAMETERS = (
    "email",
    "phone",
    "name",
    "language",
    "hash",
    "activation",
    "access_start",
    "access_expire",
    "custom_url",
    "use_subscription_custom_url",
    "notification",
)

METHODS: dict[str, Method] = {
    "create": Method(
        CATALOG,
        create,
        "Create a subscription",
        ("name",),
        tuple(name for name in SUBSCRIPTION_PARAMETERS if name != "name"),
        idempotent=True,
    ),
    "update": Method(CATALOG, update, "Change a subscription", ("code",), SUBSCRIPTION_PARAMETERS),
    "delete": Method(CATALOG, delete, "Delete (or archive) a subscription", ("code",)),
    "list": Method(CATALOG, list_subscriptions, "List subscriptions", (), ("limit", "offset")),
    "addmedia": Method(CATALOG, add_media, "Add a media to a subscription", ("code", "media")),
    "deletemedia": Method(
        CATALOG, delete_media, "Take a media out of a subscription", ("code", "media")
    ),
    "listmedia": Method(
        CATALOG, list_media, "List a subscription's media", ("code",), ("limit", "offset")
    ),
    "addbuyer": Method(
        BUYERS,
        add_buyer,
        "Grant a buyer access (answered again for a live access or the same hash)",
        ("code", "media"),
        ADD_BUYER_PARAMETERS,
        idempotent=True,
    ),
    "info": Method(
        CATALOG + BUYERS,
        info,
        "A subscription's terms for new buyers (Activation, AccessExpirationDate, Period)",
        ("code",),
        ("media", *ADD_BUYER_PARAMETERS),
    ),
    "updatebuyer": Method(
        BUYERS,
        update_buyer,
        "Change an access (by its password)",
        ("code", "hash"),
        ("name", "activation", "access_start", "access_expire"),
    ),
    "deletebuyer": Method(BUYERS, delete_buyer, "Revoke an access", ("code", "hash")),
    "listbuyers": Method(
        BUYERS,
        list_buyers,
        "List a subscription's accesses",
        ("code", "media"),
        ("email", "limit", "offset"),
    ),
    "contacts": Method(CATALOG, contacts, "The seller's contacts"),
    "updatecontacts": Method(
        CATALOG,
        update_contacts,
        "Change the seller's contacts",
        (),
        catalog_services.CONTACT_FIELDS,
    ),
}


def refusal_parameter(error) -> str | None:
    field = getattr(error, "field", None)
    return PARAMETER_OF_FIELD.get(field, field) if field else None


@csrf_exempt  # a key in the request authenticates it, not a session cookie
@login_not_required  # answers 401 itself, in the request's format
def ppv_method(request, method: str):
    """One reference-004 method: authenticate the key, read the parameters, call the service."""
    try:
        params = read_params(request)
    except UnreadableBody as error:
        as_json = wants_json(request.GET, request)
        return failure(str(error), code="unreadable_body", as_json=as_json)
    as_json = wants_json(params, request)
    try:
        api_key = authenticate(request, params)
    except ApiKeyError as error:
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        return failure(
            error.message, code=error.code, status=error.status, as_json=as_json, headers=headers
        )
    if request.method not in ("GET", "POST"):
        return failure(
            "Use GET or POST.",
            code="method_not_allowed",
            status=405,
            as_json=as_json,
            headers={"Allow": "GET, POST"},
        )
    entry = METHODS.get(method)
    if entry is None:
        return failure(
            f"There is no method “{method}”: use one of {', '.join(METHODS)}.",
            code="unknown_method",
            status=404,
            as_json=as_json,
        )
    try:
        require_scope(api_key, *entry.scopes)
    except ApiKeyError as error:
        return failure(error.message, code=error.code, status=error.status, as_json=as_json)

    def answer():
        return run_method(entry, params, as_json=as_json)

    if entry.idempotent:

        def refuse(status, code, message):
            return failure(message, code=code, status=status, as_json=as_json)

        return run_once(request, params, api_key, answer, refuse)
    return answer()


def run_method(entry: Method, params: dict, *, as_json: bool):
    """Call the method's service and answer its outcome: Success, or the refusal in
    reference 004's words."""
    try:
        data = entry.run(params)
    except BadParameter as error:
        return failure(
            error.message,
            code=error.code,
            status=error.status,
            parameter=error.parameter,
            as_json=as_json,
        )
    except (CatalogError, BuyerError, DomainError) as error:
        parameter = refusal_parameter(error)
        not_found = isinstance(error, buyer_errors.AccessNotFound)
        return failure(
            f"{parameter}: {error.message}" if parameter else error.message,
            code=error.code,
            status=404 if not_found else 400,
            parameter=parameter,
            as_json=as_json,
        )
    return respond({**data, "Status": SUCCESS}, as_json=as_json)
