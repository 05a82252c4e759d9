"""Run one purchases export in a fresh process and print its timings and peak memory as JSON.

Used by bench_exports.py, so each path's peak RSS is its own, not the benchmark's:
    python tests/bench/export_probe.py copy|iterator
The database is DATABASE_URL's with the name in BENCH_DB_NAME (pytest-django's test database).
"""

import json
import os
import sys
import time
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: Linux keeps that across
    execve, so a child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(path: str):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    settings.DATABASES["default"]["NAME"] = os.environ["BENCH_DB_NAME"]
    connections["default"].settings_dict["NAME"] = os.environ["BENCH_DB_NAME"]

    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    from purchases.reports.exports import PURCHASES_REPORT
    from purchases.views import PurchaseListView

    user = get_user_model().objects.get(username="bench-finance")
    baseline_mb = peak_rss_mb()
    started = time.perf_counter()
    first_byte = first_rows = None  # the header; the first rows after it
    size = rows = 0
    if path == "copy":
        # The list page's "Export CSV", end to end: filters, sort, the COPY stream.
        request = RequestFactory().get("/purchases/", {"export": "csv"})
        request.user = user
        response = PurchaseListView.as_view()(request)
        chunks = response.streaming_content
    else:
        # The fallback the embedded SQLite default uses, here on the same PostgreSQL rows.
        from purchases.models import Purchase

        chunks = PURCHASES_REPORT._iterator_rows(Purchase.objects.order_by("-created_at", "-pk"))
    with open(os.devnull, "wb") as sink:
        for chunk in chunks:
            if first_byte is None:
                first_byte = time.perf_counter() - started
            elif first_rows is None:
                first_rows = time.perf_counter() - started
            sink.write(chunk)
            size += len(chunk)
            rows += chunk.count(b"\n")
    total = time.perf_counter() - started
    print(
        json.dumps(
            {
                "path": path,
                "seconds": total,
                "first_byte_seconds": first_byte,
                "first_rows_seconds": first_rows,
                "bytes": size,
                "lines": rows,
                "peak_rss_mb": peak_rss_mb(),
                "baseline_rss_mb": baseline_mb,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
