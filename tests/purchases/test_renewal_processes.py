"""The renewal guarantees with real processes on PostgreSQL: two workers at once charge each
contract once; a worker killed half-way loses nothing and charges nothing twice."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count

from purchases.models import ContractTransaction, RecurringContract, SandboxCharge
from tests.purchases.bulk import due_contracts

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("real-process renewals are tested on PostgreSQL (make test)")


def worker(batch_size=20, **env_overrides):
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    # Their e-mail tasks go to a throwaway embedded broker, not the developer's var/.
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_DEBUG": "true",
        "VAR_DIR": tempfile.mkdtemp(prefix="renewal-worker-"),
        **env_overrides,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "renew_contracts", "--batch-size", str(batch_size)],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def renewal_charges():
    return SandboxCharge.objects.filter(idempotency_key__startswith="contract:")


def assert_each_contract_charged_once(count):
    assert renewal_charges().count() == count
    assert not renewal_charges().values("idempotency_key").annotate(n=Count("pk")).filter(n__gt=1)
    paid = ContractTransaction.objects.filter(status="approved", period=2)
    assert paid.count() == count
    assert RecurringContract.objects.filter(periods_paid=2).count() == count


def test_two_workers_at_once_charge_each_contract_once(on_postgresql):
    due_contracts(600)
    first, second = worker(), worker()
    outputs = [process.communicate(timeout=120)[0] for process in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    claimed = [int(out.split("claimed ")[1].split(",")[0]) for out in outputs]
    assert sum(claimed) == 600 and all(claimed), outputs  # both worked, on different contracts
    assert_each_contract_charged_once(600)


def test_a_worker_killed_half_way_loses_nothing_and_the_next_run_charges_the_rest(
    on_postgresql, settings
):
    due_contracts(3000)
    victim = worker(batch_size=25, RENEWAL_CLAIM_SECONDS="3")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and renewal_charges().count() < 200:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    charged_before = renewal_charges().count()
    assert 0 < charged_before < 3000, "the kill did not land half-way"

    # Its claims lapse after their 3-second lease; the next run takes them again, same keys.
    time.sleep(3.5)
    survivor = worker(batch_size=500)
    output = survivor.communicate(timeout=120)[0]
    assert survivor.returncode == 0, output
    assert_each_contract_charged_once(3000)
