# Every target installs what it needs first, so each works on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-10s %s\n",$$1,$$2}'

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed node_modules/.installed ## Create the venv and install Python and npm packages

run: install ## Migrate, then serve with the demo users on http://127.0.0.1:8000
	$(BIN)/sourcevault db upgrade
	$(BIN)/sourcevault serve --demo --host $(HOST) --port $(PORT)

lint: install ## ruff (lint and format) and mypy
	$(BIN)/ruff check src tests migrations
	$(BIN)/ruff format --check src tests migrations
	$(BIN)/mypy

# Run a second time against python-socketio, python-engineio, uvicorn and SQLAlchemy's aiosqlite
# dialect as they ship (README, "Two transports"); fast-path-only tests skip themselves.
STOCK_SUITES ?= tests/realtime tests/audit tests/test_sqlite_locks.py tests/multi/test_across_instances.py
STOCK_TEST = SOURCEVAULT_TRANSPORT=stock SOURCEVAULT_SQLITE_ADAPTER=stock $(BIN)/pytest $(PYTEST_ARGS) $(STOCK_SUITES)

test: install lint ## Lint, then every test (SQLite and PostgreSQL; Redis, Node and browser where present), then the socket suites again on the stock libraries
	$(BIN)/pytest $(PYTEST_ARGS)
	$(STOCK_TEST)

test-stock: install ## Only the socket suites on the stock libraries (SOURCEVAULT_TRANSPORT=stock)
	$(STOCK_TEST)

$(BIN)/.bench-installed: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

bench: install $(BIN)/.bench-installed ## Benchmark beside Node socket.io (BENCH_ARGS="--quick --only B1,B3"); see BENCHMARKS.md
	$(BIN)/sourcevault bench $(BENCH_ARGS)

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests migrations
	$(BIN)/ruff format src tests migrations

clean: ## Remove the venv, node_modules and caches
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis

.PHONY: help install run lint test test-stock bench format clean
