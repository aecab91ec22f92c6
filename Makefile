# Patient segmentation warehouse: `make run` builds everything from nothing, `make help` lists the rest.
PYTHON      ?= python3.11
VENV        := .venv
BIN         := $(VENV)/bin
PATIENTS    ?= 10000
SEED        ?= 42
WAREHOUSE   ?= warehouse.duckdb
MIMIC_DIR   ?=
DBT_FLAGS   ?=
EXPORTS     ?= exports
# Extra loader flags, e.g. LOAD_FLAGS=--allow-shrink (python -m mimic_loader --help).
LOAD_FLAGS  ?=
# Your own dbt vars, applied by every command (see settings.example.yml).
SETTINGS    ?= settings.yml
# `make sql`: the database (default: the BI export) and an optional query.
DB          ?=
Q           ?=
export WAREHOUSE PATIENTS SEED MIMIC_DIR DBT_FLAGS EXPORTS SETTINGS Q LOAD_FLAGS
# One pipeline at a time per warehouse (publish/lock.py), held from the load to the export; paths are quoted,
# as they may hold spaces.
LOCKED := $(BIN)/python -m publish.lock --db "$(WAREHOUSE)" --

STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
STEP  := $(BIN)/python -m report.run

.DEFAULT_GOAL := help
.PHONY: help setup run data build publish report docs docs-serve sql test lint bench clean

help: ## list the targets
	@echo "Usage: make TARGET [PATIENTS=10000 SEED=42 MIMIC_DIR=... WAREHOUSE=... DBT_FLAGS=...]"
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z-]+:[^#]*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) ## create .venv from the pinned requirements (first time only)

# Reinstall only when the pinned requirements or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (Python 3.11 is required)" >&2; exit 1; }
	@echo "==> Installing the pinned Python packages into $(VENV) (first time only, about a minute)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

run: $(STAMP) ## everything: data, dbt build, BI export, docs, report and a summary
	@$(LOCKED) $(STEP) data build publish docs report summary

data: $(STAMP) ## the raw tables only: generate PATIENTS (SEED), or load MIMIC_DIR (LOAD_FLAGS)
	@$(LOCKED) $(STEP) data

build: $(STAMP) ## dbt build of the current raw tables, then the export and report refreshed
	@$(LOCKED) $(STEP) build publish report summary

publish: $(STAMP) ## export the BI marts again (and refresh the report)
	@$(LOCKED) $(STEP) publish report

report: $(STAMP) ## write the population report from the current export
	@$(STEP) report

docs: $(STAMP) ## generate the dbt docs (target/static_index.html opens without a server)
	@$(STEP) docs

docs-serve: $(STAMP) ## serve the dbt docs at http://localhost:8080
	$(BIN)/dbt docs serve --project-dir . --profiles-dir . --port 8080

sql: $(STAMP) ## read-only SQL on the export; DB=warehouse.duckdb for patient level, Q="..." for one query
	@$(BIN)/python -m report.shell $(DB) $(if $(Q),"$$Q")

# ruff for the Python, sqlfluff for the SQL (.sqlfluff says which rules and why). sqlfluff's worker pool leaves
# a harmless semaphore behind, which Python's resource tracker would report at exit.
lint: $(TEST_STAMP) ## ruff and sqlfluff
	$(BIN)/ruff check generator mimic_loader segmentation models_py tests bench publish report sqlfluff_dbt_context
	PYTHONWARNINGS=ignore::UserWarning:multiprocessing.resource_tracker $(BIN)/sqlfluff lint --processes 2 dbt_project

# Packages only the tests and the linters use (requirements-test.txt).
$(TEST_STAMP): requirements-test.txt $(STAMP)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	@touch $(TEST_STAMP)

test: $(TEST_STAMP) lint ## ruff and the whole pytest suite (needs chromium and chromium-driver)
	$(BIN)/python -m pytest

bench: $(STAMP) ## time every stage at 10,000 and 365,000 patients
	$(BIN)/python -m bench

clean: ## remove dbt's and the tools' caches (not the warehouse or the export)
	rm -rf target logs .pytest_cache .ruff_cache
