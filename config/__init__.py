"""The wiring: settings, the root URLconf, Celery, WSGI/ASGI. The only package that may import
every app; the shared pieces live in `core`.

Importing the Celery app here makes `shared_task` bind to it whenever Django starts.
"""

from .celery import app as celery_app

__all__ = ("celery_app",)
