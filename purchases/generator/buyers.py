"""Buyers, one at a time with their history: purchases in time order, staff grants, abandoned
purchase sessions, and the e-wallet ledger those leave, with running balances."""

from django.conf import settings

from buyers.models import Buyer, WalletBalance, WalletEntry

from .accesses import staff_grant
from .catalog import CURRENCIES, price_in
from .history import BuyerState, WalletEvent
from .names import email_and_phone, person_name
from .purchases import abandoned_session, purchase
from .values import DAY


def generate_buyer(run, kinds) -> list[str]:
    """A buyer and everything they did; answers the purchases they could not make (holding
    every product on sale then), which go to the next buyer."""
    rng = run.rng
    buyer_id = run.new_id(Buyer)
    created = run.start - 60 * DAY + int(rng.random() * (run.history_days * DAY))
    created = min(created, run.now - 2 * 3600)
    name, local_part = person_name(rng)
    email, phone = email_and_phone(rng, local_part, buyer_id, run.taken_emails, run.taken_phones)
    run.writer.add(
        Buyer,
        {
            "id": buyer_id,
            "code": run.new_code(Buyer),
            "email": email,
            "phone": phone,
            "name": name,
            # Every fourth buyer reads Russian (no draw from rng: the rest of the shop stays the
            # same for a seed).
            "language": "ru" if buyer_id % 4 == 0 else settings.LANGUAGE_CODE,
            "created_at": run.text.ts(created),
            "pin_hash": run.pin_hash if rng.random() < 0.1 else "",
            "pin_failed_attempts": 0,
            "pin_locked_at": None,
            "duplicate_of_id": None,
        },
    )
    state = BuyerState(buyer_id, created)
    # In time order; a pending purchase (still waiting: opened less than PENDING_PURCHASE_MINUTES
    # ago) after all the others.
    settled = [kind for kind in kinds if kind != "pending"]
    times = sorted(created + int(rng.random() * (run.now - created)) for _ in settled)
    pending = len(kinds) - len(settled)
    times += [
        run.now - rng.randrange(60, max(run.pending_minutes - 5, 2) * 60) for _ in range(pending)
    ]
    unplaced = []
    for kind, t in zip(settled + ["pending"] * pending, times, strict=True):
        if not purchase(run, state, kind, max(t, created + 60)):
            unplaced.append(kind)
    if rng.random() < 0.08 and run.catalog.granted_only:
        staff_grant(run, state)
    if rng.random() < 0.1:
        abandoned_session(run, state)
    if rng.random() < 0.15:  # a top-up not (yet) spent
        currency = rng.choice(CURRENCIES)
        state.wallet.append(
            WalletEvent(
                when=created + int(rng.random() * (run.now - created)),
                kind="top_up",
                amount=price_in(currency, rng.choice([1000, 2000, 5000])),
                currency=currency,
                reason="Top-up by card",
                reference="",
            )
        )
    if state.wallet and rng.random() < 0.1:
        t, _, _, currency, _, _ = rng.choice(state.wallet)
        amount = price_in(currency, rng.choice([100, 500, -100]))
        when = min(t + DAY, run.now - 60)
        state.wallet.append(
            WalletEvent(when, "adjustment", amount, currency, "Goodwill correction", "")
        )
    write_wallet(run, state)
    return unplaced


def write_wallet(run, state):
    """The buyer's ledger in time order with running balances; a top-up is posted before a
    payment the balance cannot cover, an adjustment down only when the balance allows."""
    if not state.wallet:
        return
    rng, text, writer = run.rng, run.text, run.writer
    balances, last, previous = {}, {}, state.created
    for event in sorted(state.wallet, key=lambda e: e.when):
        when, kind, amount, currency = event.when, event.kind, event.amount, event.currency
        balance = balances.get(currency, 0)
        if kind == "adjustment" and balance + amount < 0:
            continue
        if kind == "purchase" and balance + amount < 0:
            top_up = max(-amount - balance, price_in(currency, rng.choice([1000, 2000, 5000])))
            balance += top_up
            at = max(previous, when - rng.randrange(60, 3600))
            writer.add(
                WalletEntry,
                {
                    "id": run.new_id(WalletEntry),
                    "buyer_id": state.buyer_id,
                    "kind": "top_up",
                    "amount": text.money(top_up, currency),
                    "currency": currency,
                    "balance_after": text.money(balance, currency),
                    "reason": "Top-up by card",
                    "reference": "",
                    "created_by_id": None,
                    "created_at": text.ts(at),
                },
            )
        balance += amount
        balances[currency], last[currency], previous = balance, when, when
        writer.add(
            WalletEntry,
            {
                "id": run.new_id(WalletEntry),
                "buyer_id": state.buyer_id,
                "kind": kind,
                "amount": text.money(amount, currency),
                "currency": currency,
                "balance_after": text.money(balance, currency),
                "reason": event.reason,
                "reference": event.reference,
                "created_by_id": None,
                "created_at": text.ts(when),
            },
        )
    for currency, balance in balances.items():
        writer.add(
            WalletBalance,
            {
                "id": run.new_id(WalletBalance),
                "buyer_id": state.buyer_id,
                "currency": currency,
                "balance": text.money(balance, currency),
                "updated_at": text.ts(last[currency]),
            },
        )
