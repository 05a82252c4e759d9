"""The address a request came from, for the sign-in lockout.

Behind a TLS proxy (DJANGO_BEHIND_TLS_PROXY) every request arrives from the proxy, so locking by
REMOTE_ADDR would lock a user out for everyone. There the client is the last address the proxy
appended to X-Forwarded-For (earlier entries are whatever the client sent, and can be forged).
"""

from ipaddress import ip_address

from django.conf import settings


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    if not settings.SECURE_PROXY_SSL_HEADER:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    last = forwarded.split(",")[-1].strip() if forwarded else ""
    try:
        return str(ip_address(last))
    except ValueError:
        return remote
