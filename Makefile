# Every target installs what it needs first, so each works on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-13s %s\n",$$1,$$2}'

# The exact versions (and their hashes) of everything the venv holds: requirements-dev.lock
# (runtime, the dev extra, the bench and build groups) and, within it, requirements.lock (what
# a deployment installs). `make lock` writes both from pyproject.toml.
$(BIN)/.locked: requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

# The project itself, without dependencies; pip check fails when pyproject.toml asks for
# something the lock does not hold (then run `make lock`, which needs only the step above).
$(BIN)/.installed: $(BIN)/.locked pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed node_modules/.installed ## Create the venv and install Python and npm packages

run: install ## Migrate, then serve with the demo users on http://127.0.0.1:8000
	$(BIN)/sourcevault db upgrade
	$(BIN)/sourcevault serve --demo --host $(HOST) --port $(PORT)

lint: install ## ruff (lint and format) and mypy
	$(BIN)/ruff check src bench tests migrations
	$(BIN)/ruff format --check src bench tests migrations
	$(BIN)/mypy

# Run a second time against python-socketio, python-engineio, uvicorn and SQLAlchemy's aiosqlite
# dialect as they ship (README, "Two transports").
STOCK_SUITES ?= tests/realtime tests/audit tests/test_sqlite_locks.py tests/multi/test_across_instances.py \
	tests/conformance
# The tests of a fast-path-only behaviour ran in the first pass; here they are left out rather
# than shown as skipped.
STOCK_TEST = SOURCEVAULT_TRANSPORT=stock SOURCEVAULT_SQLITE_ADAPTER=stock $(BIN)/pytest $(PYTEST_ARGS) \
	-m "not fast_transport and not fast_sqlite_adapter" $(STOCK_SUITES)

# WITH_PYTHONS=1 (CI) runs `test-pythons` beside the stock pass, each on its own core's worth.
test: install lint ## Lint, then every test (SQLite and PostgreSQL; Redis, Node and browser where present), then the socket suites again on the stock libraries
	$(BIN)/pytest $(PYTEST_ARGS)
ifeq ($(WITH_PYTHONS),)
	$(STOCK_TEST)
else
	@$(STOCK_TEST) & stock=$$!; \
	$(MAKE) --no-print-directory test-pythons; pythons=$$?; \
	wait $$stock; stocked=$$?; \
	[ $$pythons -eq 0 ] && [ $$stocked -eq 0 ]
endif

test-stock: install ## Only the socket suites on the stock libraries (SOURCEVAULT_TRANSPORT=stock)
	$(STOCK_TEST)

# The other supported Pythons, each in its own venv from the same lock, found under pyenv or as
# python3.X on the PATH. They run the suites that lean hardest on the event loop and on the
# libraries' internals; `make test PYTHON=/path/to/python3.13 VENV=.venv-3.13` runs everything.
OTHER_PYTHONS ?= 3.12 3.13
PYTHONS_SUITE ?= tests/realtime/test_canaries.py tests/realtime/test_fastpath.py \
	tests/realtime/test_leaks.py tests/realtime/test_heartbeat.py tests/realtime/test_connect.py \
	tests/realtime/test_broadcast.py tests/realtime/test_transport_modes.py \
	tests/test_serve.py tests/test_smoke.py tests/test_lock.py

# Each venv is made under a lock, so CI can start making them while the main suite runs.
pythons-venvs: ## Make the venvs of the other supported Pythons (from the same lock)
	@set -e; for v in $(OTHER_PYTHONS); do \
		py=""; for c in $$(ls -d "$$(pyenv root 2>/dev/null)"/versions/$$v.*/bin/python$$v \
				2>/dev/null | sort -V -r) $$(command -v python$$v); do \
			if "$$c" -c "import sys; assert sys.version[:$${#v}+1] == '$$v.'" 2>/dev/null; then \
				py=$$c; break; fi; done; \
		if [ -z "$$py" ]; then echo "Python $$v not found (under pyenv or on the PATH)"; exit 1; fi; \
		echo "Python $$v: $$py"; \
		flock $(VENV)-$$v.lock $(MAKE) --no-print-directory $(VENV)-$$v/bin/.installed \
			PYTHON=$$py VENV=$(VENV)-$$v; \
	done

test-pythons: node_modules/.installed pythons-venvs ## The realtime, serve and lock tests under Python 3.12 and 3.13, side by side
	@pids=""; for v in $(OTHER_PYTHONS); do \
		$(VENV)-$$v/bin/pytest -p no:cacheprovider $(PYTHONS_SUITE) > $(VENV)-$$v.log 2>&1 & \
		pids="$$pids $$!"; done; \
	failed=0; for p in $$pids; do wait $$p || failed=1; done; \
	for v in $(OTHER_PYTHONS); do echo "== Python $$v"; cat $(VENV)-$$v.log; done; \
	exit $$failed

bench: install ## Benchmark beside Node socket.io (BENCH_ARGS="--quick --only B1,B3"); see BENCHMARKS.md
	$(BIN)/python -m bench $(BENCH_ARGS)

LOCK = $(BIN)/uv pip compile --quiet --universal --generate-hashes --custom-compile-command 'make lock'

lock: $(BIN)/.locked ## Write the lock files from pyproject.toml, keeping every pin that still fits
	$(LOCK) $(LOCK_ARGS) pyproject.toml --extra dev --group pyproject.toml:bench \
		--group pyproject.toml:build -o requirements-dev.lock
	$(LOCK) $(LOCK_ARGS) pyproject.toml -c requirements-dev.lock -o requirements.lock

lock-upgrade: ## Write the lock files anew with the newest versions pyproject.toml allows
	$(MAKE) lock LOCK_ARGS=--upgrade

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src bench tests migrations
	$(BIN)/ruff format src bench tests migrations

clean: ## Remove the venvs, node_modules and caches
	rm -rf $(VENV) $(VENV)-3.* node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis

.PHONY: help install run lint test test-stock pythons-venvs test-pythons bench lock lock-upgrade format clean
