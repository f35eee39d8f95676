# Everything installs into .venv; nothing outside the repository is needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
E2E_STAMP := $(VENV)/.e2e-installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: install test lint bench demo e2e clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

# The sandbox is its own distribution (sfcrm-sandbox/): the provider does not depend on it, its tests do.
# Installed second, so that upgrading a provider that once shipped the sfcrm-sandbox script cannot
# remove the script the sandbox has just installed.
$(STAMP): $(BIN)/python pyproject.toml sfcrm-sandbox/pyproject.toml
	$(BIN)/pip install -e '.[test]'
	$(BIN)/pip install -e './sfcrm-sandbox[test]'
	touch $(STAMP)

install: $(STAMP)

# The provider's suite, then the sandbox's own (run from its directory, with its own configuration).
test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)
	cd sfcrm-sandbox && ../$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Speed and memory goals are shown here, never by timed tests. BENCH=name runs one script.
# The benchmarks' optional dependencies (the `bench` extra: matplotlib for the side-by-side chart).
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	@set -e; for script in $(if $(BENCH),benchmarks/bench_$(BENCH).py,benchmarks/bench_*.py); do \
	  echo "== $$script"; $(BIN)/python $$script; done

# Starts the sandbox, runs the Contacts example DAG for one day with `airflow dags test`, prints the
# summary and records read back by SOQL. Everything it writes stays in .demo/.
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

$(E2E_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -e '.[test,e2e]'
	touch $(E2E_STAMP)

# Airflow as in production (PostgreSQL, Celery + Redis, scheduler, DAG processor, triggerer,
# api-server, two workers) running the example DAGs, and the UI in Debian's chromium. Needs
# PostgreSQL and Redis running (it says what to start otherwise); leaves nothing behind. ~9 min.
e2e: $(E2E_STAMP)
	scripts/e2e_system_packages.sh
	$(BIN)/python -m pytest e2e -v -s -p no:cacheprovider -o timeout=900 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check airflow_provider_sfcrm tests dags benchmarks scripts sfcrm-sandbox e2e
	$(BIN)/ruff format --check airflow_provider_sfcrm tests dags benchmarks scripts sfcrm-sandbox e2e

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info sfcrm-sandbox/*.egg-info sfcrm-sandbox/.pytest_cache
