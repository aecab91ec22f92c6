"""A Spark build in the DuckDB warehouse's build log (spark_engine/build_log.py) and its BI marts copied into
the DuckDB file (spark_engine/bi_tables.py), without Spark: dbt's artefacts and Spark's rows (Arrow) are made
here, and python -m publish's own check (publish/build_check.py) judges the result."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from conftest import REPO_ROOT

from generator.load_log import record_load
from publish.build_check import StaleBuildError, check_complete_build
from report.run import Config, StepError, artefact_times, keep_artefacts
from spark_engine.bi_tables import LOG_DDL, Column, CopyError, Mart, contract_columns, write_build
from spark_engine.build_log import (
    BuildLogError,
    DbtCommand,
    RawData,
    check_complete,
    invocation_row,
    node_rows,
)

PROJECT = "patient_segmentation"
SEED = f"seed.{PROJECT}.age_buckets"
MART = f"model.{PROJECT}.patient_features"
BUILD_INFO = f"model.{PROJECT}.build_info"
TEST = f"test.{PROJECT}.not_null_patient_features_subject_id"
EXPOSURE = f"exposure.{PROJECT}.segment_overview_dashboard"
HOOK = f"operation.{PROJECT}.{PROJECT}-on-run-start-0"
BUILD_INFO_COLUMNS = {
    "build_id": {"data_type": "varchar", "constraints": [{"type": "not_null"}], "description": "dbt run."},
    "built_at": {"data_type": "timestamp", "constraints": [], "description": "When (UTC)."},
    "min_cell_size": {"data_type": "integer", "constraints": [{"type": "not_null"}], "description": ""},
    "n_patients": {"data_type": "bigint", "constraints": [], "description": "Patients."},
}
MANIFEST: dict[str, Any] = {
    "nodes": {
        SEED: {"resource_type": "seed", "schema": "reference", "alias": "age_buckets"},
        MART: {"resource_type": "model", "schema": "marts", "alias": "patient_features"},
        BUILD_INFO: {"resource_type": "model", "schema": "bi", "alias": "build_info",
                     "description": "The build.\n", "columns": BUILD_INFO_COLUMNS},
        TEST: {"resource_type": "test", "schema": "dbt_test__audit", "alias": "not_null_patient_features"},
    },
    "unit_tests": {},
    "exposures": {EXPOSURE: {"resource_type": "exposure"}},
}
RAW_ROWS = {"mimiciv_hosp.patients": 3}


def command(invocation_id: str, statuses: dict[str, str], started: str, finished: str,
            cli_vars: dict[str, Any] | None = None, which: str = "build") -> DbtCommand:
    """A dbt command's artefacts as dbt writes them (run_results.json, manifest.json)."""
    return DbtCommand(
        {"metadata": {"invocation_id": invocation_id, "invocation_started_at": started,
                      "generated_at": finished},
         "args": {"which": which, "vars": cli_vars or {}},
         "results": [{"unique_id": unique_id, "status": status} for unique_id, status in statuses.items()]},
        MANIFEST)


def spark_build(cli_vars: dict[str, Any] | None = None) -> list[DbtCommand]:
    """The two dbt commands of a Spark build: up to the Python models' inputs, then the rest and schema bi."""
    return [
        command("11111111-first", {HOOK: "success", SEED: "success", MART: "success", TEST: "pass"},
                "2026-01-02T10:00:00.5Z", "2026-01-02T10:05:00Z", cli_vars),
        command("22222222-second", {HOOK: "success", BUILD_INFO: "success", EXPOSURE: "no-op"},
                "2026-01-02T10:06:00Z", "2026-01-02T10:07:00Z", cli_vars),
    ]


def build_info(n_patients: pa.DataType | None = None) -> Mart:
    """bi.build_info as Spark hands it over (Arrow; n_patients BIGINT unless another type is given), with its
    contract from the manifest."""
    rows = pa.table({
        "build_id": pa.array(["22222222-second"]),
        "built_at": pa.array([datetime(2026, 1, 2, 10, 6)], pa.timestamp("us")),
        "min_cell_size": pa.array([11], pa.int32()),
        "n_patients": pa.array([2000], n_patients or pa.int64()),
    })
    node = MANIFEST["nodes"][BUILD_INFO]
    return Mart("build_info", node["description"], contract_columns(node), rows)


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB warehouse holding a raw table, its load, and schema bi of an earlier DuckDB build."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema mimiciv_hosp")
    con.execute("create table mimiciv_hosp.patients as select range as subject_id from range(3)")
    record_load(con, "generator", {"patients": 3})
    con.execute("create schema bi")
    con.execute("create table bi.segment_transitions as select 1 as n_patients")
    yield con
    con.close()


