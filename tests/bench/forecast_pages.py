"""The renewal forecast and MRR movements pages on the generated shop (50k contracts at 1M
purchases), in-process and read-only: the figures alone (`renewal_forecast`, `mrr_movements`)
and the whole page (the view rendered for a superuser through a RequestFactory request, as the
server renders it, with the navigation), each the median and 90th percentile of RUNS after
WARMUPS, with the load average beside it and the CPU time the Python process and its
PostgreSQL backend spent per run (read from /proc: the database must run on this machine): on a
shared machine the wall time waits for a core, the CPU time is the work.

Every run is inside a READ ONLY transaction: the shop's database is not written (no session,
no user), so it can be a shared one (`/work/pgdata-perf`, db bench1m). That is why it is not
over HTTP through gunicorn signed in (README's rule 1-2: signing in writes a session row): the
figure leaves out gunicorn's request parsing and the socket, which the other money pages' HTTP
figures put at a few ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:55437/bench1m python -m tests.bench.forecast_pages
"""

import os
import statistics
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.messages.storage.fallback import FallbackStorage  # noqa: E402
from django.contrib.sessions.backends.base import SessionBase  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.urls import reverse  # noqa: E402

from purchases.models import RecurringContract  # noqa: E402
from purchases.reports import forecast, mrr  # noqa: E402
from purchases.reports.forecast_views import MrrMovementsView, RenewalForecastView  # noqa: E402
from tests.bench.cpu import PROBE, load  # noqa: E402

RUNS, WARMUPS = int(os.environ.get("BENCH_ROUNDS", "15")), 2


def page(view, url, query=None):
    def render():
        request = RequestFactory().get(url, query or {})
        request.user = get_user_model()(username="bench", is_superuser=True, is_active=True)
        request.session = SessionBase()
        request._messages = FallbackStorage(request)
        response = view.as_view()(request)
        response.render()
        assert response.status_code == 200, response.status_code
        return response

    return render


exec(PROBE)  # noqa: S102 (cpu.py shares it as code for worker scripts); defines cpu_now(connection): this process's and its backend's CPU seconds


def measure(name, work):
    for _ in range(WARMUPS):
        work()
    times = []
    own_before, backend_before = cpu_now(connection)  # noqa: F821 (from PROBE)
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    own_after, backend_after = cpu_now(connection)  # noqa: F821
    own = (own_after - own_before) / RUNS * 1000
    backend = (
        f"{(backend_after - backend_before) / RUNS * 1000:.1f}"
        if backend_before is not None
        else "n/a"
    )
    times.sort()
    p90 = times[int(len(times) * 0.9) - 1]
    print(
        f"| {name} | {statistics.median(times):.1f} | {p90:.1f} | {min(times):.1f} "
        f"| {own:.1f} | {backend} | {load():.1f} |",
        flush=True,
    )


def main():
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
        contracts = RecurringContract.objects.count()
        live = RecurringContract.objects.filter(status__in=RecurringContract.LIVE_STATUSES).count()
        print(f"{contracts} contracts, {live} live; {RUNS} runs after {WARMUPS} warm-ups")
        print(
            "| case | median ms | p90 ms | best ms | Python CPU ms/run "
            "| PostgreSQL CPU ms/run | load |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        measure("forecast figures (90 days)", forecast.renewal_forecast)
        measure("MRR movements figures (12 months)", lambda: mrr.mrr_movements(months=12))
        measure("MRR movements figures (24 months)", lambda: mrr.mrr_movements(months=24))
        measure(
            "forecast page",
            page(RenewalForecastView, reverse("purchases:reports:renewal_forecast")),
        )
        measure(
            "MRR page (12 months)",
            page(MrrMovementsView, reverse("purchases:reports:mrr_movements")),
        )
        measure(
            "MRR page (24 months)",
            page(MrrMovementsView, reverse("purchases:reports:mrr_movements"), {"months": 24}),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
