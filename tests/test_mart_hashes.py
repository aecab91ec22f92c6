"""Every table the models build equals the recorded build of the same fixed populations.

A change to the project's shape (models moved, macros rewritten as plain SQL, settings moved to seeds) must
leave every answer as it was; this test proves it, table by table. The record lives in
tests/fixtures/table_hashes.json: a row count and a content hash per table of the hand-made MIMIC fixture's
warehouse and of the 3,000-patient synthetic one. When a change is meant to alter answers, re-record with
`UPDATE_TABLE_HASHES=1 .venv/bin/python -m pytest tests/test_mart_hashes.py` and say in the commit which
tables changed and why.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import REPO_ROOT
from table_hashes import table_hashes

RECORD = REPO_ROOT / "tests" / "fixtures" / "table_hashes.json"
SCHEMAS = ("data_quality", "intermediate", "marts", "bi")


def recorded() -> dict[str, dict[str, list]]:
    return json.loads(RECORD.read_text()) if RECORD.exists() else {}


@pytest.mark.dbt
@pytest.mark.parametrize("population", ["mimic_fixture_warehouse", "synthetic_warehouse"])
def test_every_table_equals_the_recorded_build(population: str, request: pytest.FixtureRequest) -> None:
    warehouse: Path = request.getfixturevalue(population)
    actual = {table: list(value) for table, value in table_hashes(warehouse, SCHEMAS).items()}
    if os.environ.get("UPDATE_TABLE_HASHES") == "1":
        record = recorded()
        record[population] = dict(sorted(actual.items()))
        RECORD.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    expected = recorded().get(population, {})
    tables = set(expected) | set(actual)
    changed = sorted(table for table in tables if expected.get(table) != actual.get(table))
    assert not changed, (
        f"{len(changed)} table(s) of {population} differ from {RECORD.relative_to(REPO_ROOT)}: "
        f"{', '.join(changed)}. If the change is meant, re-record (see this file's docstring).")
