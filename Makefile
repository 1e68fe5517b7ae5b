# Loomwork: `make run` serves the platform with the loan app and demo data; `make test` runs the whole suite.
# Both set up everything they need on a fresh machine (virtual environment, packages, Chromium for browser tests).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test bench setup setup-test browser npm check clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(TSTAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

setup: $(STAMP)

setup-test: $(TSTAMP) browser npm

# Debian's Chromium for the browser tests (no browser downloads); installed once when missing.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; \
	fi

# Front-end libraries of the portal from the npm registry (package.json / package-lock.json), served at /vendor/.
NSTAMP := node_modules/.installed
$(NSTAMP): package.json package-lock.json
	@if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; fi; \
	fi
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

npm: $(NSTAMP)

run: $(STAMP) $(NSTAMP)
	$(VENV)/bin/loomwork db upgrade
	$(VENV)/bin/loomwork demo load
	$(VENV)/bin/loomwork serve --host $(HOST) --port $(PORT)

test: setup-test
	$(PY) -m pytest -q -n 2 --dist loadfile

bench: $(TSTAMP)
	$(PY) bench/run.py --write

check: $(STAMP)
	$(VENV)/bin/loomwork check app_definitions/*

clean:
	rm -rf $(VENV) var .pytest_cache
