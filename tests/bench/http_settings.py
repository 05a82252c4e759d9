"""The benchmark server's settings: the production settings (config/settings.py with
DJANGO_DEBUG=false, read from the environment the runner sets), plus the stock Django admin the
staff lists are compared with, under /stock-admin/."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.stock_admin"
