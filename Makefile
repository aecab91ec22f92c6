# Patient segmentation warehouse: `make run` builds everything from nothing, `make test` checks it.
PYTHON      ?= python3.11
VENV        := .venv
BIN         := $(VENV)/bin
PATIENTS    ?= 10000
SEED        ?= 42
WAREHOUSE   ?= warehouse.duckdb
MIMIC_DIR   ?=
DBT_FLAGS   ?=
EXPORTS     ?= exports
LOAD_FLAGS  ?=
export WAREHOUSE
# One pipeline at a time per warehouse (publish/lock.py); paths are quoted, as they may hold spaces.
LOCKED := $(BIN)/python -m publish.lock --db "$(WAREHOUSE)" --

STAMP := $(VENV)/.installed

.PHONY: setup run data build publish test lint bench docs clean

setup: $(STAMP)

# Reinstall only when the pinned requirements or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (Python 3.11 is required)" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# Raw MIMIC-IV tables: from a real download when MIMIC_DIR is given, else the synthetic population.
data: $(STAMP)
ifneq ($(strip $(MIMIC_DIR)),)
	$(BIN)/python -m generator.load "$(MIMIC_DIR)" --db "$(WAREHOUSE)" $(LOAD_FLAGS)
else
	$(BIN)/python -m generator --patients $(PATIENTS) --seed $(SEED) --db "$(WAREHOUSE)" --skip-if-current
endif

# After the build, one line says whether BI tools now read stale numbers (a --select, a failed test, ...).
build: $(STAMP)
	$(LOCKED) $(BIN)/dbt build --project-dir . --profiles-dir . $(DBT_FLAGS)
	$(BIN)/python -m publish --status --db "$(WAREHOUSE)" --out "$(EXPORTS)"

# BI tools read the export, never the warehouse; it is replaced only after a complete, successful build.
publish: $(STAMP)
	$(BIN)/python -m publish --db "$(WAREHOUSE)" --out "$(EXPORTS)"

# The lock is held from the load to the export: a second run on the same warehouse stops at once.
run: $(STAMP)
	$(LOCKED) $(MAKE) --no-print-directory data build publish

lint: $(STAMP)
	$(BIN)/ruff check generator segmentation models_py tests bench publish

test: $(STAMP) lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench

docs: $(STAMP)
	$(BIN)/dbt docs generate --project-dir . --profiles-dir .

clean:
	rm -rf target logs .pytest_cache .ruff_cache
