"""The address a request came from, for the sign-in lockout.

Behind a TLS proxy (DJANGO_BEHIND_TLS_PROXY) every request arrives from the proxy, so locking by
REMOTE_ADDR would lock a user out for everyone. There the client is the last address the proxy
appended to X-Forwarded-For (earlier entries are whatever the client sent, and can be forged).
"""

from ipaddress import IPv6Address, ip_address, ip_network

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


def sign_in_address(request) -> str | None:
    """The address the sign-in lockout counts failures by: the client's, except that an IPv6
    client is known by its /64 network (written as its first address). One home or one cloud
    machine is given a whole /64, so counting each address apart would give an attacker
    2**64 fresh addresses to guess from."""
    address = client_ip(request)
    try:
        parsed = ip_address(address or "")
    except ValueError:
        return address
    if isinstance(parsed, IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ip_network(f"{parsed}/64", strict=False).network_address)
    return str(parsed)
