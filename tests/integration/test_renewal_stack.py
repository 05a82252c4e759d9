"""Renewals on the real stack: a Celery worker and beat on the Redis that `make test` started
renew due contracts on their own, and the receipts arrive at a local SMTP server."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from purchases.models import RecurringContract
from tests.buyers.test_smtp_round_trip import Inbox, free_port
from tests.purchases.bulk import due_contracts

BASE_DIR = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
CONTRACTS = 30

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_beat_and_a_worker_renew_due_contracts_and_mail_the_receipts(tmp_path):
    redis_url = os.environ.get("REDIS_URL")
    if connection.vendor != "postgresql" or not redis_url:
        if os.environ.get("CI"):
            pytest.fail("needs PostgreSQL and Redis: run it with `make test`")
        pytest.skip("needs PostgreSQL and Redis: `make test` starts them")
    due_contracts(CONTRACTS)
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_url.rsplit("/", 1)[0] + "/3",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "VAR_DIR": str(tmp_path),
        "RENEWAL_INTERVAL_SECONDS": "2",
    }
    common = {
        "cwd": BASE_DIR,
        "env": env,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.STDOUT,
    }
    worker = subprocess.Popen(
        [
            CELERY,
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        **common,
    )
    beat = subprocess.Popen(
        [CELERY, "-A", "config", "beat", "--loglevel=WARNING", "-s", str(tmp_path / "beat")],
        **common,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            renewed = RecurringContract.objects.filter(periods_paid=2).count()
            receipts = [m for m in inbox.messages if b"is renewed" in m]
            if renewed == CONTRACTS and len(receipts) >= CONTRACTS:
                break
            time.sleep(0.5)
        assert renewed == CONTRACTS, f"{renewed} of {CONTRACTS} renewed in time"
        assert len(receipts) == CONTRACTS, f"{len(receipts)} receipts arrived"
    finally:
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        smtp.stop()
