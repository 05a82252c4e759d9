"""`make run` as a new shop meets it: the sign-in block is the last thing on the screen once the
web server, the worker and beat are up, no e-mail or warning noise, and Ctrl-C ends cleanly."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
RULE = "─" * 72


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_environment(var_dir):
    """The environment of a developer who set nothing: the services the suite uses are left out."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "CELERY_", "EMAIL_URL", "CACHE_URL"))
    }
    env.update(VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1")
    return env


class Output:
    """The lines a process prints, read as they come."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            time.sleep(0.2)
        return False


@pytest.fixture
def make_run(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        # The suite's own virtualenv, whatever its folder is called.
        ["make", "--no-print-directory", "run", f"VENV={sys.prefix}", f"PORT={port}"],
        cwd=BASE_DIR,
        env=embedded_environment(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    output = Output(process.stdout)
    yield process, output, port
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_make_run_prints_how_to_sign_in_last_and_stops_cleanly_on_ctrl_c(make_run, tmp_path):
    process, output, port = make_run
    assert output.wait_for("Ctrl-C stops", timeout=180), "\n".join(output.lines[-40:])
    time.sleep(3)  # whatever the processes print after the block would show now
    shown = [line for line in output.lines if line.strip()]

    # Ctrl-C in a terminal reaches the whole foreground group: make, the runner, the servers.
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=60)
    output.thread.join(timeout=10)
    text = "\n".join(output.lines)

    block_start = max(i for i, line in enumerate(shown) if line == RULE and i < len(shown) - 1)
    before, block = shown[:block_start], shown[block_start:]
    assert block[-1] == RULE, "the sign-in block is the last thing printed:\n" + "\n".join(shown)
    block_text = "\n".join(block)
    assert "user: admin" in block_text and "user: staff" in block_text
    assert "user: finance" in block_text and block_text.count("password:") >= 3
    assert f"Open http://127.0.0.1:{port}/ and sign in." in block_text
    assert "manage.py changepassword" in block_text
    assert f"Buyer e-mails are written to {tmp_path / 'mail'}" in block_text
    assert "Not up yet" not in block_text

    # It came after all three processes were up.
    earlier = "\n".join(before)
    assert "Quit the server with" in earlier and " ready." in earlier
    assert "beat: Starting..." in earlier

    # No e-mail bodies, no broker or root warnings in the console; the e-mails are files.
    for noise in ("Content-Type:", "No hostname was supplied", "superuser privileges"):
        assert noise not in text, noise
    assert any((tmp_path / "mail").iterdir())

    # Ctrl-C: everything stops, and make reports no error.
    assert output.lines[-1] == "Stopped."
    assert "make: ***" not in text and "Traceback" not in text
