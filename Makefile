# ThingsNXT — `make run` serves the demo, `make test` runs every test.
# Every dependency is installed from here (pip into .venv, apt for system packages).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: setup run migrate test lint ci clean bench-deps bench bench-full bench-history bench-ota bench-mqtt chromium nginx promtool fuzz soak tb-client

include firmware/firmware.mk

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

## run: migrate, seed the demo admin and device once, serve with gunicorn (gevent) on HOST:PORT with the demo device's simulator
run: migrate
	$(BIN)/flask --app wsgi seed-demo
	DEMO_DEVICE=1 $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## test: lint, then the whole suite (installs the Debian packages the firmware and deployment tests use, and ThingsBoard's client)
test: setup firmware-deps chromium nginx promtool tb-client lint
	$(BIN)/python -m pytest

## tb-client: ThingsBoard's Python client (tb-mqtt-client, TBHTTPDevice), which tests/transports drive as a real
## device, in a virtualenv of its own: it installs a top-level utils.py that would shadow other modules in .venv
TB_VENV := .venv-tb
TB_CLIENT := tb-mqtt-client==1.13.14
tb-client: $(TB_VENV)/.installed

$(TB_VENV)/.installed:
	test -x $(TB_VENV)/bin/python || $(PYTHON) -m venv $(TB_VENV)
	$(TB_VENV)/bin/pip install --quiet '$(TB_CLIENT)'
	touch $@

## lint: ruff (pyflakes, pycodestyle, import order, bugbear, pyupgrade; settings in pyproject.toml)
lint: setup
	$(BIN)/ruff check .

## chromium: Debian's Chromium, which the browser tests (tests/e2e) drive; installed only when missing
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get -o DPkg::Lock::Timeout=300 install -y chromium)

## nginx: Debian's nginx, which the deployment tests (tests/deploy) put in front of two servers; installed only when missing
nginx:
	@test -x /usr/sbin/nginx || (apt-get update && apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends nginx)

## promtool: Prometheus's rule checker (Debian's prometheus package), which tests/deploy runs on deploy/prometheus/; installed only when missing
promtool:
	@test -x /usr/bin/promtool || (apt-get update && apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends prometheus)

## bench-deps: wrk from Debian and the ceilings' Python packages (FastAPI, uvicorn)
bench-deps: setup
	dpkg -s wrk >/dev/null 2>&1 || apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends wrk
	$(BIN)/pip install --quiet -e '.[dev,bench]'

## bench: the quick benchmarks (under 5 minutes) on the backend DATABASE_URL/REDIS_URL select
bench: bench-deps
	$(BIN)/python -m bench.ingest_bench --duration 10
	$(BIN)/python -m bench.fleet_bench --steps 1000,2500,5000,7500,10000 --seconds 10
	$(BIN)/python -m bench.toggle_bench --toggles 30 --poll-toggles 6
	$(BIN)/python -m bench.flood_bench --flood 2000 --seconds 10

## bench-full: longer runs and more steps
bench-full: bench-deps
	$(BIN)/python -m bench.ingest_bench --duration 30
	$(BIN)/python -m bench.fleet_bench --steps 1000,2500,5000,7500,10000,12500,15000,20000 --seconds 30
	$(BIN)/python -m bench.toggle_bench --toggles 100 --poll-toggles 20

## fuzz: the fuzzer (about 12,000 cases) and the property tests with many more examples, fresh seeds each run
fuzz: setup
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/reliability/test_fuzz_api.py tests/reliability/test_properties.py -p no:cacheprovider --timeout 3600

## soak: a simulated fleet for 30 minutes (SOAK_MINUTES=…), worker memory and errors each minute; not in CI
SOAK_MINUTES ?= 30
soak: bench-deps
	$(BIN)/python -m bench.soak --minutes $(SOAK_MINUTES)

## ci: what CI runs: the suite on SQLite, then on PostgreSQL + Redis
ci:
	.ci/run

## bench-mqtt: 10,000 simulated MQTT devices on a private Mosquitto, then shorter intervals (docs/MQTT.md, bench/README.md)
bench-mqtt: bench-deps
	$(BIN)/python -m bench.mqtt_fleet_bench --devices 10000 --intervals 10,2,1 --seconds 60

## bench-history: chart queries on 10 million readings, SQLite and PostgreSQL (BENCH_ARGS="--engine sqlite" for one); see bench/README.md
bench-history: setup
	$(BIN)/python bench/history_bench.py $(BENCH_ARGS)

## bench-ota: a 1.5 MB firmware image delivered in Range chunks to 1 and to 100 simulated devices at once; see bench/README.md
bench-ota: setup
	$(BIN)/python -m bench.ota_bench $(BENCH_ARGS)

clean: firmware-clean
	rm -rf $(VENV) $(TB_VENV) .pytest_cache