def current_load(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select max_by(load_id, loaded_at) from pipeline_log.raw_loads").fetchall()[0][0]


def test_node_rows_log_every_node_ran_and_the_rest_as_not_selected() -> None:
    first, second = spark_build()
    assert node_rows(first) == [
        ("11111111-first", SEED, "seed", "reference", "age_buckets", "success"),
        ("11111111-first", MART, "model", "marts", "patient_features", "success"),
        ("11111111-first", TEST, "test", "dbt_test__audit", None, "pass"),
        ("11111111-first", BUILD_INFO, "model", "bi", "build_info", "not selected"),
    ]
    assert [row[1:] for row in node_rows(second)] == [
        (BUILD_INFO, "model", "bi", "build_info", "success"),
        (EXPOSURE, "exposure", None, None, "no-op"),
        (MART, "model", "marts", "patient_features", "not selected"),
        (SEED, "seed", "reference", "age_buckets", "not selected"),
    ]


def test_invocation_row_holds_utc_times_vars_and_the_raw_data() -> None:
    first = spark_build({"min_cell_size": 20, "unsafe_allow_min_cell_size_below_11": True})[0]
    later = command("3", {}, "2026-01-02T12:00:00+02:00", "2026-01-02T12:01:00+02:00",
                    {"unsafe_allow_min_cell_size_below_11": "yes"})
    row = invocation_row(first, RawData("load-1", {"b.t": 2, "a.t": 1}), 20)
    assert row == ("11111111-first", "build", datetime(2026, 1, 2, 10, 0, 0, 500000),
                   datetime(2026, 1, 2, 10, 5), "load-1", "load-1", '{"a.t": 1, "b.t": 2}',
                   '{"a.t": 1, "b.t": 2}', 20, True,
                   '{"min_cell_size": 20, "unsafe_allow_min_cell_size_below_11": true}')
    later_row = invocation_row(later, RawData(None, {}), None)
    assert later_row[2] == datetime(2026, 1, 2, 10)
    assert later_row[4:10] == (None, None, "{}", "{}", None, False)


def test_only_a_complete_successful_build_is_accepted() -> None:
    first, second = spark_build()
    check_complete([first, second])
    with pytest.raises(BuildLogError, match="did not build 2 of the project's models"):
        check_complete([second])
    failed = command("3", {SEED: "success", MART: "error", TEST: "skipped"}, "2026-01-02T10:00:00Z",
                     "2026-01-02T10:01:00Z")
    with pytest.raises(BuildLogError, match="2 nodes failed"):
        check_complete([failed, second])
    with pytest.raises(BuildLogError, match="is not a `dbt build`"):
        check_complete([first, command("4", {BUILD_INFO: "success"}, "2026-01-02T10:06:00Z",
                                       "2026-01-02T10:07:00Z", which="run")])
    with pytest.raises(BuildLogError, match="no dbt command"):
        check_complete([])


def test_a_copied_spark_build_is_exported_by_publishs_own_check(warehouse: duckdb.DuckDBPyConnection) -> None:
    commands = spark_build()
    raw = RawData(current_load(warehouse), RAW_ROWS)
    assert write_build(warehouse, [build_info()], commands, raw) == 1
    # Copying the same build again logs it once.
    write_build(warehouse, [build_info()], commands, raw)
    build = check_complete_build(warehouse, "bi")
    assert build.invocation.invocation_id == "22222222-second" and build.raw_rows == RAW_ROWS
    assert warehouse.execute("select count(*) from pipeline_log.dbt_invocations").fetchall() == [(2,)]
    assert warehouse.execute("select table_name from duckdb_tables() where schema_name = 'bi'").fetchall() \
        == [("build_info",)]
    columns = warehouse.execute(
        "select column_name, data_type, is_nullable, comment from duckdb_columns() "
        "where schema_name = 'bi' order by column_index").fetchall()
    assert columns == [("build_id", "VARCHAR", False, "dbt run."),
                       ("built_at", "TIMESTAMP", True, "When (UTC)."),
                       ("min_cell_size", "INTEGER", False, ""),
                       ("n_patients", "BIGINT", True, "Patients.")]
    assert warehouse.execute("select comment from duckdb_tables() where schema_name = 'bi'").fetchall() \
        == [("The build.\n",)]
    assert warehouse.execute("select min_cell_size, small_cells_override from pipeline_log.dbt_invocations")\
        .fetchall() == [(11, False), (11, False)]
    # New raw data: the marts copied from Spark describe the old data and are no longer exported.
    warehouse.execute("insert into mimiciv_hosp.patients values (3)")
    with pytest.raises(StaleBuildError, match="raw tables changed"):
        check_complete_build(warehouse, "bi")


def test_a_build_from_another_load_is_refused(warehouse: duckdb.DuckDBPyConnection) -> None:
    write_build(warehouse, [build_info()], spark_build(), RawData("an-older-load", RAW_ROWS))
    with pytest.raises(StaleBuildError, match="raw tables changed"):
        check_complete_build(warehouse, "bi")


def test_a_column_breaking_the_contract_copies_nothing(warehouse: duckdb.DuckDBPyConnection) -> None:
    raw = RawData(current_load(warehouse), RAW_ROWS)
    with pytest.raises(CopyError, match="n_patients INTEGER, the contract n_patients BIGINT"):
        write_build(warehouse, [build_info(pa.int32())], spark_build(), raw)
    assert warehouse.execute("select table_name from duckdb_tables() "
                             "where schema_name in ('bi', 'pipeline_log') order by all").fetchall() \
        == [("raw_loads",), ("segment_transitions",)]
    swapped = build_info()
    reordered = Mart(swapped.name, swapped.description, swapped.columns[::-1], swapped.rows)
    with pytest.raises(CopyError, match="in another order"):
        write_build(warehouse, [reordered], spark_build(), raw)
    with pytest.raises(CopyError, match="constraints only"):
        contract_columns({"alias": "x", "columns": {"a": {"data_type": "integer",
                                                          "constraints": [{"type": "unique"}]}}})
    assert Column("a", "integer", False, "") in contract_columns(
        {"alias": "x", "columns": {"a": {"data_type": "integer"}}})


def test_the_log_tables_are_those_dbts_hooks_create() -> None:
    macro = (REPO_ROOT / "dbt_project" / "macros" / "pipeline_log.sql").read_text()
    hooks_ddl = re.search(r"\{%- set ddl -%\}(.*?)\{%- endset -%\}", macro, re.DOTALL)[1]
    columns = []
    for ddl in (hooks_ddl, LOG_DDL):
        with duckdb.connect() as con:
            con.execute(ddl)
            columns.append(con.execute(
                "select table_name, column_name, data_type, is_nullable from duckdb_columns() "
                "where schema_name = 'pipeline_log' order by table_name, column_index").fetchall())
    assert columns[0] == columns[1] and len(columns[0]) == 17


def test_the_build_keeps_only_artefacts_its_dbt_command_wrote(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    config = Config(warehouse=tmp_path / "w.duckdb", patients="1", seed="1", mimic_dir="", load_flags="",
                    dbt_flags="", exports=tmp_path, settings=tmp_path / "s.yml", logs=tmp_path,
                    target_path=target)
    with pytest.raises(StepError, match="wrote no"):
        keep_artefacts(config, tmp_path / "never", artefact_times(config))
    for name in ("run_results.json", "manifest.json"):
        (target / name).write_text("{}")
    before = artefact_times(config)
    # A file left by an earlier command (a --target-path elsewhere) is not this command's.
    with pytest.raises(StepError, match="--target-path"):
        keep_artefacts(config, tmp_path / "stale", before)
    for name in ("run_results.json", "manifest.json"):
        (target / name).write_text('{"new": 1}')
        os.utime(target / name, ns=(before[name] + 1_000_000, before[name] + 1_000_000))
    keep_artefacts(config, tmp_path / "1", before)
    assert (tmp_path / "1" / "manifest.json").read_text() == '{"new": 1}'
