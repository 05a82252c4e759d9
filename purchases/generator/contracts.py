"""The recurring contract a recurring purchase starts, and its renewals up to now as the renewal
engine would have run them: a charge per billing period (purchases.recurrence's periods),
declines retried after settings.RENEWAL_RETRY_DAYS and the contract expired after the last,
cancellations now (with no, a full or a prorated refund) or at the period's end."""

from ..models import WALLET, ContractTransaction, RecurringContract
from .gateway import CARD, DECLINES
from .history import CancelEvent, RefundEvent, WalletEvent
from .names import REFUND_REASONS
from .values import DAY


def contract(
    run,
    state,
    *,
    kind,
    purchase_id,
    product,
    offer,
    access,
    t,
    trial_ends,
    amount,
    payment,
    instrument,
    events,
):
    """Answers the purchase's status and the rows to write after it, (model, row) pairs: the
    contract, then its transactions. Refunds and the cancellation go to `events`."""
    rng, text, ledger = run.rng, run.text, run.ledger
    retries = run.retry_days
    contract_id, code = run.new_id(RecurringContract), run.new_code(RecurringContract)
    each = offer.price if trial_ends else amount
    anchor = trial_ends or t
    periods_paid = 0 if trial_ends else 1
    bill = anchor if trial_ends else offer.period_end(anchor, 1)
    status, failed, retry_at, ended = "active", 0, None, None
    cancel_at_period_end = False
    stop = run.now
    decline = rng.choice(DECLINES)
    cancel_at = None
    mode = None
    if kind in ("r_cancelling", "r_cancelled", "r_refunded"):
        cancel_at = t + int(rng.random() * (run.now - t))
        if kind == "r_refunded":
            cancel_at = min(cancel_at, bill - 60) if not trial_ends else cancel_at
            mode = "refund"
        elif kind == "r_cancelled":
            mode = rng.choice(["now", "now", "period_end"])
        else:
            mode = "period_end"
        if mode != "period_end":
            stop = cancel_at
    reliable = mode == "period_end" or payment == WALLET
    transactions, approved_charges = [], {}
    charge_text, no_fee = text.money(each, offer.currency), text.money(0, offer.currency)
    expire = access.expire
    while True:
        due = bill if status == "active" else retry_at
        if due > stop:
            break
        if (
            mode == "period_end"
            and status == "active"
            and kind == "r_cancelled"
            and due >= cancel_at
        ):
            status, ended = "expired", due  # stopped at the period's end
            break
        when = due + rng.randrange(0, 900)
        if when > run.now:
            break
        period, attempt = periods_paid + 1, failed + 1
        ok = reliable or rng.random() < (0.93 if attempt == 1 else 0.55)
        if kind == "r_past_due" and run.now - due < sum(retries) * DAY:
            ok = False  # declined lately: in dunning now, or out of retries
        key = f"contract:{code}:period:{period}:attempt:{attempt}"
        tx_id = run.new_id(ContractTransaction)
        pnref = ledger.pnref()
        if ok:
            answer = {
                "status": "approved",
                "result_code": "0",
                "response_message": "Approved" if payment != WALLET else "Paid from the e-wallet",
                "auth_code": f"{rng.randrange(10**6):06d}" if payment != WALLET else "",
            }
            if payment == WALLET and each:
                state.wallet.append(WalletEvent(when, "purchase", -each, offer.currency, "", key))
            periods_paid, failed, retry_at, status = period, 0, None, "active"
            bill = offer.period_end(anchor, period)
            expire = bill
            approved_charges[period] = (tx_id, when)
        else:
            _, result, message = decline
            answer = {
                "status": "declined",
                "result_code": result,
                "response_message": message,
                "auth_code": "",
            }
            failed += 1
            if failed > len(retries):
                status, ended, retry_at = "expired", when, None
                expire = max(when, access.start)
            else:
                status, retry_at = "past_due", when + retries[failed - 1] * DAY
                expire = max(expire, retry_at)
        transactions.append(
            {
                "id": tx_id,
                "contract_id": contract_id,
                "period": period,
                "attempt": attempt,
                "idempotency_key": key,
                "payment_pref": payment,
                "transaction_date": text.ts(when),
                "amount": charge_text,
                "convenience_fee": no_fee,
                "currency": offer.currency,
                "status": answer["status"],
                "pnref": pnref if payment != WALLET else "",
                "result_code": answer["result_code"],
                "response_message": answer["response_message"],
                "auth_code": answer["auth_code"],
            }
        )
        if payment != WALLET:
            # Cards renew by their token, PayPal and WorldPay under the first payment's
            # billing agreement (its PNRef, the contract's instrument).
            card = "tok_approve" if ok else decline[0]
            ledger.renewal_charges[tx_id] = ledger.record(
                gateway=payment,
                idempotency_key=key,
                kind="charge",
                pnref=pnref,
                amount=each,
                currency=offer.currency,
                instrument=card if payment == CARD else instrument,
                when=when,
                **answer,
            )
        if status == "expired":
            break
    purchase_status = "completed"
    if kind == "r_cancelling":
        if status == "active" and bill > run.now:
            since = offer.period_end(anchor, periods_paid - 1) if periods_paid > 1 else t
            cancel_at = since + int(rng.random() * max(1, run.now - since))
            cancel_at = max(min(cancel_at, run.now - 1), t)
            cancel_at_period_end, purchase_status = True, "cancelling"
            events.append(CancelEvent(cancel_at, "period_end", False))
    elif kind == "r_cancelled" and mode == "period_end":
        if status == "expired":
            cancel_at_period_end, purchase_status = True, "cancelled"
            cancel_at = min(cancel_at, ended - 60)
            events.append(CancelEvent(max(cancel_at, t + 30), "period_end", False))
        elif bill > run.now:
            cancel_at_period_end, purchase_status = True, "cancelling"
            when = min(max(cancel_at, t + 30), run.now - 30)
            events.append(CancelEvent(when, "period_end", False))
    elif kind in ("r_cancelled", "r_refunded"):
        when = max(cancel_at, t + 30)
        if transactions:
            when = (
                max(when, max(approved_charges.values(), key=lambda v: v[1])[1] + 30)
                if approved_charges
                else when
            )
        when = min(when, run.now - 10)
        if status in RecurringContract.LIVE_STATUSES:
            status, ended = "cancelled", when
            retry_at = None
        access.revoked = when
        if kind == "r_refunded":
            purchase_status = "refunded"
            events.append(RefundEvent(when, amount, None, rng.choice(REFUND_REASONS)))
        else:
            purchase_status = "cancelled"
            refund = rng.choice(["none", "none", "full", "prorated"])
            charge_id, paid_amount, since = None, amount, t
            if periods_paid in approved_charges:
                charge_id, since = approved_charges[periods_paid]
                paid_amount = each
            if periods_paid == 0:
                paid_amount = 0
            give = 0
            if refund == "full":
                give = paid_amount
            elif refund == "prorated" and paid_amount:
                start = offer.period_end(anchor, periods_paid - 1) if periods_paid > 1 else since
                end = offer.period_end(anchor, periods_paid)
                left = max(0, end - when) / max(1, end - start)
                give = int(paid_amount * left)
            if give > 0:
                events.append(RefundEvent(when, give, charge_id, f"Cancelled: {refund} refund"))
            events.append(CancelEvent(when, "now", give > 0))
    if status in ("past_due",) or (status == "expired" and failed > len(retries)):
        instrument_now = decline[0] if payment == CARD else instrument
    else:
        instrument_now = instrument if payment != CARD else "tok_approve"
    if payment == WALLET:
        instrument_now = ""
    access.expire = expire
    row = {
        "id": contract_id,
        "code": code,
        "purchase_id": purchase_id,
        "buyer_id": state.buyer_id,
        "subscription_id": product.id,
        "pricing_model_id": offer.pricing_model_id,
        "access_id": access.id,
        "amount": charge_text,
        "currency": offer.currency,
        "payment_type": payment,
        "instrument": instrument_now,
        "recurrence_unit": offer.recurrence_unit,
        "recurrence_count": offer.recurrence_count,
        "anchor": text.ts(anchor),
        "periods_paid": periods_paid,
        "period_offset": 0,  # generated contracts never changed plan
        "paused_from": None,  # nor paused
        "resume_at": None,
        "next_bill_date": text.ts(bill),
        "next_retry_at": text.ts(retry_at) if status == "past_due" else None,
        "failed_attempts": failed if status in ("past_due", "expired") else 0,
        "cancel_at_period_end": cancel_at_period_end,
        "status": status,
        "claimed_until": None,
        "created_at": text.ts(t),
        "ended_at": text.ts(ended),
    }
    return purchase_status, [
        (RecurringContract, row),
        *((ContractTransaction, transaction) for transaction in transactions),
    ]
