# ThingsNXT — `make run` serves the demo, `make test` runs every test.
# Every dependency is installed from here (pip into .venv, apt for system packages).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: setup run migrate test test-unit ci clean bench-history

## setup: .venv with all runtime and dev dependencies, and the pinned browser assets (idempotent)
setup: $(VENV)/.installed webapp/static/vendor/.fetched

webapp/static/vendor/.fetched: webapp/vendor_assets.json $(VENV)/.installed
	$(BIN)/python scripts/fetch_vendor_assets.py
	touch $@

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## migrate: bring the database (DATABASE_URL, default SQLite under instance/) up to date
migrate: setup
	$(BIN)/flask --app wsgi db upgrade

## run: migrate, seed the demo admin and device once, serve with gunicorn (gevent) on HOST:PORT
run: migrate
	$(BIN)/flask --app wsgi seed-demo
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## test: the whole suite
test: setup
	$(BIN)/python -m pytest

## ci: what CI runs: the suite on SQLite, then on PostgreSQL + Redis
ci:
	.ci/run

## bench-history: chart queries on 10 million readings, SQLite and PostgreSQL (BENCH_ARGS="--engine sqlite" for one); see bench/README.md
bench-history: setup
	$(BIN)/python bench/history_bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
