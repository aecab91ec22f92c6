"""Reproducible, atomic and concurrent builds, and what reaches the exported files.

One scenario serves several tests: the hand-made fixture's warehouse (built once for the session) is
published; then the same fixture is loaded into a fresh warehouse, built and published while another process
reads the exports in a loop. The two warehouses must hold the same marts, the reader must only ever see
complete builds, and a later build that fails midway must leave the marts and the export of the last good
build readable.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sys
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path

import duckdb
import pytest
from conftest import FIXTURE_MIMIC_DIR, load_mimic, record_complete_build, run_cli, run_dbt
from table_hashes import table_hashes

from generator import cli as generator_cli
from generator.pipeline import MAX_PATIENTS

COMPARED_SCHEMAS = ("data_quality", "marts", "bi")
# Bounds of the reader process: it stops when told to, or at these limits, whichever comes first.
READER_MAX_SECONDS = 600
READER_MAX_READS = 100_000
# Reads the reader must complete after the last export before it is stopped.
READS_AFTER_EXPORT = 3
FORMULA_TEXTS = ['=HYPERLINK("http://example.com","click")', "+1+2", "-3+4", "@SUM(A1:A2)", "\t=1", "\r=1"]


# --- helpers ------------------------------------------------------------------------------------------------

def publish(db: Path, exports: Path) -> None:
    run_cli([sys.executable, "-m", "publish", "--db", str(db), "--out", str(exports)])


def build_id(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select build_id from bi.build_info").fetchone()[0]


def manifest_of_build(exports: Path, wanted_build_id: str) -> dict[str, object]:
    manifests = [json.loads(path.read_text()) for path in (exports / "builds").glob("*/build.json")]
    matching = [manifest for manifest in manifests if manifest["build_id"] == wanted_build_id]
    if len(matching) != 1:
        raise AssertionError(f"{len(matching)} exported builds have build id {wanted_build_id}")
    return matching[0]


def read_duckdb_export(exports: Path) -> str:
    """Read every view of the exported DuckDB file; returns the build id after checking that every table of
    that build is there with all its rows."""
    with duckdb.connect(str(exports / "bi.duckdb"), read_only=True) as con:
        current = con.execute("select build_id from build_info").fetchone()[0]
        views = [row[0] for row in con.execute(
            "select view_name from duckdb_views() where not internal order by view_name").fetchall()]
        counts = {view: con.execute(f'select count(*) from "{view}"').fetchone()[0] for view in views}
    expected = manifest_of_build(exports, current)["tables"]
    if counts != expected:
        raise AssertionError(f"bi.duckdb of build {current}: {counts} instead of {expected}")
    return current


def read_parquet_export(exports: Path) -> str:
    """Read every Parquet file of the current export the way a reader should (resolving the link once);
    returns the build id after checking the files against their manifest."""
    folder = (exports / "current").resolve()
    manifest = json.loads((folder / "build.json").read_text())
    with duckdb.connect() as con:
        counts = {path.stem: con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()[0]
                  for path in sorted(folder.glob("*.parquet"))}
        current = con.execute("select build_id from read_parquet(?)",
                              [str(folder / "build_info.parquet")]).fetchone()[0]
    if counts != manifest["tables"] or current != manifest["build_id"]:
        raise AssertionError(f"{folder}: {counts} of build {current}, manifest {manifest}")
    return current


def read_exports_in_a_loop(exports: str, stop: Event, reads: Synchronized, report: str) -> None:
    """Reader process: read the whole export through the DuckDB file and through the Parquet files, again
    and again until told to stop; writes the build ids each way saw, in order, and every error to `report`
    (JSON)."""
    readers = {"duckdb": read_duckdb_export, "parquet": read_parquet_export}
    seen: dict[str, list[str]] = {name: [] for name in readers}
    errors: list[str] = []
    deadline = time.monotonic() + READER_MAX_SECONDS
    while not stop.is_set() and time.monotonic() < deadline and reads.value < READER_MAX_READS:
        for name, read in readers.items():
            # Whatever a BI tool would have hit goes into the report, so nothing is caught selectively.
            try:
                current = read(Path(exports))
            except Exception as error:
                errors.append(f"{name}: {type(error).__name__}: {error}")
                continue
            if not seen[name] or seen[name][-1] != current:
                seen[name].append(current)
        with reads.get_lock():
            reads.value += 1
    Path(report).write_text(json.dumps({"reads": reads.value, "builds_seen": seen, "errors": errors}))


def wait_for_reads(reads: Synchronized, at_least: int, reader: BaseProcess) -> None:
    deadline = time.monotonic() + READER_MAX_SECONDS
    while reads.value < at_least and reader.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)


# --- the scenario -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SecondBuild:
    exports: Path
    warehouse: Path
    first_build_id: str
    second_build_id: str
    reader_report: dict[str, object]


@pytest.fixture(scope="module")
def second_build(tmp_path_factory: pytest.TempPathFactory, mimic_fixture_warehouse: Path) -> SecondBuild:
    workdir = tmp_path_factory.mktemp("second_build")
    exports = workdir / "exports"
    publish(mimic_fixture_warehouse, exports)
    warehouse = workdir / "warehouse.duckdb"
    load_mimic(FIXTURE_MIMIC_DIR, warehouse)

    context = multiprocessing.get_context("spawn")
    stop, reads = context.Event(), context.Value("q", 0)
    report = workdir / "reader.json"
    reader = context.Process(target=read_exports_in_a_loop, args=(str(exports), stop, reads, str(report)))
    reader.start()
    try:
        wait_for_reads(reads, 1, reader)
        run_dbt(["build"], warehouse, workdir)
        publish(warehouse, exports)
        wait_for_reads(reads, reads.value + READS_AFTER_EXPORT, reader)
    finally:
        stop.set()
        reader.join(timeout=60)
        if reader.is_alive():
            reader.kill()
    return SecondBuild(exports, warehouse, build_id(mimic_fixture_warehouse), build_id(warehouse),
                       json.loads(report.read_text()))


# --- reproducible -------------------------------------------------------------------------------------------

@pytest.mark.dbt
def test_two_builds_of_the_same_input_hold_the_same_marts(second_build: SecondBuild,
                                                          mimic_fixture_warehouse: Path) -> None:
    first = table_hashes(mimic_fixture_warehouse, COMPARED_SCHEMAS)
    second = table_hashes(second_build.warehouse, COMPARED_SCHEMAS)
    assert {name.split(".")[0] for name in first} == set(COMPARED_SCHEMAS)
    assert {"marts.patient_features", "marts.patient_segments", "bi.segment_profiles"} <= set(first)
    assert first == second
    assert second_build.first_build_id != second_build.second_build_id


# --- concurrent ---------------------------------------------------------------------------------------------

@pytest.mark.dbt
def test_reader_sees_only_complete_builds_while_a_build_is_published(second_build: SecondBuild) -> None:
    report = second_build.reader_report
    assert report["errors"] == []
    both = [second_build.first_build_id, second_build.second_build_id]
    assert report["builds_seen"] == {"duckdb": both, "parquet": both}
    assert report["reads"] > READS_AFTER_EXPORT


# --- atomic -------------------------------------------------------------------------------------------------

@pytest.mark.dbt
def test_failed_build_leaves_the_last_good_marts_and_export(second_build: SecondBuild,
                                                            tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(second_build.warehouse, warehouse)
    before = table_hashes(warehouse, ("marts", "bi"))
    with duckdb.connect(str(warehouse)) as con:
        # A patient fewer would change every mart, had the build gone through; the missing ICU table makes it
        # fail after the models of the other raw tables are rebuilt.
        con.execute("delete from mimiciv_hosp.patients where subject_id = 10100003")
        con.execute("drop table mimiciv_icu.icustays")
    result = run_dbt(["build"], warehouse, tmp_path, check=False)
    assert result.returncode == 1
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    statuses = {item["unique_id"].split(".")[2]: item["status"] for item in results}
    assert statuses["column_checks_mimiciv_icu_icustays"] == "error"
    assert statuses["stg_mimic__patients"] == "success"
    assert statuses["patient_features"] == "skipped"
    assert table_hashes(warehouse, ("marts", "bi")) == before
    assert read_duckdb_export(second_build.exports) == second_build.second_build_id
    assert read_parquet_export(second_build.exports) == second_build.second_build_id


# --- exported text ------------------------------------------------------------------------------------------

def test_spreadsheet_formulas_are_escaped_in_the_exported_files(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    values = [*FORMULA_TEXTS, "WHITE", "HISPANIC/LATINO - PUERTO RICAN", None]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema bi")
        con.execute("create table bi.build_info as select 'b1' as build_id, 11 as min_cell_size")
        con.execute("create table bi.groups (group_value varchar, n_patients integer)")
        con.executemany("insert into bi.groups values (?, 20)", [[value] for value in values])
        record_complete_build(con, "b1", ["build_info", "groups"])
    exports = tmp_path / "exports"
    publish(warehouse, exports)
    expected = sorted((f"'{value}" if value and value[0] in "=+-@\t\r" else value) for value in values
                      if value is not None) + [None]
    with duckdb.connect() as con:
        from_parquet = con.execute("select group_value from read_parquet(?) order by group_value nulls last",
                                   [str(exports / "current" / "groups.parquet")]).fetchall()
    with duckdb.connect(str(exports / "bi.duckdb"), read_only=True) as con:
        from_duckdb = con.execute("select group_value from groups order by group_value nulls last").fetchall()
    assert [row[0] for row in from_parquet] == [row[0] for row in from_duckdb] == expected


# --- command lines ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("arguments", [
    [],
    ["--patients", str(MAX_PATIENTS + 1), "--seed", "1"],
    ["--patients", "100", "--seed", "-1"],
    ["--patients", "100", "--seed", str(2**63)],
    ["--patients", "100", "--seed", "1", "--csv-dir", "{file}"],
], ids=["no arguments", "too many patients", "negative seed", "seed too large", "csv-dir is a file"])
def test_generator_rejects_bad_arguments_with_one_line_and_status_2(
        arguments: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    db = tmp_path / "never.duckdb"
    db_argument = ["--db", str(db)] if arguments else []
    with pytest.raises(SystemExit) as stopped:
        generator_cli.main([*(argument.format(file=a_file) for argument in arguments), *db_argument])
    captured = capsys.readouterr()
    assert stopped.value.code == 2
    assert len(captured.err.splitlines()) == 1, captured.err
    assert captured.err.startswith("generator: error:")
    assert captured.out == ""
    assert not db.exists()
