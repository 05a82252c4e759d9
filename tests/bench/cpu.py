"""CPU seconds a benchmark's worker spent, its own and its PostgreSQL backend's.

On a machine other sessions share, wall-clock time moves with their load; the CPU time the work
itself took moves much less, so before/after comparisons are made on it (beside wall time and
the load average). The backend's time is read from /proc, which needs the database on this
machine (as `make bench` starts it); elsewhere it is None.
"""

import os
from pathlib import Path

# Code the worker scripts run (they cannot import this module before Django is set up).
PROBE = """
import os, resource
from pathlib import Path
def cpu_now(connection):
    own = resource.getrusage(resource.RUSAGE_SELF)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        backend = None
    return own.ru_utime + own.ru_stime, backend
"""


def parse(output: str) -> tuple[float, float | None]:
    """The worker's "cpu <own> <backend>" line: (own, backend) seconds."""
    line = next(line for line in output.splitlines() if line.startswith("cpu "))
    own, backend = line.split()[1:3]
    return float(own), None if backend == "None" else float(backend)


def load() -> float:
    return os.getloadavg()[0]


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children, living (read from /proc) and ended (counted
    in the parent's children's time once reaped), e.g. gunicorn's master and its worker, or
    PostgreSQL's postmaster and its backends."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = _stat(pid)
    total = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    for child in Path("/proc").iterdir():
        if not child.name.isdigit():
            continue
        try:
            child_fields = _stat(int(child.name))
        except OSError:
            continue
        if int(child_fields[1]) == pid:
            total += int(child_fields[11]) + int(child_fields[12])
    return total / tick
