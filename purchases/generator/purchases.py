"""A buyer's purchases, each with what follows from it: its purchase session, its charge on the
sandbox gateway, the access it creates, its refunds and cancellation, its e-wallet debit (and the
contract a recurring one starts: contracts.py).

Each purchase keeps the services' rules at its time: a product on sale the buyer does not hold,
one pending purchase at most, a coupon valid then for that product and currency, WebPay only for
one-time payments, gateways never charging nothing.
"""

from decimal import Decimal

from ..models import WALLET, Cancellation, Purchase, PurchaseSession, Refund
from .accesses import new_access, write_access
from .contracts import contract
from .gateway import CARD, DECLINES, REDIRECTS
from .history import RefundEvent, WalletEvent
from .names import REFUND_REASONS, ip_address
from .values import DAY

# What a planned purchase becomes (run.plan): one-time or recurring ("r_"), and its fate.
ONE_TIME_PAID = ("completed", "refunded", "part_refunded")


def choose(run, state, t, recurring):
    """A product on sale at `t` that the buyer does not hold, and one of its offers (recurring
    or one-time when asked); (None, None) when there is none."""
    rng, catalog = run.rng, run.catalog
    for attempt in range(12):
        pool = catalog.sellable if attempt < 10 else catalog.evergreen
        product = rng.choice(pool)
        if not product.on_sale(t) or not state.is_free(product, t):
            continue
        offers = (
            [o for o in product.offers if o.recurring == recurring]
            if recurring is not None
            else product.offers
        )
        if offers:
            return product, rng.choice(offers)
    for product in catalog.evergreen:
        if product.on_sale(t) and state.is_free(product, t):
            offers = [o for o in product.offers if recurring is None or o.recurring == recurring]
            return product, offers[0]
    return None, None


def coupon_for(run, product, offer, t):
    """A coupon (on about one purchase in eight) valid at `t` for this product and currency,
    and its discount in minor units as subscriptions.services.price_with_coupon quotes it;
    else (None, 0)."""
    rng = run.rng
    if offer.trial_days or rng.random() > 0.12:
        return None, 0
    coupon = rng.choice(run.catalog.coupons)
    if (
        (coupon.valid_from is not None and t < coupon.valid_from)
        or (coupon.valid_until is not None and t >= coupon.valid_until)
        or (coupon.products is not None and product.id not in coupon.products)
        or (coupon.amount is not None and coupon.currency != offer.currency)
    ):
        return None, 0
    if coupon.percent is not None:
        discount = int(
            (Decimal(offer.price) * coupon.percent / 100).quantize(Decimal(1), "ROUND_HALF_UP")
        )
    else:
        discount = coupon.amount
    if offer.recurring and discount >= offer.price:
        # A contract of nothing a period could not be renewed (gateways refuse to charge 0).
        return None, 0
    return coupon, min(discount, offer.price)


def payment_type(rng, kind, paid):
    """The e-wallet, a stored card, or a redirect gateway; a pending purchase waits on a
    payment page (a card answers at once)."""
    if paid:
        payment = rng.choices(
            [WALLET, CARD, "sandbox_paypal", "sandbox_worldpay", "sandbox_webpay"],
            [22, 50, 14, 9, 5],
        )[0]
    else:
        payment = rng.choices(
            [CARD, "sandbox_paypal", "sandbox_worldpay", "sandbox_webpay"], [65, 17, 10, 8]
        )[0]
    if kind == "pending":
        payment = rng.choice(REDIRECTS)
    return payment


