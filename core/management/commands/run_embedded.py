"""`make run`: prepare the instance, start the web server, a Celery worker and beat, and print
how to sign in once all three are up, so the passwords are the last thing on the screen.

The processes are config/Procfile's, run by honcho's manager with this interpreter's bin folder
first on PATH. Ctrl-C stops them all and exits 0 (make then prints no error).
"""

import os
import sys
import threading
import time
import urllib.error
import urllib.request
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer

# A line a process prints once it is up (the web server is asked over HTTP instead).
READY_LINES = {"worker": " ready.", "beat": "beat: Starting..."}
QUIET_SECONDS = 2.0  # after everything is up, wait until the start-up chatter stops


class ReadinessPrinter(Printer):
    """honcho's printer, which also notes when a process says it is up and when output stops."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lock = threading.Lock()
        self.ready = set()
        self.last_line_at = time.monotonic()

    def write(self, message):
        with self.lock:
            super().write(message)
            self.last_line_at = time.monotonic()
            name = (message.name or "").split(".")[0]
            marker = READY_LINES.get(name)
            text = message.data if isinstance(message.data, str) else message.data.decode()
            if marker and marker in text:
                self.ready.add(name)

    def announce(self, text):
        with self.lock:
            self.output.write(text)
            self.output.flush()


class Command(BaseCommand):
    help = (
        "Prepare the instance (prepare_instance), run the web server, a Celery worker and beat "
        "(config/Procfile) and print how to sign in once they are up. Ctrl-C stops all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="host:port to serve on")
        parser.add_argument(
            "--ready-timeout",
            type=float,
            default=120.0,
            help="seconds to wait for the processes before printing the sign-in block anyway",
        )

    def handle(self, *args, addr, ready_timeout, **options):
        host, _, port = addr.rpartition(":")
        url = f"http://{host}:{port}/"
        self.stdout.write("Preparing the database (migrations; demo data on the first start)…")
        prepared = StringIO()
        call_command("prepare_instance", url=url, stdout=prepared)

        printer = ReadinessPrinter(sys.stdout)
        manager = Manager(printer=printer)
        environment = dict(os.environ, WEB_ADDR=addr)
        bin_dir = str(Path(sys.executable).parent)
        environment["PATH"] = os.pathsep.join([bin_dir, environment.get("PATH", "")])
        procfile = parse_procfile((settings.BASE_DIR / "config" / "Procfile").read_text())
        for name, command in procfile.processes.items():
            manager.add_process(name, command, env=environment, cwd=str(settings.BASE_DIR))

        # The web server answers its health check over HTTP; "0.0.0.0" is reached on loopback.
        wildcard = host in ("0.0.0.0", "", "[::]")  # noqa: S104 (compared, not bound)
        local_host = "127.0.0.1" if wildcard else host.strip("[]")
        health_url = f"http://{local_host}:{port}/healthz/"
        watcher = threading.Thread(
            target=self.announce_when_up,
            args=(printer, health_url, prepared.getvalue(), ready_timeout),
            daemon=True,
        )
        watcher.start()
        manager.loop()
        if manager.returncode in (130, 143):  # stopped by Ctrl-C or SIGTERM: a clean stop
            self.stdout.write("Stopped.")
            return
        sys.exit(manager.returncode or 0)

    def announce_when_up(self, printer, health_url, prepared, ready_timeout):
        deadline = time.monotonic() + ready_timeout
        web_up = False
        while time.monotonic() < deadline:
            web_up = web_up or answers(health_url)
            everything_up = web_up and set(READY_LINES) <= printer.ready
            if everything_up and time.monotonic() - printer.last_line_at >= QUIET_SECONDS:
                break
            time.sleep(0.25)
        missing = [name for name in READY_LINES if name not in printer.ready]
        if not web_up:
            missing.insert(0, "web")
        printer.announce(sign_in_block(prepared, missing))


def answers(url) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own server)
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def sign_in_block(prepared: str, missing: list[str]) -> str:
    rule = "─" * 72
    lines = ["", rule]
    if missing:
        lines.append(f"Not up yet: {', '.join(missing)} (see the lines above).")
    lines += [line for line in prepared.splitlines() if line.strip()]
    if settings.EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend":
        lines.append(
            f"Buyer e-mails are written to {settings.EMAIL_FILE_PATH}/ (and listed on each "
            "access's page)."
        )
    lines += ["Ctrl-C stops the web server, the worker and beat.", rule]
    return "\n".join(lines) + "\n"
