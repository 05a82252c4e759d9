"""Faults on the production shape (tests/chaos/stack.py): the broker stopped, web workers killed,
Redis stopped, PostgreSQL restarted, parallel requests for one new buyer. Every request is
answered (2xx or a domain refusal; 503 only while the database is down), retries with the same
Idempotency-Key get the first outcome, nothing is charged twice or left half-written, and every
e-mail is sent exactly once when the broker is back. Each test prints its figures (run with -s):
requests tried, answered, lost, e-mails sent."""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.models import Sum

from api.keys import create_api_key
from api.models import ApiKey, IdempotentRequest
from buyers.models import Access, Buyer, WalletBalance, WalletEntry
from core.events import EVENTS_MESSAGE
from core.models import OutboxMessage
from purchases.models import Purchase, SandboxCharge
from subscriptions import services as catalog_services
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer

from .stack import LEASE_SECONDS, RESOLVE_SECONDS, wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PURCHASES = "/api/purchases"


def api_key() -> str:
    return create_api_key(name="Chaos", scopes=ApiKey.Scope.values).key


def purchase_body(buyer, offer, card: bool) -> dict:
    subscription, pricing_model = offer
    body = {
        "buyer": buyer.code,
        "productId": subscription.code,
        "pricingModelId": pricing_model.code,
        "paymentType": "sandbox_card" if card else "wallet",
    }
    if card:
        body["instrument"] = "tok_approve"
    return body


def with_media(subscription):
    media = catalog_services.create_media(title="Clip", status="done", kind="video")
    catalog_services.attach_media(subscription=subscription, media=media)
    return media


def buy_until_answered(stack, key, body, idempotency_key, *, give_up_after=LEASE_SECONDS + 30):
    """A client that retries as the API asks: the same key after a lost answer, a 409 or a 503,
    until it gets an outcome. Answers (final answer, tries, lost, 503s, seconds)."""
    start, tries, lost, unavailable = time.monotonic(), 0, 0, 0
    while time.monotonic() - start < give_up_after:
        tries += 1
        answer = stack.api(key, PURCHASES, body, idempotency_key=idempotency_key)
        if answer.lost:
            lost += 1
            time.sleep(0.3)
        elif answer.status == 503:
            unavailable += 1
            time.sleep(0.5)
        elif answer.status == 409 and answer.error_code == "idempotency_key_in_use":
            time.sleep(min(1.0, float(answer.headers.get("Retry-After", 1))))
        else:
            return answer, tries, lost, unavailable, time.monotonic() - start
    return None, tries, lost, unavailable, time.monotonic() - start