def purchase(run, state, kind, t) -> bool:
    """One purchase at `t` of the planned `kind`; False when the buyer could buy nothing then."""
    rng, text, ledger = run.rng, run.text, run.ledger
    recurring = True if kind.startswith("r_") else (False if kind in ONE_TIME_PAID else None)
    product, offer = choose(run, state, t, recurring)
    if product is None:
        return False
    if kind == "pending" and state.pending:
        kind = "failed"
    paid = kind not in ("pending", "failed")
    coupon, discount = coupon_for(run, product, offer, t)
    payment = payment_type(rng, kind, paid)
    if offer.recurring and (
        payment == "sandbox_webpay" or (payment == WALLET and kind == "r_past_due")
    ):
        payment = "sandbox_paypal" if kind == "pending" else CARD
    redirect = payment in REDIRECTS
    trial_ends = None
    if offer.recurring and offer.trial_days and not redirect:
        trial_ends = t + offer.trial_days * DAY
        coupon, discount = None, offer.price
    if kind == "r_refunded" and offer.price - discount == 0:
        kind = "r_cancelled"
    if kind in ("refunded", "part_refunded") and offer.price - discount < 2:
        kind = "completed"
    amount = offer.price - discount
    if amount == 0 and trial_ends is None:
        if paid:  # free: completed from the e-wallet, nothing debited (gateways charge > 0)
            payment, redirect = WALLET, False
        else:
            coupon, discount, amount = None, 0, offer.price
    cur = offer.currency
    purchase_id, code = run.new_id(Purchase), run.new_code(Purchase)
    instrument = gateway_ref = auth = result = message = redirect_url = ""
    return_url = cancel_url = ""
    completed = t + (rng.randrange(20, 600) if redirect else rng.randrange(1, 5))
    completed = max(t, min(completed, run.now))
    if redirect:
        return_url, cancel_url = (
            "https://shop.example.com/paid",
            "https://shop.example.com/cancelled",
        )
        gateway_ref = ledger.pnref()
        redirect_url = run.checkout_url.replace("PNREF", gateway_ref)
    if kind == "pending":
        state.pending = True
        status = "pending"
    elif kind == "failed":
        status = "failed"
        if redirect:
            result, message = rng.choice(
                [
                    ("C", "Cancelled by the buyer"),
                    ("", "The buyer did not complete the payment in time."),
                ]
            )
        else:
            instrument, result, message = rng.choice(DECLINES)
            gateway_ref = ledger.pnref()
    else:
        status = "completed"
        if payment == WALLET:
            result, message = "0", "Paid from the e-wallet"
            if amount:
                state.wallet.append(WalletEvent(completed, "purchase", -amount, cur, "", code))
        elif trial_ends is None or redirect:
            result, message, auth = "0", "Approved", f"{rng.randrange(10**6):06d}"
            if not redirect:
                instrument, gateway_ref = "tok_approve", ledger.pnref()
        else:
            instrument = "tok_approve"
    charge_id = None
    if payment != WALLET and (trial_ends is None or redirect):
        if kind == "pending":
            charge = ("pending", "", "")  # the buyer is on the payment page
        elif kind == "failed":
            charge = (
                ("cancelled", result or "V", "Cancelled by the buyer" if result else "Expired")
                if redirect
                else ("declined", result, message)
            )
        else:
            charge = ("approved", "0", "Approved")
        charge_id = ledger.record(
            gateway=payment,
            idempotency_key=f"purchase:{code}",
            kind="charge",
            pnref=gateway_ref,
            amount=amount,
            currency=cur,
            instrument="" if redirect else instrument,
            status=charge[0],
            result_code=charge[1],
            response_message=charge[2],
            auth_code=auth,
            when=completed if paid else t,
            urls=(return_url, cancel_url),
        )
    access = None
    if paid:
        if coupon is not None:
            coupon.uses += 1
        access = new_access(run, product, offer, completed, trial_ends)
    events = []  # refunds and a cancellation, written after the purchase's row
    contract_rows = ()
    if paid and offer.recurring:
        status, contract_rows = contract(
            run,
            state,
            kind=kind,
            purchase_id=purchase_id,
            product=product,
            offer=offer,
            access=access,
            t=completed,
            trial_ends=trial_ends,
            amount=amount,
            payment=payment,
            instrument=instrument or gateway_ref,
            events=events,
        )
    elif kind in ("refunded", "part_refunded"):
        whole = kind == "refunded"
        when = completed + rng.randrange(3600, max(3601, min(30 * DAY, run.now - completed)))
        when = max(completed, min(when, run.now - 300))
        parts = [amount] if whole else [amount // 2]
        if whole and rng.random() < 0.2:
            parts = [amount // 2, amount - amount // 2]
        reason = rng.choice(REFUND_REASONS)
        for n, part in enumerate(parts):
            events.append(RefundEvent(min(when + n * 60, run.now), part, None, reason))
        if whole:
            status = "refunded"
            access.revoked = when
    run.statuses[status] += 1
    session_id = None
    if rng.random() < 0.35:  # opened through a purchase session (reference 000)
        coupon_discount = 0 if trial_ends else discount  # a session quotes before any trial
        session_id = session(
            run, state, product, offer, t, coupon, coupon_discount, completed if paid else None
        )
    run.writer.add(
        Purchase,
        {
            "id": purchase_id,
            "code": code,
            "buyer_id": state.buyer_id,
            "subscription_id": product.id,
            "pricing_model_id": offer.pricing_model_id,
            "session_id": session_id,
            "list_price": text.money(offer.price, cur),
            "discount": text.money(discount, cur),
            "amount": text.purchase_amount(offer.price, discount, cur),
            "currency": cur,
            "coupon_id": coupon.id if coupon else None,
            "coupon_code": coupon.code if coupon else "",
            "is_recurring": offer.recurring,
            "payment_type": payment,
            "instrument": instrument,
            "status": status,
            "gateway_reference": gateway_ref,
            "auth_code": auth,
            "result_code": result,
            "response_message": message,
            "redirect_url": redirect_url,
            "return_url": return_url,
            "cancel_url": cancel_url,
            "access_id": access.id if access else None,
            "created_by_id": None,
            "created_at": text.ts(t),
            "completed_at": text.ts(completed) if paid else None,
            "expires_at": text.ts(t + run.pending_minutes * 60),
            "trial_ends_at": text.ts(trial_ends),
            "request_key": "",  # not made through the API
        },
    )
    if access is not None:
        write_access(run, state, access)
    for model, row in contract_rows:
        run.writer.add(model, row)
    write_refunds_and_cancellation(run, state, purchase_id, code, payment, cur, charge_id, events)
    # The buyer holds the product until its access ends (or its revocation).
    if access is not None:
        state.holding[product.id] = access.revoked or access.expire
    return True


def write_refunds_and_cancellation(
    run, state, purchase_id, code, payment, currency, charge_id, events
):
    """A purchase's refunds (on the gateway that took the money, or back to the e-wallet) and
    its cancellation, in order; a cancellation that refunds names the refund before it."""
    rng, text, ledger = run.rng, run.text, run.ledger
    refund_id, refunds = None, 0
    for event in events:
        if isinstance(event, RefundEvent):
            refund_id, refunds = run.new_id(Refund), refunds + 1
            pnref = "" if payment == WALLET else ledger.pnref()
            if payment != WALLET:
                original = (
                    ledger.renewal_charges[event.renewal_id] if event.renewal_id else charge_id
                )
                ledger.record(
                    gateway=payment,
                    idempotency_key=f"refund:{code}:{refunds}",
                    kind="refund",
                    pnref=pnref,
                    amount=event.amount,
                    currency=currency,
                    instrument="",
                    status="approved",
                    result_code="0",
                    response_message="Refunded",
                    auth_code="",
                    when=event.when,
                    refund_of=original,
                )
            run.writer.add(
                Refund,
                {
                    "id": refund_id,
                    "code": run.new_code(Refund),
                    "purchase_id": purchase_id,
                    "contract_transaction_id": event.renewal_id,
                    "amount": text.money(event.amount, currency),
                    "currency": currency,
                    "method": payment,
                    "gateway_reference": pnref,
                    "reason": event.reason,
                    "created_by_id": None,
                    "created_at": text.ts(event.when),
                },
            )
            if payment == WALLET:
                refund = WalletEvent(event.when, "refund", event.amount, currency, "", code)
                state.wallet.append(refund)
        else:
            run.writer.add(
                Cancellation,
                {
                    "id": run.new_id(Cancellation),
                    "purchase_id": purchase_id,
                    "mode": event.mode,
                    "refund_id": refund_id if event.with_refund else None,
                    "by_buyer": rng.random() < 0.6,
                    "created_by_id": None,
                    "created_at": text.ts(event.when),
                    "undone_at": None,  # the generated shop takes no stop back
                    "undone_by_id": None,
                    "undone_by_buyer": False,
                },
            )


def session(run, state, product, offer, t, coupon, discount, consumed):
    """A purchase session opened a little before `t` (still open then), used by the
    purchase when it completed; or, without `t`'s purchase, abandoned."""
    rng, text = run.rng, run.text
    opened = max(state.created, t - rng.randrange(5, max(run.session_minutes - 5, 1) * 60))
    if product.kind == "collection":
        kind = "Collection"
    else:
        kind = "Subscription" if offer.recurring else rng.choice(["PPV", "PPV", "Subscription"])
    session_id = run.new_id(PurchaseSession)
    run.writer.add(
        PurchaseSession,
        {
            "id": session_id,
            "buyer_id": state.buyer_id,
            "subscription_id": product.id,
            "pricing_model_id": offer.pricing_model_id if rng.random() < 0.8 else None,
            "media_id": None,
            "transaction_type": kind,
            "list_price": text.money(offer.price, offer.currency),
            "discount": text.money(discount, offer.currency),
            "price": text.money(offer.price - discount, offer.currency),
            "currency": offer.currency,
            "coupon_id": coupon.id if coupon else None,
            "user_ip": ip_address(rng.getrandbits(32)),
            "udid": f"udid-{rng.getrandbits(40):010x}" if rng.random() < 0.6 else "",
            "preview_module": "trailer" if rng.random() < 0.1 else "",
            "created_at": text.ts(opened),
            "expires_at": text.ts(opened + run.session_minutes * 60),
            "consumed_at": text.ts(consumed),
        },
    )
    return session_id


def abandoned_session(run, state):
    rng = run.rng
    t = state.created + int(rng.random() * (run.now - state.created))
    product = rng.choice(run.catalog.sellable)
    if product.on_sale(t):
        session(run, state, product, rng.choice(product.offers), t, None, 0, None)
