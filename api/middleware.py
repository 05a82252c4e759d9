"""What every API request passes first: Django's limits on what it reads, answered in the API's
error shape (ApiRequestLimitsMiddleware); then the players' fast path.

A body past DATA_UPLOAD_MAX_MEMORY_SIZE, or more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS (in
the query string or a form), makes Django raise while a view reads the request, and its answer
is the site's HTML 400 page. Under /api/ the request is read here first, above every middleware
and view that could read it, and refused as the API refuses anything else: the JSON API's
envelope with `Error.Code` `request_too_large` or `too_many_fields`, the PPV API's
`Status: Failure` in the format the client asked for. Nothing runs for a refused request.

The players' access check skips the middleware the staff pages need.

Players ask "may this buyer watch?" on every play, so the check must cost little more than its
one database read. It carries an API key, never a cookie: sessions, CSRF, sign-in, messages,
history, the content security policy and the sign-in lockout (the middleware below this one in
settings.MIDDLEWARE) have nothing to do for it. The middleware above it still runs (security
headers, the HTTPS redirect), and the host is checked against ALLOWED_HOSTS as CommonMiddleware
would. A GET goes straight to the operation's code (api.openapi.access_check_by_query: the same
schema, key check and answers, without django-ninja's dispatch); a POST through django-ninja.
Everything else under /api/ takes the whole stack.

Django checks a reused database connection with a query of its own before each request's first
one (CONN_HEALTH_CHECKS), which would double the round trips of a check making one query. Here
the check's own query is that test: if the server dropped the connection (a restart), the check
fails with a database error, and is answered once more on a new connection.
"""

from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DatabaseError, connection
from django.urls import resolve, reverse

from .formats import failure, wants_json
from .openapi import access_check_by_query
from .purchases import refused

TOO_LARGE = (
    "request_too_large",
    "RequestDataTooBig",
    "The request body is too large: send {limit} bytes at most.",
)
TOO_MANY = (
    "too_many_fields",
    "TooManyFieldsSent",
    "The request has too many parameters: send {limit} at most.",
)


class ApiRequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = self.ppv_prefix = None

    def __call__(self, request):
        if self.prefix is None:  # reversed on the first request, once the URLconf is loaded
            self.prefix = reverse("api:api-root")
            self.ppv_prefix = reverse("api:ppv", args=["method"]).removesuffix("method")
        if not request.path.startswith(self.prefix):
            return self.get_response(request)
        try:
            request.GET  # noqa: B018 (parsed now: TooManyFieldsSent past the limit)
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                request.body  # noqa: B018 (RequestDataTooBig past the limit)
                request.POST  # noqa: B018 (a form's fields counted)
        except RequestDataTooBig:
            return self.refuse(request, TOO_LARGE, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        except (TooManyFieldsSent, TooManyFilesSent):
            return self.refuse(request, TOO_MANY, settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)
        return self.get_response(request)

    def refuse(self, request, refusal, limit):
        code, name, message = refusal
        message = message.format(limit=limit)
        if request.path.startswith(self.ppv_prefix):
            # The PPV API answers XML unless asked for JSON (a format=json or a JSON body); the
            # query string is read here without Django's field limit, which it may have passed.
            query = dict(parse_qsl(request.META.get("QUERY_STRING", "")))
            return failure(message, code=code, as_json=wants_json(query, request))
        return refused(400, code, message, name=name)


class PlayersFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.path = None

    def __call__(self, request):
        if self.path is None:  # reversed on the first request, once the URLconf is loaded
            self.path = reverse("api:access_check")
        if request.path != self.path:
            return self.get_response(request)
        request.get_host()  # DisallowedHost (400) for a host not in ALLOWED_HOSTS
        if request.method != "GET":
            match = resolve(request.path_info)
            request.resolver_match = match
            return match.func(request, *match.args, **match.kwargs)
        reused = connection.connection is not None
        if reused:
            connection.health_check_done = True  # the check's own query tests the connection
        try:
            return access_check_by_query(request)
        except DatabaseError:
            if not reused:
                raise
            connection.close()  # dropped by the server: answer on a new connection
            return access_check_by_query(request)
