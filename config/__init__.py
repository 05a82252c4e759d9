"""Project configuration, and the site-wide pieces every app shares.

Importing the Celery app here makes `shared_task` bind to it whenever Django starts.
"""

from .celery import app as celery_app

__version__ = "0.1.0"
__all__ = ("celery_app", "__version__")
