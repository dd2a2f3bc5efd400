# The two commands of the README: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast setup lint typecheck check bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The main job on the embedded default (SQLite): build the sandbox world, verify the month,
# open tickets, write both reports, compare findings with the injected faults.
demo: $(STAMP)
	$(BIN)/syncverify demo

# Unit, integration (real MariaDB, PostgreSQL, Kafka broker), Airflow, end-to-end and browser tests.
test: $(STAMP)
	scripts/ensure-system-deps
	$(BIN)/ruff check src tests dags benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

# Unit tests that need no service (no database server, broker, Airflow or browser): under a minute.
# Tests taking a service's fixture are marked by tests/conftest.py, so they stay out of this lane.
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not (mariadb or postgres or kafka or airflow or browser or e2e or slow or distributed)" tests/unit

lint: $(STAMP)
	$(BIN)/ruff check src tests dags benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/diff_vs_reladiff.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache build *.egg-info reports/20*
