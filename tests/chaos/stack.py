"""The production shape as processes the chaos tests can hurt: gunicorn (2 workers, DEBUG off),
a Celery worker and beat, two Redis servers (broker and cache, so each can fail alone), a local
SMTP server, on the PostgreSQL test database that `make test` started (restartable through
TEST_PG_CTL). Waits that only make the tests slow are shortened by settings, never semantics:
the relay runs every second, the idempotency lease is 8 s (gunicorn's --timeout of 6 s plus
margin), a pending purchase is settled after 12 s (after the lease, as by default, so a client
that retries finishes its own purchase first), the pending-purchase job runs every 2 s."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

BASE_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LEASE_SECONDS = 8
RESOLVE_SECONDS = LEASE_SECONDS + 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox(Message):
    def __init__(self):
        super().__init__()
        self.messages = []
        self.lock = threading.Lock()

    def handle_message(self, message):
        with self.lock:
            self.messages.append(message)

    def prepare_message(self, session, envelope):
        from email import message_from_bytes, policy

        return message_from_bytes(envelope.original_content, policy=policy.default)


class Redis:
    """A redis-server on a fixed free port, stopped and started again on the same port."""

    def __init__(self, work: Path, name: str):
        self.port = free_port()
        self.dir = work / name
        self.dir.mkdir()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open(self.port), 10, f"redis on {self.port}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(condition, seconds: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@dataclass
class Answer:
    status: int  # 0: no answer (connection refused, reset or cut)
    body: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)

    @property
    def lost(self) -> bool:
        return self.status == 0

    @property
    def server_error(self) -> bool:
        return self.status >= 500

    @property
    def error_code(self) -> str:
        return ((self.body or {}).get("Error") or {}).get("Code") or self.body.get("Code", "")


class Stack:
    def __init__(self, work: Path, database: dict):
        self.work = work
        self.database_url = (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        )
        self.broker = Redis(work, "broker")
        self.cache = Redis(work, "cache")
        self.inbox = Inbox()
        self.smtp = Controller(self.inbox, hostname="127.0.0.1", port=free_port())
        self.web_port = free_port()
        self.processes = {}
        self.logs = {}

    @property
    def env(self) -> dict:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "false",
            "SECRET_KEY": "chaos-tests-only-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": self.database_url,
            "DATABASE_CONN_MAX_AGE": "60",
            "CACHE_URL": self.cache.url + "/1",
            "CELERY_BROKER_URL": self.broker.url + "/0",
            "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp.port}",
            "VAR_DIR": str(self.work / "var"),
            "OUTBOX_RELAY_SECONDS": "1",
            "OUTBOX_RETRY_SECONDS": "1",
            "API_IDEMPOTENCY_LEASE_SECONDS": str(LEASE_SECONDS),
            "PURCHASE_RESOLVE_SECONDS": str(RESOLVE_SECONDS),
            "PURCHASE_RESOLVE_INTERVAL_SECONDS": "2",
            "API_RATE_LIMIT_PER_MINUTE": "100000",
            "PAYMENT_GATEWAYS": "sandbox_card",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        return env

    def _spawn(self, name, command):
        log = open(self.work / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop())
        self.logs[name] = log
        self.processes[name] = subprocess.Popen(
            command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def start(self):
        self.broker.start()
        self.cache.start()
        self.smtp.start()
        subprocess.run(
            [str(BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=BASE_DIR,
            env=self.env,
            check=True,
            timeout=120,
        )
        self._spawn(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                "2",
                "--timeout",
                "6",
                "--graceful-timeout",
                "2",
            ],
        )
        celery = [str(BIN / "celery"), "-A", "config"]
        self._spawn(
            "worker",
            [
                *celery,
                "worker",
                "--pool=solo",
                "--without-mingle",
                "--without-gossip",
                "-l",
                "WARNING",
            ],
        )
        self._spawn("beat", [*celery, "beat", "-l", "WARNING", "-s", str(self.work / "beat")])
        wait_for(lambda: self.get("/healthz/").status == 200, 60, "gunicorn to answer")

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self.logs.values():
            log.close()
        self.smtp.stop()
        self.broker.stop()
        self.cache.stop()

    # --- Faults --------------------------------------------------------------------------

    def web_workers(self) -> list[int]:
        master = self.processes["gunicorn"].pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return [int(pid) for pid in children]

    def kill_a_web_worker(self, index: int) -> int:
        workers = self.web_workers()
        pid = workers[index % len(workers)]
        os.kill(pid, signal.SIGKILL)
        return pid

    def restart_postgresql(self):
        pg_ctl, data = os.environ["TEST_PG_CTL"].split(), os.environ["TEST_PG_DATA"]
        subprocess.run(
            [*pg_ctl, "-D", data, "-m", "fast", "-w", "-t", "60", "restart"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=90,
        )

    # --- HTTP ----------------------------------------------------------------------------

    def request(self, method, path, *, body=None, headers=None, timeout=15) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            all_headers = {"Content-Type": "application/json", **(headers or {})}
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            return Answer(0)
        finally:
            connection.close()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {"raw": raw[:200].decode(errors="replace")}
        return Answer(
            response.status, data if isinstance(data, dict) else {}, dict(response.headers)
        )

    def get(self, path, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def api(self, key: str, path: str, body: dict, *, idempotency_key: str = "") -> Answer:
        headers = {"Authorization": f"Bearer {key}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return self.request("POST", path, body=body, headers=headers)

    def ppv(self, key: str, method: str, **params) -> Answer:
        from urllib.parse import urlencode

        query = urlencode({"apikey": key, "format": "json", **params})
        return self.get(f"/api/ppv/{method}?{query}")
