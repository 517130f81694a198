# Usher: `make run` starts everything, `make test` runs every check. Both provision first.
SHELL := /bin/bash
PY := .venv/bin/python
export PYTHONPATH := $(CURDIR)
ROWS ?= 1000000
RUNS ?= 3

.PHONY: provision run test slow lint typecheck unit api integration e2e browser bench bench-api bench-scale bench-segment chaos clean

provision:
	@./scripts/provision.sh

run: provision
	@$(PY) -m infra.stack run

lint: provision
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: provision
	.venv/bin/mypy shared

test: provision
	@WITH_BROWSER=1 ./scripts/provision.sh
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy shared
	$(PY) -m pytest -q -p no:cacheprovider tests

# The slow runs `make test` leaves out: 100,000-record imports and the short chaos run.
slow: provision
	$(PY) -m pytest -q -p no:cacheprovider -m slow tests

unit: provision
	$(PY) -m pytest -q tests/unit

api: provision
	$(PY) -m pytest -q tests/api

integration: provision
	$(PY) -m pytest -q tests/integration

e2e: provision
	$(PY) -m pytest -q tests/e2e

bench: provision
	$(PY) -m bench.run --rows $(ROWS) --runs $(RUNS) $(if $(PG_STATS),--pg-stats)

bench-scale: provision
	$(PY) -m bench.scale $(if $(SCALE_ROWS),--rows $(SCALE_ROWS))

bench-segment: provision
	$(PY) -m bench.segment $(if $(MESSAGES),--messages $(MESSAGES))

bench-api: provision
	$(PY) -m bench.api $(if $(REQUESTS),--requests $(REQUESTS)) $(if $(CLIENTS),--clients $(CLIENTS))

chaos: provision
	$(PY) -m bench.chaos.run --rows 200000 --kafka-nodes 3 $(if $(SEED),--seed $(SEED))
	USHER_FUZZ_EXAMPLES=300 USHER_FUZZ_RANDOM=1 $(PY) -m pytest -q -p no:cacheprovider tests/e2e/test_fuzz.py

clean:
	rm -rf .usher/test bench/results
