"""A task that integration tests load into a real worker with `celery -I <this module>`."""

from pathlib import Path

from celery import shared_task


@shared_task(name="tests.write_marker")
def write_marker(path: str, text: str) -> None:
    Path(path).write_text(text)
