"""One pipeline at a time per warehouse, and the guards around a build: the pipeline lock, a warehouse held
open by another process, `make` with paths holding spaces, the generator's --csv-dir, and the checks dbt runs
before any node (settings, small cells, empty raw tables) and after (what publish may export)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from conftest import (
    FIXTURE_MIMIC_DIR,
    REPO_ROOT,
    ParsedProject,
    load_mimic,
    run_cli,
    run_dbt,
    run_dbt_in_process,
)
from test_load import FIXTURE_ROWS, TABLES, assert_raw_tables_match, copy_fixture, source_path

from generator import cli as generator_cli

HOLD_SECONDS = 120


def lock_cli(warehouse: Path, *command: str) -> list[str]:
    return [sys.executable, "-m", "publish.lock", "--db", str(warehouse), "--", *command]


def one_error_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """The command failed with exactly one `error: ...` line on stderr (make's own closing line aside)."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert len(lines) == 1, result.stderr
    assert "error: " in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    warehouse = tmp_path / "warehouse.duckdb"
    load_mimic(FIXTURE_MIMIC_DIR, warehouse)
    return warehouse


def start_and_wait(command: list[str]) -> subprocess.Popen[str]:
    """Start `command` in a process group of its own; it prints 'ready' once it holds what it holds."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                               start_new_session=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def stop(process: subprocess.Popen[str]) -> None:
    """Kill the process and everything it started (the lock wrapper's command too)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture
def pipeline_holder(loaded: Path) -> Iterator[subprocess.Popen[str]]:
    """Another pipeline holding the warehouse's lock, as a `make run` would."""
    process = start_and_wait(lock_cli(loaded, sys.executable, "-c",
                                      f"print('ready', flush=True); import time; time.sleep({HOLD_SECONDS})"))
    yield process
    stop(process)


# --- the pipeline lock ------------------------------------------------------------------------------------

@pytest.mark.parametrize("step", ["make run", "load", "generate", "lock"])
def test_a_second_pipeline_stops_at_once_naming_the_holder(step: str, loaded: Path, tmp_path: Path,
                                                            pipeline_holder: subprocess.Popen[str]) -> None:
    damaged = copy_fixture(tmp_path / "other")
    (damaged / "icu" / "icustays.csv").write_text(
        source_path(FIXTURE_MIMIC_DIR, TABLES["mimiciv_icu.icustays"]).read_text().split("\n", 1)[0] + "\n")
    commands = {
        "load": [sys.executable, "-m", "mimic_loader", str(damaged), "--db", str(loaded), "--allow-shrink"],
        "generate": [sys.executable, "-m", "generator", "--patients", "50", "--seed", "1",
                     "--db", str(loaded)],
        "lock": lock_cli(loaded, "true"),
        "make run": ["make", "--no-print-directory", "run", f"WAREHOUSE={loaded}", f"MIMIC_DIR={damaged}",
                     f"EXPORTS={tmp_path / 'exports'}"],
    }
    started = time.monotonic()
    result = run_cli(commands[step], check=False)
    assert time.monotonic() - started < 30
    one_error_line(result, f"{loaded} is in use by another pipeline (pid {pipeline_holder.pid}",
                   "import time; time.sleep", "running since")
    assert_raw_tables_match(loaded, FIXTURE_MIMIC_DIR)


def test_steps_run_inside_the_pipeline_that_holds_the_lock(loaded: Path, tmp_path: Path) -> None:
    script = (f"import subprocess, sys; sys.exit(subprocess.call([sys.executable, '-m', 'mimic_loader', "
              f"{str(FIXTURE_MIMIC_DIR)!r}, '--db', {str(loaded)!r}]))")
    result = run_cli(lock_cli(loaded, sys.executable, "-c", script))
    assert "loaded" in result.stdout
    with duckdb.connect(str(loaded), read_only=True) as con:
        assert con.execute("select count(*) from pipeline_log.raw_loads").fetchone()[0] == 2


def test_a_lock_left_by_a_killed_pipeline_is_taken_over(loaded: Path) -> None:
    holder = start_and_wait([sys.executable, "-c", (
        "import time; from pathlib import Path; from publish.lock import warehouse_lock\n"
        f"with warehouse_lock(Path({str(loaded)!r}), 'make run (killed)'):\n"
        f"    print('ready', flush=True); time.sleep({HOLD_SECONDS})")])
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    result = run_cli(lock_cli(loaded, "true"))
    assert f"the previous holder of {loaded}.lock (pid {holder.pid}, `make run (killed)`" in result.stderr
    assert "ended without releasing it" in result.stderr
    # Released properly this time: the next run takes the lock without a word.
    assert run_cli(lock_cli(loaded, "true")).stderr == ""


@pytest.fixture
def warehouse_held_open(loaded: Path) -> Iterator[subprocess.Popen[str]]:
    """A process (a notebook, a DuckDB shell) holding the warehouse file open."""
    process = start_and_wait([sys.executable, "-c", (
        f"import duckdb, time; con = duckdb.connect({str(loaded)!r}); print('ready', flush=True); "
        f"time.sleep({HOLD_SECONDS})")])
    yield process
    stop(process)


@pytest.mark.parametrize("target", ["run", "build", "data", "publish"])
def test_make_says_in_one_line_that_another_process_holds_the_warehouse(
        target: str, loaded: Path, tmp_path: Path, warehouse_held_open: subprocess.Popen[str]) -> None:
    result = run_cli(["make", "--no-print-directory", target, f"WAREHOUSE={loaded}",
                      f"EXPORTS={tmp_path / 'ex'}", f"MIMIC_DIR={FIXTURE_MIMIC_DIR}"], check=False)
    one_error_line(result, f"{loaded} is open in another process (python", f"PID {warehouse_held_open.pid})")


# --- make with spaces in paths ------------------------------------------------------------------------------

def test_make_data_and_publish_work_with_spaces_in_paths(tmp_path: Path) -> None:
    folder = tmp_path / "my project files"
    mimic_dir = copy_fixture(folder / "mimic iv")
    warehouse = folder / "the warehouse.duckdb"
    exports = folder / "bi exports"
    settings = [f"WAREHOUSE={warehouse}", f"EXPORTS={exports}", f"MIMIC_DIR={mimic_dir}"]
    run_cli(["make", "--no-print-directory", "data", *settings])
    assert_raw_tables_match(warehouse, mimic_dir)
    refused = run_cli(["make", "--no-print-directory", "publish", *settings], check=False)
    one_error_line(refused, "has no build log")


# --- the generator's --csv-dir ------------------------------------------------------------------------------

@pytest.fixture
def used_csv_dir(tmp_path: Path) -> Path:
    """A folder holding an earlier export, with a plain .csv the loader would find beside the new .csv.gz."""
    folder = copy_fixture(tmp_path / "csv")
    return folder


def test_csv_dir_that_holds_files_is_refused(used_csv_dir: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(path.relative_to(used_csv_dir) for path in used_csv_dir.rglob("*"))
    db = tmp_path / "generated.duckdb"
    with pytest.raises(SystemExit) as stopped:
        generator_cli.main(["--patients", "50", "--seed", "1", "--db", str(db),
                            "--csv-dir", str(used_csv_dir)])
    captured = capsys.readouterr()
    assert stopped.value.code == 2
    assert captured.err.count("\n") == 1
    assert f"--csv-dir {used_csv_dir} is not empty (it holds hosp/admissions.csv" in captured.err
    assert "--overwrite-csv-dir" in captured.err
    assert not db.exists()
    assert sorted(path.relative_to(used_csv_dir) for path in used_csv_dir.rglob("*")) == before


def test_overwrite_csv_dir_leaves_a_folder_of_the_new_generation_only(used_csv_dir: Path,
                                                                      tmp_path: Path) -> None:
    db = tmp_path / "generated.duckdb"
    run_cli([sys.executable, "-m", "generator", "--patients", "50", "--seed", "1", "--db", str(db),
             "--csv-dir", str(used_csv_dir), "--overwrite-csv-dir"])
    loaded = tmp_path / "loaded.duckdb"
    load_mimic(used_csv_dir, loaded)
    with duckdb.connect(str(db), read_only=True) as generated, \
            duckdb.connect(str(loaded), read_only=True) as reloaded:
        for name in TABLES:
            assert generated.execute(f"select count(*) from {name}").fetchone() == \
                reloaded.execute(f"select count(*) from {name}").fetchone(), name


# --- checks dbt runs before any node ------------------------------------------------------------------------

BAD_VARS = {
    "min_cell_size below the floor": ("{min_cell_size: 6}",
                                      "dbt var min_cell_size: 6 is below the floor of 11 (docs/bi.md): "
                                      "counts from 6 to 10 would be published; set var "
                                      "unsafe_allow_min_cell_size_below_11: true only if"),
    "max_reject_share as SQL text": ("{max_reject_share: '0.05 or true'}",
                                     'dbt var max_reject_share: expected a number >= 0 and <= 1, got '
                                     '"0.05 or true"'),
    "anchor_age_max below anchor_age_min": ("{anchor_age_min: 18, anchor_age_max: 17}",
                                            "dbt var anchor_age_max: expected a whole number >= 18 and "
                                            "<= 150, got 17"),
    "negative ICU tolerance": ("{icu_stay_admission_tolerance_hours: -6}",
                               "dbt var icu_stay_admission_tolerance_hours: expected a number >= 0 and "
                               "<= 168, got -6"),
    "anchor_year_max below anchor_year_min": ("{anchor_year_min: 2100, anchor_year_max: 2099}",
                                              "dbt var anchor_year_max: expected a whole number >= 2100 and "
                                              "<= 9999, got 2099"),
    "release ending before it starts": ("{plausible_real_year_max: 2007}",
                                        "dbt var plausible_real_year_max: expected a whole number >= 2008 "
                                        "and <= 2100, got 2007"),
    "fractional year margin": ("{plausible_year_margin: 1.5}",
                               "dbt var plausible_year_margin: expected a whole number >= 0 and <= 100, "
                               "got 1.5"),
    "maximum length of stay as SQL text": ("{max_length_of_stay_days: '365 or true'}",
                                           'dbt var max_length_of_stay_days: expected a number >= 1, got '
                                           '"365 or true"'),
    "ICU los tolerance beyond a day": ("{icu_los_tolerance_hours: 48}",
                                       "dbt var icu_los_tolerance_hours: expected a number >= 0 and <= 24, "
                                       "got 48"),
    "override that is not a boolean": ("{min_cell_size: 6, unsafe_allow_min_cell_size_below_11: 'yes'}",
                                       "dbt var unsafe_allow_min_cell_size_below_11: expected true or false"),
}


@pytest.mark.dbt
def test_a_bad_setting_stops_a_dbt_process_before_any_node(mimic_fixture_warehouse: Path,
                                                           tmp_path: Path) -> None:
    cli_vars, message = BAD_VARS["min_cell_size below the floor"]
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(mimic_fixture_warehouse, warehouse)
    result = run_dbt(["build", "--select", "build_info", "--vars", cli_vars], warehouse, tmp_path / "dbt",
                     check=False)
    assert result.returncode == 2
    assert message in result.stdout, result.stdout[-3000:]
    assert "START" not in result.stdout


@pytest.fixture(scope="module")
def settings_warehouse(mimic_fixture_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy for the bad settings below: each stops its build before anything is written."""
    warehouse = tmp_path_factory.mktemp("settings") / "warehouse.duckdb"
    shutil.copy(mimic_fixture_warehouse, warehouse)
    return warehouse


@pytest.mark.dbt
@pytest.mark.parametrize(("cli_vars", "message"), BAD_VARS.values(), ids=BAD_VARS.keys())
def test_a_bad_setting_stops_the_build_before_any_node(cli_vars: str, message: str,
                                                       parsed_project: ParsedProject,
                                                       settings_warehouse: Path) -> None:
    """Each setting with the command above, run in-process over one parse of the project."""
    result = run_dbt_in_process(parsed_project, ["build", "--select", "build_info", "--vars", cli_vars],
                                settings_warehouse, check=False)
    assert not result.success
    assert message in str(result.exception)
    assert "NodeStart" not in result.event_names and "LogStartLine" not in result.event_names
    assert "ConcurrencyLine" in result.event_names, result.event_names


@pytest.mark.dbt
def test_the_small_cell_override_is_needed_and_recorded(mimic_fixture_warehouse: Path,
                                                        parsed_project: ParsedProject,
                                                        tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(mimic_fixture_warehouse, warehouse)
    run_dbt_in_process(parsed_project, ["build", "--select", "build_info", "--vars",
                                        "{min_cell_size: 6, unsafe_allow_min_cell_size_below_11: true}"],
                       warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select min_cell_size from bi.build_info").fetchone() == (6,)
        assert con.execute("select min_cell_size, small_cells_override from pipeline_log.dbt_invocations "
                           "order by started_at desc limit 1").fetchone() == (6, True)


@pytest.mark.dbt
def test_a_build_over_an_empty_raw_table_fails_at_once(mimic_fixture_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(mimic_fixture_warehouse, warehouse)
    header_only = copy_fixture(tmp_path / "mimic")
    path = source_path(header_only, TABLES["mimiciv_icu.icustays"])
    path.write_text(path.read_text().split("\n", 1)[0] + "\n")
    run_cli([sys.executable, "-m", "mimic_loader", str(header_only), "--db", str(warehouse),
             "--allow-shrink"])
    result = run_dbt(["build"], warehouse, tmp_path / "dbt", check=False)
    assert result.returncode == 2
    assert ("raw table mimiciv_icu.icustays is empty: nothing was built; load the data again (the loader "
            "refuses an empty table unless given --allow-shrink)") in result.stdout
    assert "START" not in result.stdout


# --- what a build leaves for publish ------------------------------------------------------------------------

@pytest.mark.dbt
def test_the_export_names_the_load_it_was_built_from(mimic_fixture_warehouse: Path, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    run_cli([sys.executable, "-m", "publish", "--db", str(mimic_fixture_warehouse), "--out", str(exports)])
    manifest = json.loads((exports / "current" / "build.json").read_text())
    assert manifest["dbt_build"]["invocation_id"] == manifest["build_id"]
    assert manifest["dbt_build"]["command"] == "build"
    assert manifest["raw_rows"] == FIXTURE_ROWS
    assert manifest["load"]["source"] == "mimic-iv files"
    assert manifest["load"]["folder"] == str(FIXTURE_MIMIC_DIR)
    assert {item["table"]: item["rows"] for item in manifest["load"]["files"]} == FIXTURE_ROWS
    assert all(len(item["sha256"]) == 64 for item in manifest["load"]["files"])


@pytest.mark.dbt
def test_the_export_of_synthetic_data_names_its_seed_and_size(synthetic_warehouse: Path,
                                                              tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    run_cli([sys.executable, "-m", "publish", "--db", str(synthetic_warehouse), "--out", str(exports)])
    load = json.loads((exports / "current" / "build.json").read_text())["load"]
    assert (load["source"], load["patients"], load["seed"]) == ("generator", 3000, 7)
    assert load["rows"]["mimiciv_hosp.patients"] == 3000


@pytest.mark.dbt
def test_data_loaded_after_the_build_is_not_exported_as_that_build(mimic_fixture_warehouse: Path,
                                                                   tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(mimic_fixture_warehouse, warehouse)
    load_mimic(FIXTURE_MIMIC_DIR, warehouse)
    result = run_cli([sys.executable, "-m", "publish", "--db", str(warehouse), "--out", str(tmp_path / "ex")],
                     check=False)
    one_error_line(result, "the raw tables changed during or after dbt build",
                   "run a complete `dbt build` on the data now loaded")


@pytest.mark.dbt
def test_make_build_with_a_selection_warns_and_publish_refuses(mimic_fixture_warehouse: Path,
                                                               tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(mimic_fixture_warehouse, warehouse)
    exports = tmp_path / "exports"
    settings = [f"WAREHOUSE={warehouse}", f"EXPORTS={exports}"]
    run_cli(["make", "--no-print-directory", "publish", *settings])
    dbt_dir = tmp_path / "dbt"
    flags = f"DBT_FLAGS=--select build_info --target-path {dbt_dir / 'target'} --log-path {dbt_dir / 'logs'}"
    # make build refreshes the export after the build; with a selection it cannot, and fails saying why.
    built = run_cli(["make", "--no-print-directory", "build", *settings, flags], check=False)
    one_error_line(built, "did not rebuild every mart of schema bi (a --select?)")
    assert "stale marts: bi.care_management_summary" in built.stderr
    assert "the export keeps its current build" in built.stderr
    refused = run_cli(["make", "--no-print-directory", "publish", *settings], check=False)
    one_error_line(refused, "stale marts: bi.care_management_summary, bi.clustering_candidates")


@pytest.mark.dbt
def test_a_build_killed_half_way_is_not_exported(mimic_fixture_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(mimic_fixture_warehouse, warehouse)
    dbt_dir = tmp_path / "dbt"
    logs = dbt_dir / "logs" / "dbt.log"
    build = subprocess.Popen(
        [str(Path(sys.executable).parent / "dbt"), "build", "--project-dir", str(REPO_ROOT), "--profiles-dir",
         str(REPO_ROOT), "--target-path", str(dbt_dir / "target"), "--log-path", str(dbt_dir / "logs")],
        env={**os.environ, "WAREHOUSE": str(warehouse)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    # Killed once models are being rebuilt: some tables are new, the others still from the earlier build.
    while time.monotonic() < deadline and build.poll() is None:
        if logs.exists() and "OK created sql table model" in logs.read_text(errors="replace"):
            break
        time.sleep(0.2)
    build.send_signal(signal.SIGKILL)
    build.wait()
    result = run_cli([sys.executable, "-m", "publish", "--db", str(warehouse), "--out", str(tmp_path / "ex")],
                     check=False)
    one_error_line(result, "never finished (killed, or still running): the marts may mix two builds")
