"""The production settings (config.settings, DJANGO_DEBUG=false in the benchmark's environment)
with one URL more: the trivial view the access check is compared with (bench_urls.py)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.bench_urls"