def report(name: str, **figures):
    print(f"\nCHAOS {name}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in figures.items()))


def assert_nothing_half_written():
    """Every completed purchase has its access and, paid from the wallet, its one debit; no
    debit without a completed purchase; balances equal their ledgers; nothing charged twice."""
    connection.close()
    completed = Purchase.objects.filter(status=Purchase.Status.COMPLETED)
    assert not completed.filter(access__isnull=True).exists()
    debits = Counter(
        WalletEntry.objects.filter(kind="purchase").values_list("reference", flat=True)
    )
    wallet_completed = set(completed.filter(payment_type="wallet").values_list("code", flat=True))
    assert set(debits) == wallet_completed
    assert all(count == 1 for count in debits.values())
    for balance in WalletBalance.objects.all():
        ledger = WalletEntry.objects.filter(buyer=balance.buyer_id, currency=balance.currency)
        assert balance.balance == ledger.aggregate(total=Sum("amount"))["total"]
    charged = Counter(
        SandboxCharge.objects.filter(kind="charge", status="approved").values_list(
            "idempotency_key", flat=True
        )
    )
    card_completed = {
        f"purchase:{code}"
        for code in completed.exclude(payment_type="wallet").values_list("code", flat=True)
    }
    assert set(charged) == card_completed, "a charge without its completed purchase, or missing"
    per_product = Counter(completed.values_list("buyer_id", "subscription_id"))
    assert all(count == 1 for count in per_product.values()), "a product bought twice"


def test_broker_down_purchases_and_grants_are_answered_and_each_e_mail_sent_once_after(stack):
    key = api_key()
    offer = offer_for_sale(price="5.00")
    buyers = [wallet_buyer("20.00") for _ in range(30)]
    granted = offer_for_sale(price="5.00")[0]
    media = with_media(granted)
    already = len(stack.inbox.messages)

    stack.broker.stop()
    try:
        with ThreadPoolExecutor(4) as pool:
            purchases = list(
                pool.map(
                    lambda n: stack.api(
                        key,
                        PURCHASES,
                        purchase_body(buyers[n], offer, False),
                        idempotency_key=f"b{n}",
                    ),
                    range(len(buyers)),
                )
            )
            grants = list(
                pool.map(
                    lambda n: stack.ppv(
                        key,
                        "addbuyer",
                        code=granted.code,
                        media=media.code,
                        email=f"grant{n}@chaos.example",
                        notification="1",
                    ),
                    range(10),
                )
            )
        health = stack.get("/healthz/")
        # The e-mails; the requests' events (core/events.py) wait beside them.
        waiting = (
            OutboxMessage.objects.filter(status="pending").exclude(kind=EVENTS_MESSAGE).count()
        )
    finally:
        stack.broker.start()
    answers = purchases + grants
    assert [a.status for a in purchases] == [201] * 30
    assert [a.status for a in grants] == [200] * 10
    assert (health.status, health.body["degraded"]) == (200, ["broker"])
    assert waiting == 40

    wait_for(lambda: len(stack.inbox.messages) - already >= 40, 90, "40 e-mails")
    wait_for(lambda: not OutboxMessage.objects.filter(status="pending").exists(), 30, "outbox")
    time.sleep(3)  # three more relay runs: nothing is sent again
    mails = stack.inbox.messages[already:]
    sent = Counter((m["To"], m["Subject"]) for m in mails)
    report(
        "broker stopped during purchases and grants",
        requests_tried=len(answers),
        answered=sum(not a.lost for a in answers),
        lost=sum(a.lost for a in answers),
        server_errors=sum(a.server_error for a in answers),
        e_mails_waiting_while_down=waiting,
        e_mails_sent_after=len(mails),
        sent_twice=sum(count > 1 for count in sent.values()),
    )
    assert len(mails) == 40
    assert all(count == 1 for count in sent.values())
    assert {to for to, _ in sent} == {b.email for b in buyers} | {
        f"grant{n}@chaos.example" for n in range(10)
    }
    assert_nothing_half_written()


def test_web_workers_killed_during_keyed_purchases_lose_no_outcome_and_charge_once(stack):
    key = api_key()
    clients = []
    for n in range(60):
        card = n % 2 == 0
        buyer = BuyerFactory() if card else wallet_buyer("20.00")
        clients.append((purchase_body(buyer, offer_for_sale(price="5.00"), card), f"kill-{n}"))
    kills = []

    def killer():
        time.sleep(0.2)
        for n in range(6):
            kills.append(stack.kill_a_web_worker(n))
            time.sleep(0.35)

    chaos = threading.Thread(target=killer)
    chaos.start()
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda c: buy_until_answered(stack, key, *c), clients))
    chaos.join()
    wait_for(
        lambda: not Purchase.objects.filter(status="pending").exists(),
        RESOLVE_SECONDS + 20,
        "the beat job to settle pending purchases",
    )

    finals = [answer for answer, *_ in results]
    report(
        "gunicorn workers killed (kill -9) during keyed purchases",
        requests_tried=sum(r[1] for r in results),
        purchases=len(clients),
        workers_killed=len(kills),
        answers_lost_to_kills=sum(r[2] for r in results),
        outcomes_answered=sum(f is not None for f in finals),
        server_errors=sum(f is not None and f.server_error for f in finals),
        completed=Purchase.objects.filter(status="completed").count(),
        settled_as_interrupted=Purchase.objects.filter(status="failed").count(),
        keys_taken_over_after_the_lease=IdempotentRequest.objects.filter(attempts__gt=1).count(),
        longest_wait_for_an_outcome_s=round(max(r[4] for r in results), 1),
        lease_s=LEASE_SECONDS,
    )
    assert all(final is not None for final in finals)
    assert not [f.status for f in finals if f.status not in (201, 402)]
    for final in finals:
        content = final.body["Content"]
        purchase = Purchase.objects.get(code=content["Code"])
        assert purchase.status == content["Status"], "the retry got another outcome than stored"
        if purchase.status == Purchase.Status.FAILED:
            # Settled by the pending-purchase job before its client came back: nothing taken.
            assert "nothing was taken" in purchase.response_message
    assert Purchase.objects.count() == len(clients)
    assert_nothing_half_written()


