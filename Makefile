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
# The engine dbt builds on: duckdb (embedded, the default) or spark (a local Spark session, profiles.yml target
# spark; the extras of requirements-spark.txt are installed on first use). docs/spark.md.
ENGINE      ?= duckdb
# Spark's warehouse folder and Derby metastore (git-ignored).
SPARK_DIR   ?= spark-warehouse
# Your own dbt vars, applied by every command (see settings.example.yml).
SETTINGS    ?= settings.yml
# `make sql`: the database (default: the BI export) and an optional query.
DB          ?=
Q           ?=
export WAREHOUSE PATIENTS SEED MIMIC_DIR DBT_FLAGS EXPORTS SETTINGS Q LOAD_FLAGS ENGINE SPARK_DIR
# One pipeline at a time per warehouse (publish/lock.py), held from the load to the export; paths are quoted,
# as they may hold spaces.
LOCKED := $(BIN)/python -m publish.lock --db "$(WAREHOUSE)" --

STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
SPARK_STAMP := $(VENV)/.installed-spark
# What a build needs: the base install, and the Spark extras when ENGINE=spark.
ENGINE_STAMPS := $(STAMP) $(if $(filter spark,$(ENGINE)),$(SPARK_STAMP))
STEP  := $(BIN)/python -m report.run

.DEFAULT_GOAL := help
.PHONY: help setup setup-spark run data build publish report docs docs-serve sql test test-spark lint bench clean

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

# The Spark extras go into .venv beside dbt-duckdb (they coexist; one dbt and one Python serve both engines),
# only when asked for: about 4 minutes and 460 MB of jars that a DuckDB user never needs.
$(SPARK_STAMP): requirements-spark.txt $(STAMP)
	@command -v java >/dev/null 2>&1 || { echo "error: java not found (Spark needs Java 17 or later)" >&2; exit 1; }
	@echo "==> Installing the Spark extras (requirements-spark.txt) into $(VENV) (first time only, about 4 minutes)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-spark.txt
	@touch $(SPARK_STAMP)

setup-spark: $(SPARK_STAMP) ## add the Apache Spark extras to .venv (ENGINE=spark does it on first use)

# The same steps on either engine. ENGINE=spark: the raw tables are generated or loaded into DuckDB as always,
# copied into Spark and built there; schema bi and the build's log come back into DuckDB for the export and the
# report, and the docs describe the Spark build (docs/spark.md).
RUN_STEPS := data build publish docs report summary
BUILD_STEPS := build publish report summary

run: $(ENGINE_STAMPS) ## everything: data, dbt build, BI export, docs, report and a summary (ENGINE=spark)
	@$(LOCKED) $(STEP) $(RUN_STEPS)

data: $(STAMP) ## the raw tables only: generate PATIENTS (SEED), or load MIMIC_DIR (LOAD_FLAGS)
	@$(LOCKED) $(STEP) data

build: $(ENGINE_STAMPS) ## dbt build of the current raw tables, then the export and report refreshed
	@$(LOCKED) $(STEP) $(BUILD_STEPS)

publish: $(STAMP) ## export the BI marts again (and refresh the report)
	@$(LOCKED) $(STEP) publish report

report: $(STAMP) ## write the population report from the current export
	@$(STEP) report

docs: $(ENGINE_STAMPS) ## generate the dbt docs (target/static_index.html opens without a server)
	@$(STEP) docs

docs-serve: $(STAMP) ## serve the dbt docs at http://localhost:8080
	$(BIN)/dbt docs serve --project-dir . --profiles-dir . --port 8080

sql: $(STAMP) ## read-only SQL on the export; DB=warehouse.duckdb for patient level, Q="..." for one query
	@$(BIN)/python -m report.shell $(DB) $(if $(Q),"$$Q")

# ruff for the Python, sqlfluff for the SQL (.sqlfluff says which rules and why). sqlfluff's worker pool leaves
# a harmless semaphore behind, which Python's resource tracker would report at exit.
lint: $(TEST_STAMP) ## ruff and sqlfluff
	$(BIN)/ruff check cell_suppression generator mimic_loader segmentation models_py tests bench publish report spark_engine sqlfluff_dbt_context
	PYTHONWARNINGS=ignore::UserWarning:multiprocessing.resource_tracker $(BIN)/sqlfluff lint --processes 2 dbt_project

# Packages only the tests and the linters use (requirements-test.txt).
$(TEST_STAMP): requirements-test.txt $(STAMP)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	@touch $(TEST_STAMP)

test: $(TEST_STAMP) lint ## ruff and the whole pytest suite (needs chromium and chromium-driver)
	$(BIN)/python -m pytest

test-spark: $(TEST_STAMP) $(SPARK_STAMP) ## the DuckDB/Spark parity test alone (installs the Spark extras)
	$(BIN)/python -m pytest -m spark tests/test_spark_parity.py

bench: $(ENGINE_STAMPS) ## time every stage at 10,000 and 365,000 patients (ENGINE=spark: beside a Spark build)
	$(BIN)/python -m bench

clean: ## remove dbt's and the tools' caches (not the warehouse or the export)
	rm -rf target logs .pytest_cache .ruff_cache
