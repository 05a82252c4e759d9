"""The players' access check skips the middleware the staff pages need.

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

from django.db import DatabaseError, connection
from django.urls import resolve, reverse

from .openapi import access_check_by_query


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
