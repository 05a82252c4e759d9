"""Reading an API request's parameters and writing its answer as XML (reference 004's shape) or
JSON.

An answer is built once as plain data: a dict is an element with children in order, a list is an
element holding one `<Item>` per entry, None is an empty element. XML is written with the standard
library's ElementTree (which escapes text); XML sent to us is read with defusedxml only.
"""

import json
from datetime import datetime
from decimal import Decimal
from xml.etree import ElementTree

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from django.http import HttpResponse, JsonResponse

from .params import ZERO_DATE, api_zone

XML_CONTENT_TYPE = "application/xml; charset=utf-8"
# An answer's part that JSON writes at its top level and XML leaves out: JSON clients of
# reference 004 read one buyer's fields at the top level, XML ones with `.//Hash`.
JSON_TOP_LEVEL = "_json_top_level"
SUCCESS = "Success"
FAILURE = "Failure"
MAX_BODY_BYTES = 64 * 1024


class UnreadableBody(ValueError):
    pass


def read_params(request) -> dict[str, str]:
    """The request's parameters: the query string, then a form, XML or JSON body on top.

    An XML body is `<Request><name>ppv</name>…</Request>`: each child of the root is a parameter.
    A JSON body is an object of parameters. Values are kept as text, as a query string gives them.
    """
    params = {key: request.GET.get(key) for key in request.GET}
    if request.method != "POST":
        return params
    content_type = (request.content_type or "").lower()
    if content_type in ("application/xml", "text/xml") or content_type.endswith("+xml"):
        body = request.body[: MAX_BODY_BYTES + 1]
        if len(body) > MAX_BODY_BYTES:
            raise UnreadableBody("The request body is too large.")
        try:
            root = SafeElementTree.fromstring(body)
        except (ElementTree.ParseError, DefusedXmlException):
            raise UnreadableBody("The request body is not well-formed XML.") from None
        params.update({child.tag: (child.text or "").strip() for child in root})
    elif content_type == "application/json":
        try:
            data = json.loads(request.body[: MAX_BODY_BYTES + 1] or b"{}")
        except ValueError:
            raise UnreadableBody("The request body is not valid JSON.") from None
        if data is None:  # `null`: no parameters
            data = {}
        if not isinstance(data, dict):
            raise UnreadableBody("The request body must be a JSON object.")
        params.update({str(k): "" if v is None else _json_param(v) for k, v in data.items()})
    else:
        params.update({key: request.POST.get(key) for key in request.POST})
    return params


def _json_param(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def api_time(value: datetime | None) -> str:
    """A date as reference 004 writes it: `YYYY-MM-DD HH:MM:SS` in PPV_API_TIME_ZONE, or the
    zero date for none (its clients parse every date they get, and test for that one)."""
    if value is None:
        return ZERO_DATE
    return value.astimezone(api_zone()).strftime("%Y-%m-%d %H:%M:%S")


def _xml_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, datetime):
        return api_time(value)
    return str(value)


def _fill(element, value) -> None:
    if isinstance(value, dict):
        for tag, child in value.items():
            _fill(ElementTree.SubElement(element, tag), child)
    elif isinstance(value, list):
        for item in value:
            _fill(ElementTree.SubElement(element, "Item"), item)
    else:
        text = _xml_text(value)
        if text:
            element.text = text


def to_xml(data: dict) -> str:
    """`<Response>…</Response>` holding `data`'s elements in order."""
    root = ElementTree.Element("Response")
    _fill(root, data)
    return ElementTree.tostring(root, encoding="unicode")


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return api_time(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def wants_json(params, request=None) -> bool:
    """`format=json`; without `format`, a request whose body is JSON is answered in JSON (as
    the reference system's documentation says), any other in XML."""
    wanted = (params.get("format") or "").strip().lower()
    if wanted:
        return wanted == "json"
    return request is not None and (request.content_type or "").lower() == "application/json"


def respond(data: dict, *, as_json: bool, status: int = 200, headers=None) -> HttpResponse:
    """`data` as XML (`<Response>…`) or, with `format=json`, as a JSON object of the same keys
    (and, in JSON only, the `JSON_TOP_LEVEL` part's keys at the top level, in its place)."""
    if as_json:
        flat = {}
        for key, value in data.items():
            if key == JSON_TOP_LEVEL:
                flat.update(value)
            else:
                flat[key] = value
        response = JsonResponse(
            flat,
            status=status,
            json_dumps_params={"default": _json_default, "ensure_ascii": False},
        )
    else:
        data = {key: value for key, value in data.items() if key != JSON_TOP_LEVEL}
        response = HttpResponse(to_xml(data), status=status, content_type=XML_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def failure(
    message: str,
    *,
    code: str,
    as_json: bool,
    status: int = 400,
    parameter: str | None = None,
    headers=None,
) -> HttpResponse:
    """A refused request: Status Failure, a message naming the bad parameter, a stable code."""
    data = {"Message": message, "Code": code}
    if parameter:
        data["Parameter"] = parameter
    data["Status"] = FAILURE
    return respond(data, as_json=as_json, status=status, headers=headers)
