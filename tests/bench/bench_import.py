"""The buyers CSV import at 100,000 rows on PostgreSQL, as staff run it: upload the file (the
preview: every row checked, the contacts buyers have looked up a thousand at a time), confirm,
and the background job writes the good rows in chunks of BULK_CHUNK_SIZE. Celery runs eagerly
here, so the job's time is the confirm request's; with a worker the request returns at once and
the progress page follows the chunks.

Beside it, the plain equivalent: the same buyers written by one `bulk_create` (no checks, no
events, no progress), on the same database. Prints the figures with the load average.

Run with `make bench PYTEST_ARGS="-k import"`; BENCH_IMPORT_ROWS to change the size."""

import os
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from buyers.models import BulkOperation, Buyer

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))

pytestmark = pytest.mark.django_db(transaction=True)


def csv_text(rows: int, prefix: str) -> str:
    lines = ["email,phone,name"]
    lines += [f"{prefix}{n}@example.com,+1 555 {n:07d},Buyer {n}" for n in range(rows)]
    return "\n".join(lines) + "\n"


def test_import_of_100k_rows(client, django_capture_on_commit_callbacks):
    load_before = os.getloadavg()[0]
    user = get_user_model().objects.create_superuser("bench-import", "b@example.com", "pw")
    client.force_login(user)
    text = csv_text(ROWS, "imported")
    print(f"\nBuyers CSV import, {ROWS:,} rows ({len(text) / 1e6:.1f} MB)")

    started = time.perf_counter()
    upload = SimpleUploadedFile("buyers.csv", text.encode(), content_type="text/csv")
    response = client.post(reverse("buyers:import"), {"file": upload})
    preview_seconds = time.perf_counter() - started
    assert response.status_code == 200
    assert len(response.context["preview"].good) == ROWS

    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("buyers:import"), {"confirm": "1"})
    import_seconds = time.perf_counter() - started
    operation = BulkOperation.objects.get(action=BulkOperation.Action.IMPORT)
    assert (operation.state, operation.done_count, operation.failed_count) == ("done", ROWS, 0)
    assert Buyer.objects.filter(email__startswith="imported").count() == ROWS

    plain = [
        Buyer(email=f"plain{n}@example.com", phone=f"+1 556 {n:07d}", name=f"Buyer {n}")
        for n in range(ROWS)
    ]
    started = time.perf_counter()
    Buyer.objects.bulk_create(plain, batch_size=1000)
    plain_seconds = time.perf_counter() - started
    load_after = os.getloadavg()[0]

    print(f"  preview (upload and check every row): {preview_seconds:6.1f} s")
    print(
        f"  import (background job, chunks of {os.environ.get('BULK_CHUNK_SIZE', '500')}): "
        f"{import_seconds:6.1f} s = {ROWS / import_seconds:,.0f} rows/s"
    )
    print(f"  plain bulk_create of the same rows:     {plain_seconds:6.1f} s")
    print(f"  load average (1 min): {load_before:.2f} before, {load_after:.2f} after")
