# The two commands a new user needs: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)
APT_PACKAGES := redis-server chromium libreoffice-calc-nogui

.PHONY: run test test-fast bench lint format messages system-packages clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  if [ -n "$(ROOT)" ]; then \
	    echo "Installing python3-venv with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
	    rm -rf $(VENV); $(PYTHON) -m venv $(VENV); \
	  else echo "python3 -m venv failed: install python3-venv" >&2; exit 1; fi; }
	@$(BIN)/pip install -q --disable-pip-version-check --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime-installed

## Start the web server, a Celery worker and beat on SQLite and the embedded broker, then print
## how to sign in (Ctrl-C stops all).
run: $(VENV)/.runtime-installed
	@$(BIN)/python manage.py run_embedded --addr $(HOST):$(PORT)

## Debian packages the test suite needs, installed with apt-get when root and missing.
system-packages:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v soffice >/dev/null || missing="$$missing libreoffice-calc-nogui"; \
	if [ -n "$$missing" ]; then \
	  if [ -n "$(ROOT)" ]; then \
	    echo "Installing with apt-get:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Missing Debian packages:$$missing (run as root, or install them)" >&2; exit 1; fi; \
	fi

## The whole suite on a throwaway PostgreSQL cluster and Redis, as CI runs it.
test: $(VENV)/.dev-installed system-packages
	tests/with_services.sh $(BIN)/pytest $(PYTEST_ARGS)

## A quick loop on SQLite, without the tests that need PostgreSQL, Redis or a browser.
test-fast: $(VENV)/.dev-installed
	$(BIN)/pytest -m "not browser and not integration" $(PYTEST_ARGS)

## Benchmarks (not part of `make test`): tests/bench/, against a throwaway PostgreSQL.
bench: $(VENV)/.dev-installed system-packages
	tests/with_services.sh $(BIN)/pytest tests/bench -o python_files='bench_*.py' -s $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Refresh the Russian catalogue from the code (needs GNU gettext), then compile it; translate the
## new entries in locale/ru/LC_MESSAGES/django.po and run it again. Both files are committed.
messages: $(VENV)/.dev-installed
	$(BIN)/python manage.py makemessages -l ru -e html,txt,py --no-location --no-obsolete \
	  --ignore=.venv --ignore=tests --ignore=var --ignore=static --ignore=docs
	$(BIN)/python manage.py compilemessages -l ru --ignore=.venv

clean:
	rm -rf $(VENV) var
