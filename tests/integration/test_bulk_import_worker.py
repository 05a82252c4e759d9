"""A bulk operation on the real stack: the buyers import confirmed in a request is carried by the
outbox to a Celery worker on the embedded filesystem broker (what `make run` uses), which writes
the rows in chunks, each committed on its own, so the progress is seen growing while it runs."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from buyers import bulk, imports
from buyers.models import BulkOperation, Buyer
from core import outbox
from tests.factories import UserFactory

BASE_DIR = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
ROWS = 5_000

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_worker_imports_many_rows_in_chunks_and_the_progress_grows(tmp_path, monkeypatch):
    if connection.vendor != "postgresql":
        if os.environ.get("CI"):
            pytest.fail("needs PostgreSQL: run it with `make test`")
        pytest.skip("needs PostgreSQL: `make test` starts it")
    # The message waits in the outbox for the worker's relay job, not this process's eager Celery.
    monkeypatch.setattr(outbox, "hand_to_broker", lambda ids: False)
    text = "email,name\n" + "".join(f"row{n}@example.com,Row {n}\n" for n in range(ROWS))
    preview = imports.read_buyers_csv(text)
    operation = bulk.record_import(good_rows=preview.good, bad_count=0, started_by=UserFactory())
    bulk.start_import(operation=operation)

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": "filesystem://",
        "VAR_DIR": str(tmp_path),
        "OUTBOX_RELAY_SECONDS": "1",
        "BULK_CHUNK_SIZE": "500",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    common = {"cwd": BASE_DIR, "env": env, "stdout": subprocess.DEVNULL}
    worker = subprocess.Popen(
        [CELERY, "-A", "config", "worker", "--pool=solo", "--without-mingle", "--without-gossip"],
        **common,
    )
    beat = subprocess.Popen(
        [CELERY, "-A", "config", "beat", "-s", str(tmp_path / "beat")], **common
    )
    seen = set()
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            operation.refresh_from_db()
            seen.add(operation.processed)
            if operation.state == BulkOperation.State.DONE:
                break
            time.sleep(0.2)
    finally:
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    assert operation.state == BulkOperation.State.DONE, f"{operation.processed} of {ROWS} in time"
    assert (operation.done_count, operation.failed_count) == (ROWS, 0)
    assert Buyer.objects.filter(email__startswith="row").count() == ROWS
    assert any(0 < processed < ROWS for processed in seen), "no progress was seen mid-way"
