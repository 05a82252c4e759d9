"""Accesses (a buyer's grant to a subscription): the one a paid purchase creates, the ones staff
grant, and the devices each was activated on."""

from buyers.models import Access, AccessActivation

from .catalog import Offer
from .names import ip_address
from .values import DAY

DEVICES = ["web", "ios", "android", "tv"]


class PlannedAccess:
    """An access whose row is written once its end is known (a refund or a cancellation after
    the purchase may revoke it, a contract's renewals extend it). Times in epoch seconds."""

    __slots__ = ("expire", "id", "product", "purchased", "revoked", "start")

    def __init__(self, id, product, start, expire, purchased):
        self.id, self.product, self.purchased = id, product, purchased
        self.start, self.expire, self.revoked = start, expire, None


def new_access(run, product, offer, when, trial_ends) -> PlannedAccess:
    """The window a purchase of `offer` at `when` gives: the first billing period (or the
    trial), the rental hours, or the subscription's own window."""
    if offer.recurring:
        start, expire = when, trial_ends or offer.period_end(when, 1)
    elif offer.rental_hours:
        start, expire = when, when + offer.rental_hours * 3600
    else:
        start, expire = product.window(when)
    return PlannedAccess(run.new_id(Access), product, start, expire, when)


def write_access(run, state, access: PlannedAccess):
    rng, text = run.rng, run.text
    product = access.product
    limit = product.activation
    devices = 0
    visible_until = min(run.now, access.revoked or run.now, access.expire or run.now)
    first = max(access.start, access.purchased)
    if visible_until > first and rng.random() < 0.45:
        devices = rng.randint(1, 3)
        if limit is not None:
            devices = min(devices, limit)
        for _ in range(devices):
            run.writer.add(
                AccessActivation,
                {
                    "id": run.new_id(AccessActivation),
                    "access_id": access.id,
                    "device_id": f"{rng.choice(DEVICES)}-{rng.getrandbits(48):012x}",
                    "ip_address": ip_address(rng.getrandbits(32)),
                    "first_seen_at": text.ts(first + int(rng.random() * (visible_until - first))),
                },
            )
    number = run.new_number(Access)
    purchased = text.ts(access.purchased)
    expire = access.expire
    start = access.start
    if expire is not None and start is not None and start >= expire:
        start = expire - 60
    run.writer.add(
        Access,
        {
            "id": access.id,
            "code": run.codes[Access](number),
            "buyer_id": state.buyer_id,
            "subscription_id": product.id,
            "hash": run.access_hash(number),
            "activation_limit": limit,
            "activations_used": devices,
            "access_start": text.ts(start),
            "access_expire": text.ts(expire),
            "purchased_at": purchased,
            "granted_by_id": None,
            "custom_url": "",
            "use_subscription_custom_url": False,
            "revoked_at": text.ts(access.revoked),
            "revoked_by_id": None,
            "created_at": purchased,
        },
    )


def staff_grant(run, state):
    """An access staff granted to a product not sold as a subscription, after any access the
    buyer had to it (staff do not grant what the buyer holds); a few revoked since."""
    rng = run.rng
    product = rng.choice(run.catalog.granted_only)
    low = max(state.created, product.created, state.holding.get(product.id) or 0)
    if low >= run.now - 60 or not state.is_free(product, run.now):
        return
    when = low + int(rng.random() * (run.now - 60 - low))
    access = new_access(run, product, Offer(0, "EUR", 0, False), when, None)
    if rng.random() < 0.1:
        access.revoked = min(run.now - 30, when + rng.randrange(60, 30 * DAY))
    write_access(run, state, access)
    state.holding[product.id] = access.revoked or access.expire
