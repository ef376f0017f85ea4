# Two entry points: `make demo` and `make test`. Both create the virtualenv
# from uv.lock on first use and re-sync it whenever the lock changes.
PYTHON ?= python3
UV_VERSION := 0.13.8
# uv itself lives in a small virtualenv of its own, so that syncing .venv to
# the lock never removes the tool doing the syncing.
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV ?= .venv
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON := $(PYTHON)
LOCKED := $(VENV)/.synced-$(shell cat uv.lock pyproject.toml 2>/dev/null | sha1sum | cut -c1-12)
# What `lint`, `typecheck` and `unit` need first; test-latest and test-oldest
# bring their own environment and empty it.
SYNC ?= $(LOCKED)
PYTEST_ARGS ?=

.PHONY: demo test test-all test-twice test-faults test-latest test-oldest test-slow lint typecheck unit \
	bench lock services clean

$(UV):
	$(PYTHON) scripts/check-python.py
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(LOCKED): $(UV) uv.lock pyproject.toml
	$(UV) sync --locked --quiet --group test
	rm -f $(VENV)/.synced-*
	touch $@

# Refresh uv.lock to the newest releases the ranges in pyproject.toml allow.
lock: $(UV)
	$(UV) lock --upgrade

# The local servers the tests use, and the headless browser of the /docs tests.
services:
	bash scripts/ensure-services.sh postgres redis rabbitmq nats
	bash scripts/ensure-browser.sh
	bash scripts/ensure-etcd.sh

# `exec` hands the recipe's process to Python, so a SIGTERM sent to the PID
# make started reaches the service itself.
demo: $(SYNC)
	PYTHONPATH=examples/users:examples/notifier exec $(BIN)/python scripts/demo.py

lint: $(SYNC)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(SYNC)
	$(BIN)/mypy src tests examples

# Unit, integration and fault tests in random order (the seed is printed
# first) over every core, with branch coverage and its gate
# (pyproject.toml, [tool.coverage.report]). Work stealing: a worker left
# with the few long tests (the secrets canary, the config fuzz) hands its
# queue to idle ones instead of ending the run alone.
unit: $(SYNC) services
	$(BIN)/python -m pytest -m "not slow" -n auto --dist worksteal --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

test: lint typecheck unit

# The tests `make test` leaves out for time: a fresh clone's `make test`, ...
test-slow: $(SYNC) services
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# The whole session twice in one process: no test depends on running first.
test-twice: $(SYNC) services
	$(BIN)/python -m pytest -m "not slow" -p repeat --count 2 --repeat-scope session $(PYTEST_ARGS)

test-all: test test-twice test-slow

# The fault suite alone, at full scale (10,000 messages, the longer fuzz);
# make test runs it too, at the quick scale (tests/support/scale.py).
test-faults: $(SYNC) services
	LBTOOLKIT_TEST_SCALE=full $(BIN)/python -m pytest -m faults -p no:randomly -rA $(PYTEST_ARGS)

# The whole suite on the newest release of every dependency, in its own virtualenv.
test-latest: $(UV) services
	rm -rf .venv-latest
	$(UV) venv --quiet .venv-latest
	UV_PROJECT_ENVIRONMENT= VIRTUAL_ENV=.venv-latest $(UV) pip install --quiet \
		--resolution highest --upgrade -e . --group test
	$(MAKE) --no-print-directory VENV=.venv-latest SYNC= test

# The tests on the lowest versions pyproject.toml's ranges allow. Linters and
# stubs are not part of the library's ranges: lint and type checks run in the
# locked and latest environments.
test-oldest: $(UV) services
	rm -rf .venv-oldest
	$(UV) venv --quiet .venv-oldest
	UV_PROJECT_ENVIRONMENT= VIRTUAL_ENV=.venv-oldest $(UV) pip install --quiet \
		--resolution lowest-direct -e '.[all]' --group test
	$(MAKE) --no-print-directory VENV=.venv-oldest SYNC= unit

bench: $(SYNC)
	$(UV) sync --locked --quiet --inexact --group test --group bench
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-latest .venv-oldest $(TOOLS) .mypy_cache .ruff_cache .coverage
