"""The task queue for real: a Celery worker process takes a task from the embedded filesystem
broker (what `make run` uses) and from Redis (what production uses)."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))

pytestmark = pytest.mark.integration


def send_and_wait_for_worker(tmp_path, broker_url):
    env = {**os.environ, "VAR_DIR": str(tmp_path / "var"), "CELERY_BROKER_URL": broker_url}
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    marker = tmp_path / "marker.txt"
    token = uuid.uuid4().hex
    send = (
        "import django; django.setup();"
        "from tests.integration.celery_probe import write_marker;"
        f"write_marker.delay({str(marker)!r}, {token!r})"
    )
    worker = subprocess.Popen(
        [
            CELERY,
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "-I",
            "tests.integration.celery_probe",
            "--loglevel=WARNING",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        subprocess.run(
            [sys.executable, "-c", send],
            cwd=BASE_DIR,
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
            check=True,
            timeout=60,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not marker.exists():
            time.sleep(0.2)
        assert marker.exists(), "the worker did not run the task within 60 s"
        assert marker.read_text() == token
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def test_a_worker_runs_tasks_from_the_embedded_filesystem_broker(tmp_path):
    send_and_wait_for_worker(tmp_path, "filesystem://")


def test_a_worker_runs_tasks_from_redis(tmp_path):
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        if os.environ.get("CI"):
            pytest.fail("REDIS_URL is not set: run the suite with `make test`")
        pytest.skip("REDIS_URL is not set: `make test` starts Redis")
    send_and_wait_for_worker(tmp_path, redis_url)