def test_redis_stopped_for_30_seconds_during_api_traffic_answers_no_server_error(stack):
    key = api_key()
    offer = offer_for_sale(price="1.00")
    buyers = [wallet_buyer("20.00") for _ in range(40)]
    access = Access.objects.create(
        buyer=BuyerFactory(), subscription=offer[0], activation_limit=None
    )
    answers, healths, health_seconds = [], [], []
    stop = threading.Event()
    buyer_queue = list(buyers)
    lock = threading.Lock()

    def traffic(n):
        while not stop.is_set():
            with lock:
                buyer = buyer_queue.pop() if buyer_queue else None
            if buyer is not None:
                body = purchase_body(buyer, offer, False)
                answers.append(stack.api(key, PURCHASES, body, idempotency_key=f"r-{buyer.code}"))
            answers.append(
                stack.api(
                    key,
                    "/api/access/check",
                    {"code": offer[0].code, "hash": access.hash, "udid": f"device-{n}"},
                )
            )
            time.sleep(0.2)

    workers = [threading.Thread(target=traffic, args=(n,)) for n in range(3)]
    for worker in workers:
        worker.start()
    time.sleep(2)
    stack.broker.stop()
    stack.cache.stop()
    down_at = time.monotonic()
    try:
        while time.monotonic() - down_at < 30:
            asked = time.monotonic()
            healths.append(stack.get("/healthz/"))
            health_seconds.append(time.monotonic() - asked)
            time.sleep(1)
    finally:
        stack.cache.start()
        stack.broker.start()
    time.sleep(2)
    stop.set()
    for worker in workers:
        worker.join()
    wait_for(lambda: not OutboxMessage.objects.filter(status="pending").exists(), 60, "outbox")
    report(
        "Redis (broker and cache) stopped 30 s during API traffic",
        requests_tried=len(answers),
        answered=sum(not a.lost for a in answers),
        lost=sum(a.lost for a in answers),
        server_errors=sum(a.server_error for a in answers),
        health_checks_while_down=len(healths),
        slowest_health_check_s=round(max(health_seconds), 2),
        health_naming_cache_and_broker=sum(
            set(h.body.get("degraded", [])) >= {"cache", "broker"} for h in healths
        ),
    )
    assert not [a.status for a in answers if a.lost or a.server_error]
    assert all(h.status == 200 for h in healths)
    assert all(set(h.body["degraded"]) >= {"cache", "broker"} for h in healths[2:])
    assert Purchase.objects.filter(status="completed").count() == len(buyers) - len(buyer_queue)
    assert_nothing_half_written()


def test_postgresql_restarted_during_a_burst_answers_no_server_error_once_healthy(stack):
    key = api_key()
    clients = []
    for n in range(40):
        buyer = wallet_buyer("20.00")
        clients.append((purchase_body(buyer, offer_for_sale(price="5.00"), False), f"pg-{n}"))
    timeline = []  # (time, answer) of every request
    healthy = {}

    def restart():
        time.sleep(0.3)
        stack.restart_postgresql()
        wait_for(lambda: stack.get("/healthz/").status == 200, 60, "the database to be back")
        healthy["at"] = time.monotonic()

    def client(body, idempotency_key):
        start = time.monotonic()
        while time.monotonic() - start < 60:
            answer = stack.api(key, PURCHASES, body, idempotency_key=idempotency_key)
            timeline.append((time.monotonic(), answer))
            if answer.lost or answer.status in (409, 503):
                time.sleep(0.3)
                continue
            return answer
        return None

    chaos = threading.Thread(target=restart)
    chaos.start()
    with ThreadPoolExecutor(4) as pool:
        finals = list(pool.map(lambda c: client(*c), clients))
    chaos.join()
    connection.close()
    wait_for(
        lambda: not Purchase.objects.filter(status="pending").exists(),
        RESOLVE_SECONDS + 20,
        "the beat job to settle pending purchases",
    )
    after = [answer for at, answer in timeline if at > healthy["at"]]
    report(
        "PostgreSQL restarted during a burst of purchases",
        requests_tried=len(timeline),
        answered=sum(not a.lost for _, a in timeline),
        lost=sum(a.lost for _, a in timeline),
        answered_503_while_down=sum(a.status == 503 for _, a in timeline),
        server_errors_once_healthy=sum(a.server_error or a.lost for a in after),
        other_server_errors=sum(a.server_error and a.status != 503 for _, a in timeline),
    )
    assert all(final is not None and final.status in (201, 402) for final in finals)
    assert not [a.status for a in after if a.server_error or a.lost]
    assert not [a.status for _, a in timeline if a.server_error and a.status != 503]
    assert_nothing_half_written()


def test_ten_parallel_addbuyer_for_one_new_buyer_make_one_buyer(stack):
    key = api_key()
    targets = []
    for _ in range(10):
        subscription = offer_for_sale(price="5.00")[0]
        targets.append((subscription, with_media(subscription)))
    barrier = threading.Barrier(10)

    def add(target):
        barrier.wait()
        subscription, media = target
        return stack.ppv(
            key, "addbuyer", code=subscription.code, media=media.code, phone="+49 30 555 0101"
        )

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(add, targets))
    report(
        "10 parallel addbuyer for one new buyer",
        requests_tried=len(answers),
        answered=sum(not a.lost for a in answers),
        lost=sum(a.lost for a in answers),
        buyers_made=Buyer.objects.count(),
    )
    assert [a.status for a in answers] == [200] * 10
    assert Buyer.objects.count() == 1
    assert Access.objects.filter(buyer=Buyer.objects.get()).count() == 10
