"""The real stack for webhook tests and the benchmark: a receiver process (HTTPS, with a
throwaway certificate the workers trust), Celery workers on Redis, and pending deliveries."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection, transaction

from buyers.models import Buyer
from core import events
from core.models import OutboxMessage
from tests.buyers.test_smtp_round_trip import free_port
from webhooks import delivery

BASE_DIR = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))


def needs_stack():
    redis_url = os.environ.get("REDIS_URL")
    if connection.vendor != "postgresql" or not redis_url:
        if os.environ.get("CI"):
            pytest.fail("needs PostgreSQL and Redis: run it with `make test`")
        pytest.skip("needs PostgreSQL and Redis: `make test` starts them")
    return redis_url


class Receiver:
    def __init__(self, tmp_path, delay_ms=0):
        self.cert, self.key = tmp_path / "cert.pem", tmp_path / "key.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                str(self.key),
                "-out",
                str(self.cert),
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )
        self.port = free_port()
        self.out = tmp_path / "received.txt"
        self.out.touch()
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("receiver.py")),
                str(self.port),
                str(self.out),
                str(delay_ms),
            ],
            env={**os.environ, "RECEIVER_CERT": str(self.cert), "RECEIVER_KEY": str(self.key)},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"
        self.url = f"https://127.0.0.1:{self.port}/hooks"

    def ids(self) -> list[str]:
        return [line for line in self.out.read_text().splitlines() if line]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def worker_env(tmp_path, redis_url, receiver: Receiver, **extra) -> dict:
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_url.rsplit("/", 1)[0] + "/5",
        "VAR_DIR": str(tmp_path),
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": "webhook-tests-only-" + "x" * 40,
        "ALLOWED_HOSTS": "localhost",
        "WEBHOOKS_ALLOW_PRIVATE": "true",
        "SSL_CERT_FILE": str(receiver.cert),  # the workers trust the receiver's certificate
        **extra,
    }


def start_worker(env, name, pool=("--pool=solo",)) -> subprocess.Popen:
    return subprocess.Popen(
        [
            CELERY,
            "-A",
            "config",
            "worker",
            *pool,
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-n",
            f"{name}@%h",
            "--loglevel=WARNING",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def write_pending_deliveries(count: int, monkeypatch, batch: int = 500) -> list[int]:
    """`count` buyer.created events, fanned out (to the endpoints that exist) and left pending
    for the workers: the test process hands nothing to a broker."""
    monkeypatch.setattr(delivery, "hand_to_broker", lambda ids: None)
    for start in range(0, count, batch):
        with transaction.atomic():
            events.publish_many(
                ("buyer.created", Buyer(email=f"b{i}@example.com", name=f"Buyer {i}"), "")
                for i in range(start, min(count, start + batch))
            )
    for message in OutboxMessage.objects.filter(kind=events.EVENTS_MESSAGE, status="pending"):
        with transaction.atomic():
            delivery.fan_out(message.payload)
            message.status = OutboxMessage.Status.SENT
            message.save(update_fields=["status"])
    from webhooks.models import WebhookDelivery

    return list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True))


def hand_over(env, ids: list[int]) -> float:
    """What fan-out does after its commit, from a process whose broker is the workers' Redis.
    Answers the time (time.time()) it started handing over, after that process's start-up."""
    code = (
        "import django, sys, time; django.setup();"
        "from webhooks.delivery import hand_to_broker;"
        "ids = [int(x) for x in sys.stdin.read().split()];"
        "print(time.time());"
        "assert hand_to_broker(ids)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        input=" ".join(map(str, ids)),
        text=True,
        check=True,
        timeout=60,
        capture_output=True,
    )
    return float(done.stdout.split()[0])


def wait_for(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
