"""Which URLs an endpoint may have: HTTPS (plain HTTP only with DEBUG on), and a host whose every
address is public, so a webhook cannot be aimed at the shop's own network (SSRF) unless
WEBHOOKS_ALLOW_PRIVATE says so. Delivery checks again at each send and connects to an address it
checked, so a name that later resolves to a private address is refused too."""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from .errors import EndpointRefused


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name, for the Host header and the TLS certificate
    port: int
    path: str  # path and query
    address: str  # the checked address to connect to


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> tuple[str, str, int, str]:
    """The URL's scheme, host, port and path, or EndpointRefused saying what is wrong."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise EndpointRefused("Enter a valid URL.") from None
    allowed = ("https", "http") if settings.DEBUG else ("https",)
    if parts.scheme not in allowed:
        raise EndpointRefused("The URL must start with https://.")
    if not parts.hostname:
        raise EndpointRefused("The URL has no host.")
    if parts.username or parts.password:
        raise EndpointRefused("The URL may not carry a user name or password.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve(url: str) -> Target:
    """Check the URL and its host's addresses (every one of them must be public unless
    WEBHOOKS_ALLOW_PRIVATE); answers where to connect."""
    scheme, host, port, path = check_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise EndpointRefused(f"The host {host} cannot be found.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise EndpointRefused(f"The host {host} cannot be found.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE:
        private = [address for address in addresses if not _is_public(address)]
        if private:
            raise EndpointRefused(
                f"The host {host} is a private, loopback or link-local address ({private[0]}): "
                "webhooks go to the public internet only."
            )
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
