"""The reference PPV API in the OpenAPI document, so Swagger shows it beside the JSON API: one
path per method (GET with a query string; POST with a form or JSON body), the parameters its
`ppv.METHODS` entry reads, both answer formats (XML by default, JSON with `format=json` or a JSON
body) and every refusal code, by HTTP status.

Built from METHODS and the catalog's and buyers' errors, so the document names what the code
reads and refuses; schemathesis (tests/api/test_openapi_contract.py) holds the answers to it.
"""

from django.conf import settings

from buyers import errors as buyer_errors
from subscriptions import errors as catalog_errors

from .ppv import METHODS, NO_LIMIT

DATE = (
    "A date as YYYY-MM-DD or YYYY-MM-DD H:i:s in PPV_API_TIME_ZONE (a date alone is 00:00:01 "
    "when a start, 23:59:59 when an end); 0000-00-00 00:00:00 for none."
)
YES_NO = {"type": "string", "enum": ["1", "0", "true", "false"]}
WHOLE = {"type": "integer", "minimum": -(2**31) + 1, "maximum": 2**31 - 1}

# Every parameter a method may read: its schema and what it means (reference 004's words).
PARAMETERS = {
    "code": ({"type": "string"}, "The subscription's code."),
    "media": ({"type": "string"}, "A media's code (of the subscription, on buyer methods)."),
    "name": ({"type": "string"}, "The subscription's, or on buyer methods the buyer's, name."),
    "subscription_type": (
        {"type": "string", "enum": ["subscription", "password", "collection"]},
        "Paid pay-per-view access, access by password, or after a registration form.",
    ),
    "type": ({"type": "string", "enum": ["single", "group"]}, "One media, or a group."),
    "description": ({"type": "string"}, "The subscription's description."),
    "collection_type": (
        {"type": "string", "enum": ["collect", "protect"]},
        "For subscription_type=collection.",
    ),
    "materials": ({"type": "string"}, "Additional materials."),
    "buy_redirect_url": ({"type": "string"}, "Where buyers go after purchasing."),
    "custom_url": ({"type": "string"}, "The link for e-mails."),
    "period": (WHOLE, "Days of access (one of period and access_expire is required)."),
    "activation": (
        WHOLE,
        f"Activations of the access password; 0 or {NO_LIMIT}: no limit (answered as "
        f"{NO_LIMIT}, Recovery and Activation).",
    ),
    "preview": (WHOLE, "Preview seconds (DRM only)."),
    "access_start": ({"type": "string"}, f"Access start. {DATE}"),
    "access_expire": (
        {"type": "string"},
        f"Access end. {DATE} On updatebuyer the zero date means the end the subscription gives "
        "a new access from now.",
    ),
    "ip_recovery": (YES_NO, "Recover the session by IP."),
    "device_ban": (YES_NO, "Ban concurrent multi-device access."),
    "buyer_commission": (YES_NO, "The buyer pays the gateway's commission."),
    "drm": (YES_NO, "DRM on (the options below need it)."),
    "downloadable_origin": (YES_NO, "Allow downloading the video at the end (DRM only)."),
    "watermark": (YES_NO, "Watermark (DRM only)."),
    "watermark_email": (YES_NO, "The buyer's e-mail as watermark (DRM only)."),
    "watermark_name": (YES_NO, "The buyer's name as watermark (DRM only)."),
    "watermark_ip": (YES_NO, "The buyer's IP address as watermark (DRM only)."),
    "cost": ({"type": "string"}, "The price, e.g. 100.00."),
    "currency": ({"type": "string"}, "The price's currency (default: SHOP_CURRENCY)."),
    "email": ({"type": "string"}, "The buyer's e-mail (or phone)."),
    "phone": ({"type": "string"}, "The buyer's phone (or e-mail)."),
    "language": (
        {"type": "string", "enum": [code for code, _name in settings.LANGUAGES]},
        "A new buyer's language, which their e-mails are written in (default: the shop's).",
    ),
    "hash": (
        {"type": "string"},
        "The access password. On addbuyer, a client's own (1 to 255 printable characters, "
        "unique within the subscription): the access holding it is answered again; else one "
        "is generated.",
    ),
    "use_subscription_custom_url": (YES_NO, "E-mail the subscription's link."),
    "notification": (YES_NO, "E-mail the buyer the access password."),
    "limit": ({"type": "integer", "minimum": 1, "maximum": 1000}, "Rows at most."),
    "offset": ({"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, "Rows to skip."),
    "site": ({"type": "string"}, "The seller's site."),
}
ENVELOPE = {
    "apikey": ({"type": "string"}, "The API key (or send it as a Bearer token)."),
    "format": (
        {"type": "string", "enum": ["xml", "json"]},
        "The answer's format: XML by default (JSON for a JSON body).",
    ),
    "ver": ({"type": "string"}, "The reference's version parameter: accepted and ignored."),
}


def _codes(*bases) -> list[str]:
    found, pending = set(), list(bases)
    while pending:
        error = pending.pop()
        found.add(error.code)
        pending.extend(error.__subclasses__())
    return sorted(found)


NOT_FOUND = ["not_found", buyer_errors.AccessNotFound.code]
CODES_BY_STATUS = {
    400: sorted(
        {
            "required",
            "invalid",
            "too_long",
            "unreadable_body",
            "request_too_large",
            "too_many_fields",
        }
        | set(_codes(catalog_errors.CatalogError, buyer_errors.BuyerError)) - set(NOT_FOUND)
    ),
    401: ["api_key_required", "api_key_invalid", "api_key_revoked"],
    403: ["api_key_scope"],
    404: NOT_FOUND,
    429: ["rate_limited"],
}
DESCRIPTION_OF_STATUS = {
    400: "A parameter missing or of the wrong shape, or a rule of the catalog or buyers refused.",
    401: "No API key, an unknown or a revoked one.",
    403: "The key lacks the method's scope.",
    404: "`code`, `media` or `hash` names nothing.",
    429: "Past the key's requests a minute (Retry-After says when to retry).",
}

# What a method that takes an Idempotency-Key (Method.idempotent) may answer besides.
IDEMPOTENCY_CODES = {
    400: ["idempotency_key_too_long"],
    409: ["idempotency_key_in_use"],
    422: ["idempotency_key_reused"],
}
IDEMPOTENCY_DESCRIPTIONS = {
    409: "The first request with this Idempotency-Key still runs (Retry-After says when).",
    422: "This Idempotency-Key was used for another request.",
}
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Up to 255 characters: a retry with the same key gets the first answer.",
    "schema": {"type": "string", "maxLength": 255},
}

XML_ANSWER = {
    "schema": {"type": "string"},
    "example": "<Response><Items><Item>…</Item></Items><Status>Success</Status></Response>",
}
DATE_TEXT = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"}
BUYER = {
    "Email": {"type": "string"},
    "Hash": {"type": "string"},
    "Period": {"type": "integer"},
    "AccessStartDate": DATE_TEXT,
    "AccessExpirationDate": DATE_TEXT,
    "DatePurchase": DATE_TEXT,
}
# What a JSON answer of each method holds beyond Status (Items as a list unless said).
SUCCESS_PROPERTIES = {
    "addbuyer": {
        **BUYER,
        "Recovery": {"type": "integer", "description": f"The activation limit; {NO_LIMIT}: none."},
        "Items": {"type": "array", "items": {"type": "object", "properties": BUYER}},
    },
    "info": {
        "Items": {
            "type": "object",
            "required": ["Item"],
            "properties": {
                "Item": {
                    "type": "object",
                    "required": ["Activation", "AccessExpirationDate", "Period"],
                    "properties": {
                        "Code": {"type": "string"},
                        "Name": {"type": "string"},
                        "Activation": {"type": "integer"},
                        "AccessExpirationDate": DATE_TEXT,
                        "Period": {"type": "integer"},
                    },
                }
            },
        }
    },
}


def _parameter(name: str, *, required: bool, where: str = "query") -> dict:
    schema, description = {**PARAMETERS, **ENVELOPE}[name]
    return {
        "name": name,
        "in": where,
        "required": required,
        "description": description,
        "schema": schema,
    }


def _answers(method: str, *, idempotent: bool = False) -> dict:
    success = {
        "type": "object",
        "required": ["Status"],
        "properties": {"Status": {"type": "string", "enum": ["Success"]}}
        | SUCCESS_PROPERTIES.get(method, {}),
    }
    answers = {
        "200": {
            "description": "Success (reference 004's answer; JSON adds one buyer's fields at "
            "its top level)",
            "content": {
                "application/xml": XML_ANSWER,
                "application/json": {"schema": success},
            },
        }
    }
    codes_by_status, descriptions = dict(CODES_BY_STATUS), dict(DESCRIPTION_OF_STATUS)
    if idempotent:
        for status, codes in IDEMPOTENCY_CODES.items():
            codes_by_status[status] = sorted({*codes_by_status.get(status, []), *codes})
        descriptions |= IDEMPOTENCY_DESCRIPTIONS
    for status, codes in sorted(codes_by_status.items()):
        failure = {
            "type": "object",
            "required": ["Status", "Message", "Code"],
            "properties": {
                "Message": {"type": "string"},
                "Code": {"type": "string", "enum": codes},
                "Parameter": {"type": "string", "description": "The parameter concerned."},
                "Status": {"type": "string", "enum": ["Failure"]},
            },
        }
        answers[str(status)] = {
            "description": f"{descriptions[status]} Codes: {', '.join(codes)}.",
            "content": {
                "application/xml": {"schema": {"type": "string"}},
                "application/json": {"schema": failure},
            },
        }
    return answers


def _body(entry) -> dict:
    names = [*entry.required, *entry.optional]
    properties = {name: {**{**PARAMETERS, **ENVELOPE}[name][0]} for name in names}
    properties["apikey"] = ENVELOPE["apikey"][0]
    for name in names:  # a body's values are text, as in a form
        if properties[name].get("type") in ("integer", "boolean"):
            properties[name] = {"type": "string"}
    schema = {"type": "object", "properties": properties}
    if entry.required:
        schema["required"] = list(entry.required)
    return {
        "required": False,
        "content": {
            "application/x-www-form-urlencoded": {"schema": schema},
            "application/json": {"schema": schema},
        },
    }


def ppv_paths(prefix: str, security: list[dict]) -> dict:
    """The OpenAPI `paths` of the PPV API under `prefix` (the API's, e.g. /api/)."""
    paths = {}
    for method, entry in METHODS.items():
        query = [
            *(_parameter(name, required=True) for name in entry.required),
            *(_parameter(name, required=False) for name in entry.optional),
        ]
        envelope = [_parameter(name, required=False) for name in ("format", "ver")]
        if entry.idempotent:
            envelope.append(IDEMPOTENCY_HEADER)
        common = {
            "tags": ["PPV (reference 004)"],
            "summary": entry.summary,
            "description": (entry.run.__doc__ or "").strip()
            + f"\n\nScopes: {' or '.join(entry.scopes)}. Unknown parameters are ignored.",
            "security": security,
            "responses": _answers(method, idempotent=entry.idempotent),
        }
        paths[f"{prefix}ppv/{method}"] = {
            "get": {**common, "operationId": f"ppv_{method}", "parameters": query + envelope},
            "post": {
                **common,
                "operationId": f"ppv_{method}_post",
                "parameters": envelope,
                "requestBody": _body(entry),
            },
        }
    return paths
