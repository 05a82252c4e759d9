"""The signed link that opens a buyer's self-service page: no password, the link is the key.

A link names one buyer (by public code) and the e-mail address it was made for, signed with
the site's SECRET_KEY (django.core.signing, its own salt) and dated: it opens the page for
SELF_SERVICE_LINK_DAYS, and stops working at once when the buyer's e-mail address changes (a
link mailed to an old address must not keep opening the page). The page itself lives in
purchases/self_service/ (it shows contracts and purchases, above this layer); e-mails here and
in purchases build their links with `self_service_url`.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Buyer

SALT = "buyers.self_service_link"


class LinkRefused(Exception):
    """A self-service link that does not open the page; `buyer` is known when the link was
    genuine but is too old (the page offers to mail a fresh one to the address on file)."""

    def __init__(self, buyer: Buyer | None = None):
        self.buyer = buyer
        super().__init__("expired" if buyer is not None else "invalid")


class LinkExpired(LinkRefused):
    pass


class LinkInvalid(LinkRefused):
    pass


def link_lifetime() -> timedelta:
    return timedelta(days=settings.SELF_SERVICE_LINK_DAYS)


def _address_mark(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:12]


def make_token(buyer: Buyer) -> str:
    """The signed, dated token of `buyer`'s self-service link."""
    return signing.dumps({"b": buyer.code, "e": _address_mark(buyer.email)}, salt=SALT)


def self_service_url(buyer: Buyer) -> str:
    """The absolute address of `buyer`'s self-service page, for an e-mail (SITE_URL)."""
    path = reverse("self_service:home", kwargs={"token": make_token(buyer)})
    return settings.SITE_URL.rstrip("/") + path


def _buyer_named_by(payload) -> Buyer | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("b"), str):
        return None
    buyer = Buyer.objects.filter(code=payload["b"]).first()
    if buyer is None or not buyer.email or payload.get("e") != _address_mark(buyer.email):
        return None
    return buyer


def buyer_for_token(token: str) -> Buyer:
    """The buyer a link opens the page of. Raises LinkExpired (with the buyer) for a genuine
    link past its lifetime, LinkInvalid for anything else (tampered, made by another site,
    for an address the buyer no longer has, for a buyer who is gone)."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=link_lifetime())
    except signing.SignatureExpired:
        buyer = _buyer_named_by(_unexpired_payload(token))
        raise (LinkExpired(buyer) if buyer is not None else LinkInvalid()) from None
    except signing.BadSignature:
        raise LinkInvalid() from None
    buyer = _buyer_named_by(payload)
    if buyer is None:
        raise LinkInvalid()
    return buyer


def _unexpired_payload(token: str):
    """The payload of a token whose signature is good but too old (checked again, no age)."""
    try:
        return signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
